// SPDX-License-Identifier: Apache-2.0

package api

// Routes lists every route of the API as "METHOD pattern", from the one
// route table, for tests that must cover them all (the authorization
// matrix).
func Routes() []string {
	var out []string
	for _, rt := range (&API{}).routes() {
		out = append(out, rt.method+" "+rt.pattern)
	}
	return out
}
