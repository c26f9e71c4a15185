// SPDX-License-Identifier: Apache-2.0

package stream

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/query"
)

// Config configures a Manager. Service is required; the zero value of
// every other field is its default.
type Config struct {
	Service *audit.Service
	// AllowPrivate lets destinations be loopback, private, link-local or
	// otherwise non-public addresses (--stream-allow-private).
	AllowPrivate bool
	Logger       *slog.Logger     // default slog.Default()
	Now          func() time.Time // default time.Now
	// Holder names this process in delivery leases; default host, pid and
	// a random suffix.
	Holder string
	// MaxBatch and MaxBatchBytes bound one delivery: events, and bytes of
	// rendered events; defaults 1000 and 4 MiB.
	MaxBatch      int
	MaxBatchBytes int
	// Linger bounds how long a worker waits for a delivery to fill when
	// fewer than MaxBatch events are waiting: a delivery starts at most
	// Linger after the one before it; default 100 ms.
	Linger time.Duration
	// Poll is how often an idle worker looks for events appended by other
	// processes (replicas), and the supervisor for streams created or
	// resumed elsewhere; default 1 s.
	Poll time.Duration
	// RetryMin and RetryMax bound the exponential backoff between failed
	// deliveries; defaults 1 s and 5 min.
	RetryMin, RetryMax time.Duration
	// FailingAfter is the count of consecutive failures after which a
	// stream is "failing"; default 3.
	FailingAfter int64
	// LeaseTTL is how long a delivery lease lasts without renewal: how
	// soon another replica takes over from one that died; default 10 s.
	LeaseTTL time.Duration
	// Timeout bounds one delivery; default 30 s.
	Timeout time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Holder == "" {
		host, _ := os.Hostname()
		c.Holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), newID()[:8])
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1000
	}
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = 4 << 20
	}
	if c.FailingAfter <= 0 {
		c.FailingAfter = 3
	}
	def(&c.Linger, 100*time.Millisecond)
	def(&c.Poll, time.Second)
	def(&c.RetryMin, time.Second)
	def(&c.RetryMax, 5*time.Minute)
	def(&c.LeaseTTL, 10*time.Second)
	def(&c.Timeout, 30*time.Second)
	return c
}

// Manager is the service layer of streaming: the API and the page manage
// an org's destinations through it, and Run delivers to them. It is safe
// for concurrent use.
type Manager struct {
	cfg     Config
	svc     *audit.Service
	store   audit.Store
	env     Env
	log     *slog.Logger
	metrics *metrics

	mu      sync.Mutex
	workers map[streamKey]*worker
	kick    chan struct{} // wakes the supervisor
}

type streamKey struct{ org, id string }

// New returns a Manager; call Run to deliver.
func New(cfg Config) *Manager {
	cfg = cfg.withDefaults()
	m := &Manager{
		cfg: cfg, svc: cfg.Service, store: cfg.Service.Store(), log: cfg.Logger,
		env: NewEnv(cfg.AllowPrivate), workers: map[streamKey]*worker{}, kick: make(chan struct{}, 1),
	}
	m.metrics = newMetrics(m)
	m.svc.OnCommit(m.notify)
	return m
}

// Env returns the environment sinks get: dialing that refuses non-public
// addresses unless the Manager allows them.
func (m *Manager) Env() Env { return m.env }

// View is a stream as the API and the page show it: no secrets.
type View struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Kind           string         `json:"kind"`
	Format         string         `json:"format"`
	Filter         string         `json:"filter"`
	State          string         `json:"state"` // active, paused or failing
	DeliveredSeq   int64          `json:"delivered_seq"`
	LagEvents      int64          `json:"lag_events"`
	CheckpointSize int64          `json:"checkpoint_size"`
	Failures       int64          `json:"failures"`
	LastError      string         `json:"last_error"`
	LastErrorAt    *time.Time     `json:"last_error_at"`
	LastSuccessAt  *time.Time     `json:"last_success_at"`
	CreatedAt      time.Time      `json:"created_at"`
	Settings       map[string]any `json:"settings"`
	// PrunedBeforeDelivery is set when the stream's cursor fell behind
	// the org's pruning point: events FromSeq … ToSeq were pruned by
	// retention before they were delivered, and delivery continued after
	// them. It stays until a later failure replaces last_error.
	PrunedBeforeDelivery *PrunedRange `json:"pruned_before_delivery"`
}

