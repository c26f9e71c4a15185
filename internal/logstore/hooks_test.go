// SPDX-License-Identifier: Apache-2.0

package logstore

// BenchHeaders sets, for benchmarks in package logstore_test, how many
// block headers the cache holds (0: leave it) and whether searches test
// a block's summary only after reading its header (the walk before
// summaries were kept in memory), and drops every cached header.
func (s *Store) BenchHeaders(max int, skipSums bool) {
	if max > 0 {
		maxHeaders = max
	}
	skipSummaries = skipSums
	s.blocks.dropHeaders()
}

// BenchCheckDocs sets whether Append compares each doc it makes with the
// one read back from the event's bytes (on in tests; the write-path
// benchmarks turn it off: it is not the ingest's cost).
func BenchCheckDocs(on bool) { checkDocs = on }
