// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/trailaudit/trail/internal/ledger"
)

// Erasure of a person (issue 11): every event of an org where the user
// appears — as the actor, as a target of type user, or by any name seen
// for that id in the description, metadata values and the names of
// non-user targets (whole occurrences only) — is rewritten with
// each value identifying the person replaced by "[erased]" and a
// "redacted" object holding the leaf hash of the original bytes, so the
// tree is unchanged and exports still verify. The erasure is recorded as
// an org.audit_log.erasure event naming no one, and its record keeps no
// trace of the person either: only its id, reason, state and count.

// Erased is what identifying values become.
const Erased = "[erased]"

// Erasure states.
const (
	ErasureRunning = "running"
	ErasureDone    = "done"
	ErasureFailed  = "failed"
)

// Bounds of an erasure request.
const (
	MaxErasureUser   = 256
	MaxErasureReason = 500
)

// ErasureRecord is an erasure as stored. It never holds the person.
type ErasureRecord struct {
	ID, Org, Reason, State string
	Events                 int64 // events rewritten (when done)
	Error                  string
	CreatedAt, DoneAt      time.Time
}

// Redaction is one event's new bytes (and the event they encode).
type Redaction struct {
	Seq   int64
	Data  []byte
	Event *Event
}

// Eraser is implemented by the engines that can erase (the log engine
// and PostgreSQL).
type Eraser interface {
	// Redact replaces the stored bytes of org's events at the given seqs
	// (all below the size) with new ones, durably; the tree and every
	// other event are unchanged. Afterwards the engine's files (log
	// engine) or live rows (PostgreSQL) hold no copy of the old bytes.
	Redact(ctx context.Context, org string, rs []Redaction) error
	// ForgetViewer deletes the viewer links and sessions of userID in org.
	ForgetViewer(ctx context.Context, org, userID string) error
	// SaveErasure stores (inserts or replaces) an erasure record.
	SaveErasure(ctx context.Context, e ErasureRecord) error
	// Erasure returns org's erasure record id, or ErrNotFound.
	Erasure(ctx context.Context, org, id string) (ErasureRecord, error)
}

// ErrCannotErase is the error of an erasure the store cannot do.
var ErrCannotErase = &Error{Code: CodeInvalid, Message: "erasure: this store (the SQLite engine) cannot rewrite events; convert the data directory to the log engine with `trail migrate-store --from sqlite:DIR --to log:DIR` and serve with --store log:DIR"}

