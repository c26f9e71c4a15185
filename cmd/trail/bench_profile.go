// SPDX-License-Identifier: Apache-2.0

//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// profiledServeArg makes `trail bench` run `trail serve` with a CPU
// profile: `trail bench -profiled-serve FILE [serve flags]`. It is how
// `trail bench --cpuprofile` starts its server child; not for people.
const profiledServeArg = "-profiled-serve"

// profiledServe runs serve with a CPU profile written to path when the
// server stops or, so that a server killed later still leaves one, at
// SIGUSR1; then its log says "cpu profile written".
func profiledServe(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	stop, err := startCPUProfile(path)
	if err != nil {
		return err
	}
	var once sync.Once
	finish := func() {
		once.Do(func() {
			stop()
			newLogger(stderr).Info("cpu profile written", "path", path)
		})
	}
	defer finish()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-usr1:
			finish()
		case <-done:
		}
	}()
	return runServe(ctx, args, stdout, stderr)
}

// stopServeProfile asks a server child started by profiledServe to write
// its profile now; the child says so in its log.
func stopServeProfile(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		return fmt.Errorf("asking the server for its profile: %w", err)
	}
	return nil
}
