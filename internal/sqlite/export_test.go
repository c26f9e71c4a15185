// SPDX-License-Identifier: Apache-2.0

package sqlite

// SetTreeOff turns the Merkle tree off (true) or on, for benchmarks that
// measure its cost. Call it before opening stores.
func SetTreeOff(off bool) { treeOff = off }
