// SPDX-License-Identifier: Apache-2.0

// Package trail holds the licence material that ships inside the trail
// binary, so that `trail version --licenses` can print it wherever the
// binary goes: LICENSE (Apache-2.0), NOTICE and THIRD_PARTY_LICENSES.
//
// NOTICE and THIRD_PARTY_LICENSES are generated from go.mod and the Go
// module cache, and every Go file starts with an SPDX header; `go generate .`
// at the module root does both (run `go mod download` first). The tests in
// internal/legal fail when either is out of date.
package trail

import _ "embed"

//go:generate go run ./internal/tools/spdx
//go:generate go run ./internal/tools/notices

// License is the text of the Apache License 2.0, under which Trail is
// licensed.
//
//go:embed LICENSE
var License string

// Notice is Trail's NOTICE: its copyright, the DB-IP attribution and the
// list of every module it is built with and that module's licence.
//
//go:embed NOTICE
var Notice string

// ThirdPartyLicenses holds, verbatim, the licence, NOTICE and PATENTS files
// of the Go standard library and of every module Trail is built with.
//
//go:embed THIRD_PARTY_LICENSES
var ThirdPartyLicenses string