// PrunedRange is a range of seqs pruned before a stream delivered them.
type PrunedRange struct {
	FromSeq int64     `json:"from_seq"`
	ToSeq   int64     `json:"to_seq"`
	At      time.Time `json:"at"` // when the stream moved past them
}

// The states of a stream.
const (
	StateActive  = "active"
	StatePaused  = "paused"
	StateFailing = "failing"
)

func (m *Manager) state(st audit.Stream) string {
	switch {
	case st.Paused:
		return StatePaused
	case st.Cursor.Failures >= m.cfg.FailingAfter:
		return StateFailing
	}
	return StateActive
}

func (m *Manager) view(st audit.Stream, size int64) View {
	v := View{
		ID: st.ID, Name: st.Name, Kind: st.Kind, Format: st.Format, Filter: st.Filter, State: m.state(st),
		DeliveredSeq: st.Cursor.DeliveredSeq, LagEvents: max(0, size-1-st.Cursor.DeliveredSeq),
		CheckpointSize: st.Cursor.CheckpointSize, Failures: st.Cursor.Failures, LastError: st.Cursor.LastError,
		LastErrorAt: timePtr(st.Cursor.LastErrorAt), LastSuccessAt: timePtr(st.Cursor.LastSuccessAt),
		CreatedAt: st.CreatedAt, Settings: map[string]any{},
	}
	if k, ok := LookupKind(st.Kind); ok {
		v.Settings = k.Public(st.Settings)
	}
	if from, to, ok := parsePruned(st.Cursor.LastError); ok {
		v.PrunedBeforeDelivery = &PrunedRange{FromSeq: from, ToSeq: to, At: st.Cursor.LastErrorAt}
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// List returns org's streams, oldest first.
func (m *Manager) List(ctx context.Context, org string) ([]View, error) {
	list, err := m.store.Streams(ctx, org)
	if err != nil {
		return nil, err
	}
	size, err := m.store.Size(ctx, org)
	if err != nil {
		return nil, err
	}
	views := make([]View, len(list))
	for i, st := range list {
		views[i] = m.view(st, size)
	}
	return views, nil
}

// Get returns one of org's streams, or a CodeNotFound error.
func (m *Manager) Get(ctx context.Context, org, id string) (View, error) {
	st, err := m.get(ctx, org, id)
	if err != nil {
		return View{}, err
	}
	size, err := m.store.Size(ctx, org)
	if err != nil {
		return View{}, err
	}
	return m.view(st, size), nil
}

func (m *Manager) get(ctx context.Context, org, id string) (audit.Stream, error) {
	st, err := m.store.Stream(ctx, org, id)
	if audit.ErrorCode(err) == audit.CodeNotFound {
		return st, audit.Errorf(audit.CodeNotFound, "org %s has no stream %q", org, id)
	}
	return st, err
}

// Bounds of a creation request.
const (
	MaxNameLen   = 100
	MaxFilterLen = 1024
)

// Create validates a creation request (a JSON object: name, kind, format,
// filter and the kind's settings), stores the stream, records an
// org.audit_log.stream.create event by actor, and returns the stream and
// what the kind reveals once (a webhook's secret). Errors are *audit.Error:
// CodeInvalid for a body that is not a JSON object of the right shape,
// CodeUnprocessable naming the field for a bad value, CodeConflict for a
// name in use.
func (m *Manager) Create(ctx context.Context, org string, actor audit.Actor, body []byte) (View, map[string]any, error) {
	st, created, err := m.validate(org, body)
	if err != nil {
		return View{}, nil, err
	}
	if err := m.checkAddresses(ctx, st.Kind, created.Settings); err != nil {
		return View{}, nil, err
	}
	if err := m.store.CreateStream(ctx, st); err != nil {
		return View{}, nil, err
	}
	k, _ := LookupKind(st.Kind)
	meta := map[string]any{"stream": st.ID, "name": st.Name, "kind": st.Kind, "format": st.Format}
	if st.Filter != "" {
		meta["filter"] = st.Filter
	}
	if d := destination(k.Public(st.Settings)); d != "" {
		meta["destination"] = d
	}
	if _, err := m.svc.Record(ctx, org, "org.audit_log.stream.create", actor, meta); err != nil {
		_ = m.store.DeleteStream(context.WithoutCancel(ctx), org, st.ID) // no unrecorded stream
		return View{}, nil, err
	}
	m.wakeSupervisor()
	st.Cursor.DeliveredSeq = -1
	size, err := m.store.Size(ctx, org)
	if err != nil {
		return View{}, nil, err
	}
	return m.view(st, size), created.Reveal, nil
}

// destination is what a create event says of where events go: a URL's
// host, an endpoint or a bucket, never a secret (Public has none).
func destination(pub map[string]any) string {
	for _, k := range []string{"url", "address", "endpoint", "bucket", "host"} {
		if s, ok := pub[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// validate decodes and checks a creation request.
func (m *Manager) validate(org string, body []byte) (audit.Stream, Created, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return audit.Stream{}, Created{}, audit.Errorf(audit.CodeInvalid,
			`the body must be a JSON object {"name", "kind", "format", "filter", …the kind's settings}`)
	}
	st := audit.Stream{ID: "st_" + newID(), Org: org, CreatedAt: m.cfg.Now().UTC().Truncate(time.Microsecond)}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"name", &st.Name}, {"kind", &st.Kind}, {"format", &st.Format}, {"filter", &st.Filter}} {
		raw, ok := fields[f.name]
		delete(fields, f.name)
		if ok && json.Unmarshal(raw, f.dst) != nil {
			return st, Created{}, unprocessable(f.name, "a string")
		}
	}
	if err := checkName(st.Name); err != nil {
		return st, Created{}, err
	}
	k, ok := LookupKind(st.Kind)
	if !ok {
		return st, Created{}, unprocessable("kind", "one of "+strings.Join(KindNames(), ", "))
	}
	if st.Format == "" {
		st.Format = k.Formats()[0]
	}
	if _, ok := LookupFormat(st.Format); !ok || !slices.Contains(k.Formats(), st.Format) {
		return st, Created{}, unprocessable("format", "for kind "+st.Kind+": one of "+strings.Join(availableFormats(k), ", "))
	}
	if _, err := m.parseFilter(st.Filter); err != nil {
		return st, Created{}, err
	}
	settings, _ := json.Marshal(fields)
	created, err := k.Create(settings)
	if se, ok := err.(*SettingError); ok {
		return st, Created{}, audit.Errorf(audit.CodeUnprocessable, "%s: %s", se.Field, se.Reason)
	}
	if err != nil {
		return st, Created{}, err
	}
	st.Settings = created.Settings
	return st, created, nil
}

func availableFormats(k Kind) []string {
	var out []string
	for _, f := range k.Formats() {
		if _, ok := LookupFormat(f); ok {
			out = append(out, f)
		}
	}
	return out
}

func checkName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return unprocessable("name", "a name for the destination, 1 to 100 characters")
	case len(name) > MaxNameLen || !utf8.ValidString(name):
		return unprocessable("name", "at most 100 bytes of UTF-8")
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return unprocessable("name", "no control characters")
	}
	return nil
}

