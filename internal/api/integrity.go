// SPDX-License-Identifier: Apache-2.0

package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// The integrity routes serve what an auditor needs to check the log
// without trusting Trail: the latest signed checkpoint of an org, an
// event's inclusion proof in it, consistency proofs between two sizes, and
// the verifier key. Proof hashes are base64 (RFC 6962 SHA-256).

// checkpointReply is GET /api/v1/orgs/{org}/checkpoint.
type checkpointReply struct {
	Org         string `json:"org"`
	Origin      string `json:"origin"`
	Size        int64  `json:"size"`
	Root        string `json:"root"`
	SignedAt    string `json:"signed_at"`
	Checkpoint  string `json:"checkpoint"` // the C2SP signed note
	VerifierKey string `json:"verifier_key"`
}

// checkpoint serves the latest signed checkpoint, as JSON or (with
// ?format=text) as the signed note itself.
func (a *API) checkpoint(w http.ResponseWriter, r *http.Request, c caller) error {
	format, err := textOrJSON(r)
	if err != nil {
		return err
	}
	cp, err := a.svc.LatestCheckpoint(r.Context(), c.Org)
	if err != nil {
		return err
	}
	if format == "text" {
		writeText(w, cp.Note)
		return nil
	}
	writeJSON(w, http.StatusOK, checkpointReply{
		Org: c.Org, Origin: a.svc.Origin(c.Org), Size: cp.Size, Root: ledger.EncodeHash(cp.Root),
		SignedAt: cp.SignedAt.UTC().Format(time.RFC3339Nano), Checkpoint: cp.Note, VerifierKey: a.svc.VerifierKey(),
	})
	return nil
}

// proofReply is GET /api/v1/orgs/{org}/events/{id}/proof.
type proofReply struct {
	ID         string   `json:"id"`
	Seq        int64    `json:"seq"`
	LeafHash   string   `json:"leaf_hash"`
	Size       int64    `json:"size"`
	Root       string   `json:"root"`
	Hashes     []string `json:"hashes"` // the audit path, leaf's sibling first
	Checkpoint string   `json:"checkpoint"`
}

// proof serves an event's inclusion proof in the latest checkpoint (signed
// now if the event is newer), as JSON or as a C2SP tlog-proof
// (?format=text).
func (a *API) proof(w http.ResponseWriter, r *http.Request, c caller) error {
	format, err := textOrJSON(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !audit.ValidEventID(id) {
		return audit.Errorf(audit.CodeNotFound, "no event with this id")
	}
	inc, err := a.svc.Prove(r.Context(), c.Org, id)
	if audit.ErrorCode(err) == audit.CodeNotFound {
		return audit.Errorf(audit.CodeNotFound, "no event with this id")
	}
	if err != nil {
		return err
	}
	if format == "text" {
		writeText(w, ledger.ProofText(inc.Seq, inc.Proof, inc.Checkpoint.Note))
		return nil
	}
	writeJSON(w, http.StatusOK, proofReply{
		ID: id, Seq: inc.Seq, LeafHash: ledger.EncodeHash(inc.LeafHash), Size: inc.Checkpoint.Size,
		Root: ledger.EncodeHash(inc.Checkpoint.Root), Hashes: encodeHashes(inc.Proof), Checkpoint: inc.Checkpoint.Note,
	})
	return nil
}

// consistencyReply is GET /api/v1/orgs/{org}/consistency.
type consistencyReply struct {
	From   int64    `json:"from"`
	To     int64    `json:"to"`
	Hashes []string `json:"hashes"`
	// Checkpoint is the signed checkpoint of size To when To was left
	// out (the latest one).
	Checkpoint string `json:"checkpoint,omitempty"`
}

// consistency serves the RFC 6962 consistency proof from size from to size
// to (default: the latest checkpoint's size).
func (a *API) consistency(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := checkParams(r, "from", "to"); err != nil {
		return err
	}
	v := r.URL.Query()
	from, err := sizeParam(v.Get("from"), "from")
	if err != nil {
		return err
	}
	if v.Get("from") == "" {
		return audit.Errorf(audit.CodeInvalid, "from is required: the size of the older checkpoint")
	}
	to := int64(-1)
	if s := v.Get("to"); s != "" {
		if to, err = sizeParam(s, "to"); err != nil {
			return err
		}
	}
	var note string
	if to < 0 {
		cp, err := a.svc.LatestCheckpoint(r.Context(), c.Org)
		if err != nil {
			return err
		}
		to, note = cp.Size, cp.Note
	}
	to, proof, err := a.svc.Consistency(r.Context(), c.Org, from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, consistencyReply{From: from, To: to, Hashes: encodeHashes(proof), Checkpoint: note})
	return nil
}

// verifierKeyReply is GET /api/v1/verifier-key.
type verifierKeyReply struct {
	VerifierKey string   `json:"verifier_key"`
	Fingerprint string   `json:"fingerprint"`
	Previous    []string `json:"previous"` // earlier keys, still valid for what they signed
}

// verifierKey serves the note verifier key checkpoints are signed with.
// It is public: a verifier key is meant to be published (auditors should
// still get it out of band, e.g. from `trail keys verifier`).
func (a *API) verifierKey(w http.ResponseWriter, r *http.Request, _ caller) error {
	if err := checkParams(r); err != nil {
		return err
	}
	k := a.svc.VerifierKey()
	if k == "" {
		return audit.Errorf(audit.CodeUnavailable, "this Trail signs no checkpoints (no signing key)")
	}
	prev := a.svc.TrustedKeys()
	if prev == nil {
		prev = []string{}
	}
	writeJSON(w, http.StatusOK, verifierKeyReply{VerifierKey: k, Fingerprint: ledger.Fingerprint(k), Previous: prev})
	return nil
}

func textOrJSON(r *http.Request) (string, error) {
	if err := checkParams(r, "format"); err != nil {
		return "", err
	}
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		return "json", nil
	case "text":
		return "text", nil
	default:
		return "", audit.Errorf(audit.CodeInvalid, "unknown format %q: expected json or text", f)
	}
}

func sizeParam(s, name string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, audit.Errorf(audit.CodeInvalid, "%s must be a tree size: a non-negative integer", name)
	}
	return n, nil
}

func encodeHashes(hs []ledger.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = ledger.EncodeHash(h)
	}
	return out
}

func writeText(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(s))
}

// quarantineCollector exports trail_org_quarantined{org} = 1 for each org
// whose log is quarantined.
type quarantineCollector struct{ a *API }

var quarantineDesc = prometheus.NewDesc("trail_org_quarantined",
	"1 for each org whose stored tree did not match its last signed checkpoint at start: its log is read-only.",
	[]string{"org"}, nil)

func (q quarantineCollector) Describe(ch chan<- *prometheus.Desc) { ch <- quarantineDesc }

func (q quarantineCollector) Collect(ch chan<- prometheus.Metric) {
	if q.a.svc == nil {
		return
	}
	for _, o := range q.a.svc.QuarantinedOrgs() {
		ch <- prometheus.MustNewConstMetric(quarantineDesc, prometheus.GaugeValue, 1, o[0])
	}
}
