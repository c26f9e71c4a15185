// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package main

import (
	"context"
	"errors"
	"io"
)

const profiledServeArg = "-profiled-serve"

var errNoServeProfile = errors.New("profiling the server child needs a Unix system")

func profiledServe(context.Context, string, []string, io.Writer, io.Writer) error {
	return errNoServeProfile
}

func stopServeProfile(int) error { return errNoServeProfile }
