// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBackupWhileServing backs up each embedded engine while trail serve
// ingests, then checks the copy with trail check and serves it: every
// event acknowledged before the backup started is there, dense.
func TestBackupWhileServing(t *testing.T) {
	bin := trailBinary(t)
	for _, e := range crashEngines {
		t.Run(e.name, func(t *testing.T) {
			data := t.TempDir()
			store := []string{"--store", e.store}
			key := strings.TrimSpace(strings.SplitN(runCLI(t, bin, append([]string{"keys", "create", "--scope", "admin", "--data", data}, store...)...), "\n", 2)[0])
			s := startServer(t, bin, data, store...)
			c := &http.Client{Timeout: 10 * time.Second}
			before := map[string]int64{}
			for i := 0; i < 10; i++ {
				acks, ok := ingest(c, s.Base, key, newCrashBatch(fmt.Sprintf("pre-%d", i), 20))
				if !ok {
					t.Fatal("ingest before the backup failed")
				}
				mergeAcks(t, before, acks)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { // ingest goes on during the backup
				for n := 0; ctx.Err() == nil; n++ {
					ingest(c, s.Base, key, newCrashBatch(fmt.Sprintf("during-%d", n), 25))
				}
			})
			dest := filepath.Join(t.TempDir(), "copy")
			runCLI(t, bin, append([]string{"backup", "--data", data}, append(store, dest)...)...)
			cancel()
			wg.Wait()
			s.Stop()
			if out := runCLI(t, bin, append([]string{"check", "--data", dest}, store...)...); !strings.Contains(out, "ok       acme:") {
				t.Errorf("trail check of the copy:\n%s", out)
			}
			copied := startServer(t, bin, dest, store...)
			defer copied.Stop()
			got := map[string]int64{}
			for id, seq := range before {
				got[id] = seq
			}
			checkLog(t, copied.Base, key, got) // dense, unique, and every pre-backup ack there
		})
	}
}
