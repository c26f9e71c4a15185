// SPDX-License-Identifier: Apache-2.0

package geo

import (
	"fmt"

	"github.com/oschwald/maxminddb-golang/v2"
)

// OpenBytes opens a database held in memory, such as one embedded in the
// binary; name labels it in Description and errors. attrText and attrURL
// are the credit its pages must show (see DB.Attribution), "" if none. b
// must not change while the DB is in use.
func OpenBytes(name string, b []byte, attrText, attrURL string) (*DB, error) {
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("geo: open %s: %w", name, err)
	}
	if err := checkLocations(r); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("geo: %s: %w", name, err)
	}
	f := &file{r: r, v4only: r.Metadata.IPVersion == 4}
	return &DB{files: []*file{f}, attrText: attrText, attrURL: attrURL, desc: describe(name, r.Metadata)}, nil
}
