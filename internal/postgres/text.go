// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/trailaudit/trail/internal/audit"
)

// Free text. Trail tokenizes, not PostgreSQL's text-search parser: the
// search text's words are its runs of letters, digits and marks, lower
// case (so acme/llama-finetune is the words acme, llama and finetune, as
// SQLite's unicode61 tokenizer splits it), and each is stored as the
// lexeme "<org num>:<word>" at its position. The one GIN index on
// events.tsv is thereby an index per org: a word of one org never costs a
// lookup in another's postings, and the planner's per-lexeme statistics
// are per org too. Queries are built the same way (tsQuery), cast straight
// to tsquery, so no value is ever parsed as tsquery syntax.

// Bounds of PostgreSQL's tsvector: positions go to 16383, a lexeme keeps
// at most 256 of them, and a lexeme is shorter than 2 KiB.
const (
	maxPos      = 16383
	maxPosCount = 255
	maxWord     = 512
)

// searchText lower-cases s and makes every run of characters other than
// letters, digits and marks a space.
func searchText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) {
			return unicode.ToLower(r)
		}
		return ' '
	}, s)
}

// tsVectorValue returns the tsvector of an event's search text in org
// num, for binary COPY.
func tsVectorValue(num int64, text string) pgtype.TSVector {
	prefix := strconv.FormatInt(num, 10) + ":"
	index := map[string]int{}
	var lex []pgtype.TSVectorLexeme
	for i, w := range strings.Fields(searchText(text)) {
		if len(w) > maxWord {
			continue
		}
		j, ok := index[w]
		if !ok {
			j = len(lex)
			index[w] = j
			lex = append(lex, pgtype.TSVectorLexeme{Word: prefix + w})
		}
		if len(lex[j].Positions) < maxPosCount {
			lex[j].Positions = append(lex[j].Positions, pgtype.TSVectorPosition{Position: uint16(min(i+1, maxPos))})
		}
	}
	// PostgreSQL's binary input wants lexemes sorted, byte-wise.
	slices.SortFunc(lex, func(a, b pgtype.TSVectorLexeme) int { return strings.Compare(a.Word, b.Word) })
	return pgtype.TSVector{Lexemes: lex, Valid: true}
}

// tsQuery is the tsquery text of a text term in org num: its words in
// order, each adjacent to the next (<->); a bare word's last word matches
// as a prefix (:*), as in the SQLite engine. "" means the value has no
// word (and so matches no event).
func tsQuery(num int64, t audit.Term) string {
	prefix := strconv.FormatInt(num, 10) + ":"
	words := strings.Fields(searchText(t.Value))
	if len(words) == 0 {
		return ""
	}
	for i, w := range words {
		if len(w) > maxWord {
			return "" // never indexed (tsVectorValue), so never matched
		}
		words[i] = "'" + prefix + w + "'"
	}
	if !t.Phrase {
		words[len(words)-1] += ":*"
	}
	return strings.Join(words, " <-> ")
}

// positiveText is the tsquery of the positive text terms of a filter,
// ANDed, or "" when there is none (or one has no word).
func positiveText(num int64, terms []audit.Term) string {
	var pos []string
	for _, t := range terms {
		if t.Field != audit.FieldText || t.Negate {
			continue
		}
		tq := tsQuery(num, t)
		if tq == "" {
			return ""
		}
		pos = append(pos, "("+tq+")")
	}
	return strings.Join(pos, " & ")
}
