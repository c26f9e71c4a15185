// SPDX-License-Identifier: Apache-2.0

package main

import "github.com/trailaudit/trail/internal/stream"

// The cef and ocsf stream formats name Trail's version as the product's.
func init() { stream.ProductVersion = readBuildVersion().Version }