func unprocessable(field, expected string) error {
	return audit.Errorf(audit.CodeUnprocessable, "%s: expected %s", field, expected)
}

// parseFilter parses a stream's search string against the catalog.
// Relative dates (@today, 7d) are fixed when delivery starts.
func (m *Manager) parseFilter(s string) (audit.Filter, error) {
	if len(s) > MaxFilterLen {
		return audit.Filter{}, unprocessable("filter", fmt.Sprintf("a search string of at most %d bytes", MaxFilterLen))
	}
	cat := m.svc.Catalog()
	f, err := query.Parse(s, query.Options{
		KnownType:     func(s string) bool { _, ok := cat.Lookup(s); return ok },
		KnownCategory: func(s string) bool { _, ok := cat.Category(s); return ok },
		Now:           m.cfg.Now,
	})
	if se, ok := err.(*query.SyntaxError); ok {
		return f, audit.Errorf(audit.CodeUnprocessable, "filter: invalid search string at position %d: %s", se.Pos, se.Msg)
	}
	return f, err
}

// Pause stops delivery to a stream; its cursor holds. A delivery this
// process has in flight finishes before Pause returns; after that nothing
// more is sent until Resume. Pausing a paused stream changes nothing and
// records nothing.
func (m *Manager) Pause(ctx context.Context, org, id string, actor audit.Actor) (View, error) {
	return m.setPaused(ctx, org, id, actor, true)
}