// StartErasure validates the request, records it as running and erases
// userID from org's events in the background; Erasure reports progress.
// Events appended after it starts are not erased (erasure is of the
// past). wait, if set, makes it run to its end before returning.
func (s *Service) StartErasure(ctx context.Context, org, userID, reason string, actor Actor, wait bool) (ErasureRecord, error) {
	er, ok := s.store.(Eraser)
	switch {
	case userID == "" || len(userID) > MaxErasureUser || !utf8.ValidString(userID):
		return ErasureRecord{}, Errorf(CodeInvalid, "user_id: required, the id of the person to erase (1 to %d bytes of UTF-8)", MaxErasureUser)
	case strings.TrimSpace(reason) == "" || utf8.RuneCountInString(reason) > MaxErasureReason || !utf8.ValidString(reason):
		return ErasureRecord{}, Errorf(CodeInvalid, "reason: required, why the person is erased (1 to %d characters; it is recorded in the log, so do not name the person)", MaxErasureReason)
	case !ok:
		return ErasureRecord{}, ErrCannotErase
	}
	var b [12]byte
	rand.Read(b[:])
	rec := ErasureRecord{ID: "er_" + base64.RawURLEncoding.EncodeToString(b[:]), Org: org, Reason: reason,
		State: ErasureRunning, CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	size, err := s.store.Size(ctx, org)
	if err != nil {
		return rec, err
	}
	if err := er.SaveErasure(ctx, rec); err != nil {
		return rec, err
	}
	run := func(ctx context.Context) ErasureRecord {
		n, err := s.erase(ctx, er, org, userID, size, rec)
		rec.DoneAt = s.now().UTC().Truncate(time.Microsecond)
		rec.Events, rec.State = n, ErasureDone
		if err == nil {
			meta := map[string]any{"erasure": rec.ID, "reason": reason, "events": json.Number(strconv.FormatInt(n, 10))}
			_, err = s.Record(ctx, org, "org.audit_log.erasure", actor, meta)
		}
		if err != nil {
			rec.State, rec.Error = ErasureFailed, ErrorMessage(err)
			s.log.Error("erasure failed", "org", org, "erasure", rec.ID, "err", err)
		}
		if err := er.SaveErasure(context.WithoutCancel(ctx), rec); err != nil {
			s.log.Error("saving the erasure's state", "org", org, "erasure", rec.ID, "err", err)
		}
		return rec
	}
	if wait {
		return run(ctx), nil
	}
	go run(context.WithoutCancel(ctx))
	return rec, nil
}

// Erasure returns org's erasure id.
func (s *Service) Erasure(ctx context.Context, org, id string) (ErasureRecord, error) {
	er, ok := s.store.(Eraser)
	if !ok {
		return ErasureRecord{}, ErrNotFound
	}
	return er.Erasure(ctx, org, id)
}

// erasureChunk is how many rewritten events one Redact call takes.
const erasureChunk = 512

// erase rewrites the events [P, size) of org that name the person and
// returns how many it rewrote.
func (s *Service) erase(ctx context.Context, er Eraser, org, user string, size int64, rec ErasureRecord) (int64, error) {
	from, err := s.PrunedBefore(ctx, org)
	if err != nil {
		return 0, err
	}
	m := &personMatcher{id: user, names: map[string]bool{}}
	// First pass: the names seen for the id.
	if err := s.store.Scan(ctx, org, from, size, Filter{}, func(_ int64, data []byte) error {
		m.learn(data)
		return nil
	}); err != nil {
		return 0, err
	}
	at := rec.CreatedAt.Format(TimeFormat)
	var batch []Redaction
	var n int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := er.Redact(ctx, org, batch); err != nil {
			return err
		}
		n += int64(len(batch))
		batch = batch[:0]
		return nil
	}
	// Second pass: rewrite. Scan hands out bytes valid during the call:
	// the rewrite copies what it keeps.
	err = s.store.Scan(ctx, org, from, size, Filter{}, func(seq int64, data []byte) error {
		if !m.appears(data) {
			return nil
		}
		r, err := redactEvent(data, m, at, rec.ID)
		if err != nil {
			return fmt.Errorf("erasure: event seq %d: %w", seq, err)
		}
		if r == nil {
			return nil
		}
		r.Seq = seq
		batch = append(batch, *r)
		if len(batch) >= erasureChunk {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = er.ForgetViewer(ctx, org, user)
	}
	return n, err
}

// personMatcher finds the person in events: by id as the actor or a user
// target, and by id or any name seen for it in every string.
type personMatcher struct {
	id    string
	names map[string]bool
}

// learn notes the names the event gives the person.
func (m *personMatcher) learn(data []byte) {
	if !bytes.Contains(data, []byte(jsonQuoted(m.id))) {
		return
	}
	var ev struct {
		Actor   Actor    `json:"actor"`
		Targets []Target `json:"targets"`
	}
	if json.Unmarshal(data, &ev) != nil {
		return
	}
	if ev.Actor.ID == m.id && ev.Actor.Name != "" && ev.Actor.Name != Erased {
		m.names[ev.Actor.Name] = true
	}
	for _, t := range ev.Targets {
		if t.Type == "user" && t.ID == m.id && t.Name != "" && t.Name != Erased {
			m.names[t.Name] = true
		}
	}
}

// appears is a fast test on the bytes: the id or a name occurs somewhere.
func (m *personMatcher) appears(data []byte) bool {
	if bytes.Contains(data, []byte(jsonEscaped(m.id))) {
		return true
	}
	for n := range m.names {
		if bytes.Contains(data, []byte(jsonEscaped(n))) {
			return true
		}
	}
	return false
}

// scrub replaces every whole occurrence of the id and the names in s:
// an occurrence inside a longer word or id ("u_1" in "u_10", "Al" in
// "Alice") is not the person.
func (m *personMatcher) scrub(s string) string {
	words := append([]string{m.id}, keys(m.names)...)
	// Longest first, so that a name containing another goes whole.
	slices.SortFunc(words, func(a, b string) int { return len(b) - len(a) })
	for _, w := range words {
		if w != "" {
			s = replaceWhole(s, w, Erased)
		}
	}
	return s
}

// replaceWhole replaces the occurrences of w in s that no letter, digit,
// '_' or '-' touches on either side.
func replaceWhole(s, w, by string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, w)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(w)
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if i > 0 && wordRune(before) || end < len(s) && wordRune(after) {
			b.WriteString(s[:end])
		} else {
			b.WriteString(s[:i])
			b.WriteString(by)
		}
		s = s[end:]
	}
}

