// SPDX-License-Identifier: Apache-2.0

package query_test

import (
	"fmt"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/query"
)

func ExampleParse() {
	f, err := query.Parse(`type:repo.* -actor:bob created:2026-01-01..2026-01-31 "llama"`, query.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range f.Terms {
		switch t.Field {
		case audit.FieldOccurred:
			fmt.Printf("occurred in [%s, %s)\n", t.From.Format("2006-01-02"), t.To.Format("2006-01-02"))
		default:
			fmt.Printf("field %d negate=%t value=%q phrase=%t\n", t.Field, t.Negate, t.Value, t.Phrase)
		}
	}
	// Output:
	// field 2 negate=false value="repo." phrase=false
	// field 4 negate=true value="bob" phrase=false
	// occurred in [2026-01-01, 2026-02-01)
	// field 0 negate=false value="llama" phrase=true
}

func ExampleParse_error() {
	_, err := query.Parse("actor:alice autor:bob", query.Options{})
	fmt.Println(err)
	// Output:
	// search: at position 12: unknown qualifier "autor" (known: type, category, actor, target, country, created, received); to search for text with a colon, put it in quotes
}

func ExampleFormat() {
	f, _ := query.Parse(`Type:repo.delete country:fr created:>=2026-03-02 ACTOR:"Alice Smith"`, query.Options{})
	fmt.Println(query.Format(f))
	// Output:
	// type:repo.delete country:FR created:>2026-03-01 actor:"Alice Smith"
}