// Resume restarts delivery after the cursor.
func (m *Manager) Resume(ctx context.Context, org, id string, actor audit.Actor) (View, error) {
	return m.setPaused(ctx, org, id, actor, false)
}

func (m *Manager) setPaused(ctx context.Context, org, id string, actor audit.Actor, paused bool) (View, error) {
	st, err := m.get(ctx, org, id)
	if err != nil {
		return View{}, err
	}
	if st.Paused != paused {
		if err := m.store.SetStreamPaused(ctx, org, id, paused); err != nil {
			return View{}, err
		}
		if paused {
			// A delivery this process started before the pause may
			// finish; wait for it, so that once Pause returns nothing
			// more (the pause event included) is sent until Resume.
			if err := m.settle(ctx, org, id); err != nil {
				return View{}, err
			}
		}
		typ := map[bool]string{true: "org.audit_log.stream.pause", false: "org.audit_log.stream.resume"}[paused]
		if _, err := m.svc.Record(ctx, org, typ, actor, streamMeta(st)); err != nil {
			return View{}, err
		}
		m.poke(org, id)
		m.wakeSupervisor()
	}
	return m.Get(ctx, org, id)
}

func streamMeta(st audit.Stream) map[string]any {
	return map[string]any{"stream": st.ID, "name": st.Name, "kind": st.Kind}
}

// ReplayFrom says where a replay starts: FromSeq, or else the first event
// received at or after FromTime.
type ReplayFrom struct {
	FromSeq  *int64
	FromTime *time.Time
}

// Replay sends the org's log again from a seq: the cursor moves back (the
// one way it does), and the next delivery starts there and carries the
// newest checkpoint again. A delivery this process has in flight from the
// old cursor finishes before Replay returns; every later one starts from
// the new cursor. A seq past the log's end is CodeUnprocessable.
func (m *Manager) Replay(ctx context.Context, org, id string, actor audit.Actor, from ReplayFrom) (View, error) {
	st, err := m.get(ctx, org, id)
	if err != nil {
		return View{}, err
	}
	size, err := m.store.Size(ctx, org)
	if err != nil {
		return View{}, err
	}
	var seq int64
	switch {
	case from.FromSeq != nil && from.FromTime != nil:
		return View{}, audit.Errorf(audit.CodeInvalid, "give from_seq or from_time, not both")
	case from.FromSeq != nil:
		seq = *from.FromSeq
		if seq < 0 || seq > size {
			return View{}, audit.Errorf(audit.CodeUnprocessable, "from_seq: expected 0 to %d, the org's log size", size)
		}
	case from.FromTime != nil:
		if seq, err = m.firstReceived(ctx, org, *from.FromTime, size); err != nil {
			return View{}, err
		}
	default:
		return View{}, audit.Errorf(audit.CodeInvalid, `the body must be {"from_seq": N} or {"from_time": "RFC 3339"}`)
	}
	cur, err := m.store.ReplayStream(ctx, org, id, seq-1)
	if err != nil {
		return View{}, err
	}
	// A delivery this process built from the old cursor may still be in
	// flight; wait for it before recording the replay, so that the replay
	// event and everything after it are delivered from the new cursor,
	// and once Replay returns every delivery starts from seq.
	if err := m.settle(ctx, org, id); err != nil {
		return View{}, err
	}
	meta := streamMeta(st)
	meta["from_seq"] = seq
	if _, err := m.svc.Record(ctx, org, "org.audit_log.stream.replay", actor, meta); err != nil {
		return View{}, err
	}
	m.poke(org, id)
	// The reply shows the cursor as replayed (from seq-1), not as far as
	// the worker may have delivered since.
	now, err := m.get(ctx, org, id)
	if err != nil {
		return View{}, err
	}
	if now.Cursor.Epoch == cur.Epoch {
		now.Cursor = cur
	}
	size, err = m.store.Size(ctx, org)
	if err != nil {
		return View{}, err
	}
	return m.view(now, size), nil
}

