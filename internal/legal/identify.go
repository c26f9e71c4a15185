// SPDX-License-Identifier: Apache-2.0

package legal

import (
	"slices"
	"strings"
)

// Accepted lists the licences Trail's dependencies may carry, by SPDX
// identifier: permissive licences compatible with shipping Trail under
// Apache-2.0. A dependency under anything else stops the notices generator,
// so that a person decides (CONTRIBUTING.md, "Dependencies").
var Accepted = []string{"Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "MIT"}

// licenceMarks identifies a licence by phrases its text must hold, after
// lowercasing and collapsing white space. Where one licence's text holds
// another's phrases (LGPL names the GPL, BSD-3-Clause holds BSD-2-Clause's
// clauses), the larger comes first and hides the other.
var licenceMarks = []struct {
	id       string
	hiddenBy string // not reported when this licence was found before
	phrases  []string
}{
	{"Apache-2.0", "", []string{"apache license", "version 2.0", "terms and conditions for use, reproduction, and distribution"}},
	{"MPL-2.0", "", []string{"mozilla public license", "version 2.0", "covered software"}},
	// The GNU licences by their titles ("… LICENSE Version 3, 29 June
	// 2007"), not by a mention such as MPL-2.0's list of secondary licences.
	{"AGPL", "", []string{"gnu affero general public license version"}},
	{"LGPL", "", []string{"gnu lesser general public license version"}},
	{"GPL", "LGPL", []string{"gnu general public license version"}},
	{"ISC", "", []string{"permission to use, copy, modify, and", "distribute this software for any purpose with or without fee is hereby granted"}},
	{"MIT", "", []string{"permission is hereby granted, free of charge, to any person obtaining a copy", "the above copyright notice and this permission notice shall be included"}},
	{"BSD-3-Clause", "", []string{"redistribution and use in source and binary forms", "may be used to endorse or promote products derived from this software"}},
	{"BSD-2-Clause", "BSD-3-Clause", []string{"redistribution and use in source and binary forms", "redistributions in binary form must reproduce the above copyright notice"}},
}

// Identify returns the SPDX identifiers of the licences whose texts are in
// text, in a fixed order; nil when it holds none Trail recognises. A file
// may hold several (klauspost/compress's LICENSE holds four). It recognises
// a few licences Trail does not accept (MPL-2.0, the GNU licences) so that the
// generator can say which one it found.
func Identify(text string) []string {
	norm := strings.ToLower(strings.Join(strings.Fields(text), " "))
	var ids []string
	for _, m := range licenceMarks {
		if containsAll(norm, m.phrases) && !slices.Contains(ids, m.hiddenBy) {
			ids = append(ids, m.id)
		}
	}
	return ids
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