func wordRune(r rune) bool {
	return r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func jsonQuoted(s string) string { b, _ := json.Marshal(s); return string(b) }

// jsonEscaped is s as it appears inside a JSON string.
func jsonEscaped(s string) string { q := jsonQuoted(s); return q[1 : len(q)-1] }

// canonicalEvent is the canonical encoding, decoded (erasure): CSV's
// decoding, with the org and a redacted object.
type canonicalEvent struct {
	storedEvent
	Org      string `json:"org"`
	Redacted *struct {
		LeafHash string `json:"leaf_hash"`
	} `json:"redacted"`
}

// redactEvent rewrites one event's bytes, or returns nil when nothing in
// it is about the person.
func redactEvent(data []byte, m *personMatcher, at, erasure string) (*Redaction, error) {
	var se canonicalEvent
	if err := json.Unmarshal(data, &se); err != nil {
		return nil, err
	}
	leaf, _ := ledger.EventLeaf(data)
	var meta map[string]any
	dec := json.NewDecoder(bytes.NewReader(se.Metadata))
	dec.UseNumber()
	if err := dec.Decode(&meta); err != nil {
		return nil, err
	}
	occ, err1 := time.Parse(time.RFC3339Nano, se.OccurredAt)
	rec, err2 := time.Parse(time.RFC3339Nano, se.ReceivedAt)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	ev := Event{ID: se.ID, Org: se.Org, Seq: se.Seq, Type: se.Type, Category: se.Category, Actor: se.Actor,
		Targets: se.Targets, Description: se.Description, Client: se.Client, Location: se.Location,
		OccurredAt: occ, ReceivedAt: rec, Metadata: meta, RecordedBy: se.RecordedBy}
	// The decoding must give the same bytes back, or the rewrite would
	// change more than the person.
	orig := ev.AppendCanonical(nil)
	if se.Redacted == nil && !bytes.Equal(orig, data) {
		return nil, errors.New("its stored bytes do not decode to the canonical encoding: not rewritten")
	}
	if ev.Actor.ID == m.id {
		ev.Actor.ID, ev.Actor.Name = Erased, Erased
	}
	ev.Targets = append([]Target(nil), ev.Targets...)
	for i, t := range ev.Targets {
		switch {
		case t.Type == "user" && t.ID == m.id:
			ev.Targets[i].ID, ev.Targets[i].Name = Erased, Erased
		case t.Type != "user":
			// A resource named after the person ("acme/zelda-notes").
			ev.Targets[i].ID, ev.Targets[i].Name = m.scrub(t.ID), m.scrub(t.Name)
		}
	}
	ev.Description = m.scrub(ev.Description)
	ev.Metadata, _ = scrubValue(meta, m).(map[string]any)
	out := ev.AppendCanonical(nil)
	if bytes.Equal(out, orig) {
		return nil, nil // the id or a name only appeared in an unrelated field
	}
	out = ledger.AppendRedacted(out[:len(out)-1], leaf, at, erasure)
	out = append(out, '}')
	return &Redaction{Data: out, Event: &ev}, nil
}

// scrubValue replaces the person in every string of a metadata value.
func scrubValue(v any, m *personMatcher) any {
	switch x := v.(type) {
	case string:
		return m.scrub(x)
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = scrubValue(e, m)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrubValue(e, m)
		}
		return out
	}
	return v
}