// firstReceived returns the seq of org's first event received at or after
// t, or size when there is none.
func (m *Manager) firstReceived(ctx context.Context, org string, t time.Time, size int64) (int64, error) {
	f := audit.Filter{Terms: []audit.Term{{Field: audit.FieldReceived, From: t}}}
	page, err := m.store.Query(ctx, org, audit.Query{Filter: f, Order: audit.Asc, Before: -1, After: -1, Limit: 1})
	if err != nil {
		return 0, err
	}
	if len(page.Seqs) == 0 {
		return size, nil
	}
	return page.Seqs[0], nil
}

// Delete deletes a stream and its cursor; delivery stops at once (a
// delivery this process has in flight finishes before Delete returns).
func (m *Manager) Delete(ctx context.Context, org, id string, actor audit.Actor) error {
	st, err := m.get(ctx, org, id)
	if err != nil {
		return err
	}
	if err := m.store.DeleteStream(ctx, org, id); err != nil {
		return m.notFound(org, id, err)
	}
	// Once Delete returns, this process sends nothing more to the
	// destination.
	if err := m.settle(ctx, org, id); err != nil {
		return err
	}
	_, err = m.svc.Record(ctx, org, "org.audit_log.stream.delete", actor, streamMeta(st))
	return err
}

func (m *Manager) notFound(org, id string, err error) error {
	if audit.ErrorCode(err) == audit.CodeNotFound {
		return audit.Errorf(audit.CodeNotFound, "org %s has no stream %q", org, id)
	}
	return err
}

// TestResult is the outcome of a test delivery.
type TestResult struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	TookMS int64  `json:"took_ms"`
}

// Test sends one delivery with no events (and the org's newest signed
// checkpoint, if any) to the stream's destination, paused or not, and
// reports what happened; the cursor does not move.
func (m *Manager) Test(ctx context.Context, org, id string, actor audit.Actor) (TestResult, error) {
	st, err := m.get(ctx, org, id)
	if err != nil {
		return TestResult{}, err
	}
	b := &Batch{
		ID: "test_" + newID(), Org: org, Stream: st.ID, Format: st.Format,
		FirstSeq: st.Cursor.DeliveredSeq + 1, LastSeq: st.Cursor.DeliveredSeq,
	}
	if cp, err := m.svc.LatestCheckpoint(ctx, org); err == nil {
		b.Checkpoint = cp.Note
	}
	start := time.Now()
	err = m.deliverOnce(ctx, st, b)
	res := TestResult{OK: err == nil, TookMS: time.Since(start).Milliseconds()}
	meta := streamMeta(st)
	meta["ok"] = res.OK
	if err != nil {
		res.Error = errText(err)
		meta["error"] = res.Error
	}
	if _, err := m.svc.Record(ctx, org, "org.audit_log.stream.test", actor, meta); err != nil {
		return TestResult{}, err
	}
	return res, nil
}

// deliverOnce opens a sink for st, delivers b and closes it.
func (m *Manager) deliverOnce(ctx context.Context, st audit.Stream, b *Batch) error {
	k, ok := LookupKind(st.Kind)
	if !ok {
		return fmt.Errorf("this Trail has no stream kind %q", st.Kind)
	}
	sink, err := k.Open(st.Settings, m.env)
	if err != nil {
		return err
	}
	defer sink.Close()
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	return sink.Deliver(ctx, b)
}

// errText is a delivery error as stored and shown: one line, bounded.
func errText(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// newID returns 26 random base32 characters.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("stream: reading random bytes: %v", err))
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
