// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"testing"

	"github.com/trailaudit/trail/internal/stream"
)

func TestCEFRenders(t *testing.T) {
	f, _ := stream.LookupFormat("cef")
	for _, s := range append(everyType(t), hardOnes(t)...) {
		out, err := f(nil, s.ev)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s", out)
	}
}
