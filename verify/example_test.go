// SPDX-License-Identifier: Apache-2.0

package verify_test

import (
	"bytes"
	"fmt"
	"os"

	"github.com/trailaudit/trail/verify"
)

// An auditor checks an export against the verifier key they were given
// (out of band, e.g. from `trail keys verifier`), then sees that one
// changed byte names the event.
func Example() {
	data, err := os.ReadFile("testdata/example.json")
	if err != nil {
		panic(err)
	}
	key := "trail.example+6c2a8a23+Af3yMPY7OFwJ+vOUeI+U5aoWGzA3BXcWM0AV79irsmCX"

	x, err := verify.ParseExport(data)
	if err != nil {
		panic(err)
	}
	res, err := verify.Verify(x, verify.Options{Keys: []string{key}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %d of %d events, complete: %v, signed by %s\n", res.Origin, res.Events, res.Size, res.Complete, res.KeyName)

	tampered := bytes.Replace(data, []byte("bob created"), []byte("eve created"), 1)
	x, _ = verify.ParseExport(tampered)
	_, err = verify.Verify(x, verify.Options{Keys: []string{key}})
	fmt.Println(err)
	fmt.Println("data does not match:", verify.IsMismatch(err))
	// Output:
	// trail.example/orgs/acme: 3 of 3 events, complete: true, signed by trail.example
	// does not verify: event seq 1 (id "ev-bob"): its bytes do not hash to the leaf hash the log holds for this seq: the event was altered
	// data does not match: true
}
