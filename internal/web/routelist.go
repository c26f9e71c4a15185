// SPDX-License-Identifier: Apache-2.0

package web

// Routes lists every web route as "METHOD pattern", from the one route
// table, for tests that must cover them all (the authorization matrix).
func Routes() []string {
	var out []string
	for _, rt := range (&Handler{}).routes() {
		out = append(out, rt.pattern)
	}
	return out
}
