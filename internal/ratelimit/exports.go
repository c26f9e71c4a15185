// SPDX-License-Identifier: Apache-2.0

package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// ErrStopping is StartExport's error once StopExports was called.
var ErrStopping = errors.New("ratelimit: the server is shutting down")

// exportRetry is the Retry-After of an export refused for the bound: a
// guess at when one of the org's running exports ends.
const exportRetry = 5 * time.Second

// exports bounds the exports running at once per org, and ends them all
// at shutdown.
type exports struct {
	max     int
	mu      sync.Mutex
	running map[string]int
	stop    context.Context
	cancel  context.CancelFunc
}

func newExports(max int) *exports {
	ctx, cancel := context.WithCancel(context.Background())
	return &exports{max: max, running: map[string]int{}, stop: ctx, cancel: cancel}
}

// StartExport takes one of org's export slots for the request r. It
// returns r with a context that also ends when StopExports is called (so
// that the export stops, cut, never complete-looking), and the function
// that gives the slot back, which must be called once the export ended.
// Errors: a *Refusal when org already runs ExportsPerOrg exports,
// ErrStopping after StopExports. A nil Guard bounds nothing, and stops
// nothing.
func (g *Guard) StartExport(r *http.Request, org string) (*http.Request, func(), error) {
	if g == nil {
		return r, func() {}, nil
	}
	x := g.exports
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.stop.Err() != nil {
		return r, nil, ErrStopping
	}
	if x.max > 0 && x.running[org] >= x.max {
		return r, nil, g.refuse(LimitExports, exportRetry)
	}
	x.running[org]++
	ctx, cancel := context.WithCancel(r.Context())
	stopWatch := context.AfterFunc(x.stop, cancel)
	var once sync.Once
	release := func() {
		once.Do(func() {
			stopWatch()
			cancel()
			x.mu.Lock()
			defer x.mu.Unlock()
			if x.running[org]--; x.running[org] == 0 {
				delete(x.running, org)
			}
		})
	}
	return r.WithContext(ctx), release, nil
}

// StopExports ends every running export and refuses new ones, for a
// graceful shutdown: an ingest in flight may finish, an export of
// unbounded length may not hold the server.
func (g *Guard) StopExports() {
	if g != nil {
		g.exports.cancel()
	}
}
