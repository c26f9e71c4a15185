// SPDX-License-Identifier: Apache-2.0

package api

// RouteInfo is one route of the table, for the tests of package api_test.
type RouteInfo struct {
	Method, Pattern string
	Public          bool // no key needed
	Scope           string
}

// RouteTable returns every route the API registers, from the one table.
func RouteTable() []RouteInfo {
	var out []RouteInfo
	for _, rt := range (&API{}).routes() {
		out = append(out, RouteInfo{Method: rt.method, Pattern: rt.pattern, Public: rt.scope == "", Scope: string(rt.scope)})
	}
	return out
}

// OpenAPIYAML is the embedded OpenAPI document.
var OpenAPIYAML = openapiYAML
