// SPDX-License-Identifier: Apache-2.0

//go:build race

package logstore

// raceOn: the race detector is on (sync.Pool drops items at random and
// allocations differ): allocation counts are not asserted.
const raceOn = true
