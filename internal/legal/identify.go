// SPDX-License-Identifier: Apache-2.0

package legal

import "strings"

// Accepted lists the licences Trail's dependencies may carry, by SPDX
// identifier: permissive licences compatible with shipping Trail under
// Apache-2.0. A dependency under anything else stops the notices generator,
// so that a person decides (CONTRIBUTING.md, "Dependencies").
var Accepted = []string{"Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "MIT"}

// licenceMarks identifies a licence by phrases its text must hold, after
// lowercasing and collapsing white space. Order matters: the first whose
// phrases all occur wins: LGPL (which names the GPL) before GPL, BSD-3-Clause
// before BSD-2-Clause.
var licenceMarks = []struct {
	id      string
	phrases []string
}{
	{"Apache-2.0", []string{"apache license", "version 2.0", "terms and conditions for use, reproduction, and distribution"}},
	{"MPL-2.0", []string{"mozilla public license version 2.0"}},
	{"LGPL", []string{"gnu lesser general public license"}},
	{"GPL", []string{"gnu general public license"}},
	{"ISC", []string{"permission to use, copy, modify, and", "distribute this software for any purpose with or without fee is hereby granted"}},
	{"MIT", []string{"permission is hereby granted, free of charge, to any person obtaining a copy", "the above copyright notice and this permission notice shall be included"}},
	{"BSD-3-Clause", []string{"redistribution and use in source and binary forms", "may be used to endorse or promote products derived from this software"}},
	{"BSD-2-Clause", []string{"redistribution and use in source and binary forms", "redistributions in binary form must reproduce the above copyright notice"}},
}

// Identify returns the SPDX identifier of the licence whose text this is,
// or "" when it is none Trail recognises. It recognises a few licences
// Trail does not accept (MPL-2.0, GPL, LGPL) so that the generator can say
// which one it found.
func Identify(text string) string {
	norm := strings.ToLower(strings.Join(strings.Fields(text), " "))
	for _, m := range licenceMarks {
		if containsAll(norm, m.phrases) {
			return m.id
		}
	}
	return ""
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
