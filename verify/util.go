// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Hash is a SHA-256 hash of the Merkle tree (RFC 6962).
type Hash = tlog.Hash

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
