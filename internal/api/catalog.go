// SPDX-License-Identifier: Apache-2.0

package api

import (
	"net/http"

	"github.com/trailaudit/trail/internal/catalog"
)

// encodeCatalog encodes the catalog once; it never changes. The shape
// is the catalog package's, which --catalog files share.
func encodeCatalog(c *catalog.Catalog) []byte { return c.JSON() }

// catalogHandler serves GET /api/v1/catalog: every event type by
// category, with its template and field rules. No key is needed.
func (a *API) catalogHandler(w http.ResponseWriter, r *http.Request, _ caller) error {
	if err := checkParams(r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(a.catalog)
	return nil
}
