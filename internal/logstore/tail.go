// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"sync"
	"sync/atomic"

	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/sqlite"
)

// orgLog is one org's log in memory: its sealed blocks, its unsealed tail,
// its tree edge and upper tiles, its daily counts. mu guards every field;
// readers copy the slice headers under it and read without it, which is
// safe because slices are only appended to, and sealing replaces the tail
// with a new slice rather than changing the old one.
type orgLog struct {
	name string
	mu   sync.RWMutex

	num    int64 // catalog number; 0 until the org's first seal
	size   int64 // next seq: every event below it is acknowledged
	sealed int64 // events [pruned, sealed) are in blocks
	pruned int64 // P: events [0, P) were pruned (prune.go)
	blocks []*blockRef
	tail   []*tailEvent // seq sealed+i
	tailID map[string]int64
	ids    idIndex // ids of sealed events (ids.go)
	tree   treeState
	// sealedEdge is the tree's edge at size sealed (stored with each
	// seal); only the sealer and Open change it.
	sealedEdge *ledger.Edge
	daily      map[dayCat]int64
	bytes      int64 // bytes of the tail
	// broken is set at Open when a damaged block keeps the tree's edge
	// from being rebuilt: the org takes no appends.
	broken error
}

type dayCat struct {
	day      int64
	category string
}

// tailEvent is an acknowledged event not sealed yet.
type tailEvent struct {
	id   string
	data []byte
	hash [32]byte // producer content hash, for retries
	bits hashBits // how data gives hash back, when the ingest said (ids.go)
	leaf ledger.Hash
	doc  atomic.Pointer[doc] // parsed on first need
}

func newOrgLog(name string) *orgLog {
	return &orgLog{name: name, tailID: map[string]int64{}, daily: map[dayCat]int64{}}
}

// getDoc returns the event's doc, parsing it once.
func (e *tailEvent) getDoc() (*doc, error) {
	if d := e.doc.Load(); d != nil {
		return d, nil
	}
	d, err := scanDoc(e.data)
	if err != nil {
		return nil, err
	}
	e.doc.Store(d)
	return d, nil
}

// view is a consistent snapshot of an org's log for one read.
type view struct {
	o      *orgLog
	num    int64 // the org's catalog number (0: none yet)
	size   int64
	sealed int64
	pruned int64
	blocks []*blockRef
	tail   []*tailEvent
	tree   treeState
	pin    uint64 // the epoch pinned by Store.view (reclaim.go)
}

// view is the org's view, not pinned: a read of blocks that another
// goroutine may prune or rewrite meanwhile takes it with Store.view.
func (o *orgLog) view() view {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return view{o: o, num: o.num, size: o.size, sealed: o.sealed, pruned: o.pruned, blocks: o.blocks, tail: o.tail, tree: o.tree.snapshot()}
}

const microsPerDay = 86400 * 1000000

var dayOf = sqlite.DayOf
