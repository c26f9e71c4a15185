// SPDX-License-Identifier: Apache-2.0

package client

import (
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "1": time.Second, "120": 2 * time.Minute, "-1": 0, "soon": 0,
		"Sun, 06 Dec 2026 12:00:30 GMT": 30 * time.Second,
		"Sun, 06 Dec 2026 11:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
