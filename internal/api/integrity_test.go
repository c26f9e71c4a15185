// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/ledger/ledgertest"
	"github.com/trailaudit/trail/verify"
)

// testSigner is a fresh checkpoint signing key.
func testSigner(t testing.TB) *ledger.Signer {
	t.Helper()
	s, _ := ledgertest.Signer(t)
	return s
}

func decodeJSON[T any](t *testing.T, r reply) T {
	t.Helper()
	var v T
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, truncate(r.Body))
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%v: %s", err, truncate(r.Body))
	}
	return v
}

type checkpointJSON struct {
	Org, Origin, Root, Checkpoint string
	Size                          int64
	VerifierKey                   string `json:"verifier_key"`
}

func TestCheckpointProofsAndConsistency(t *testing.T) {
	e := newEnv(t)
	read := e.key(audit.ScopeRead, "acme")
	vk := decodeJSON[struct {
		VerifierKey string `json:"verifier_key"`
		Fingerprint string
	}](t, e.get("/api/v1/verifier-key", ""))
	keys := []string{vk.VerifierKey}
	if vk.Fingerprint != ledger.Fingerprint(vk.VerifierKey) {
		t.Errorf("fingerprint %q", vk.Fingerprint)
	}

	var acks []string
	for i := range 5 {
		acks = append(acks, e.ingest("acme", changeRole(fmt.Sprint("c-", i), "bob"))[0].ID)
	}
	old := decodeJSON[checkpointJSON](t, e.get("/api/v1/orgs/acme/checkpoint", read))
	if old.Size != 5 || old.Origin != "trail.test/orgs/acme" || old.VerifierKey != vk.VerifierKey {
		t.Fatalf("checkpoint %+v", old)
	}
	if origin, size, _, err := verify.Checkpoint(old.Checkpoint, keys); err != nil || origin != old.Origin || size != 5 {
		t.Fatalf("verify.Checkpoint: %q %d %v", origin, size, err)
	}
	if r := e.get("/api/v1/orgs/acme/checkpoint?format=text", read); r.Status != 200 || string(r.Body) != old.Checkpoint {
		t.Errorf("text checkpoint: %d %q", r.Status, r.Body)
	}

	// A newer event gets a proof in a checkpoint signed on demand.
	acks = append(acks, e.ingest("acme", changeRole("c-new", "bob"))[0].ID)
	for i, id := range acks {
		event := e.get("/api/v1/orgs/acme/events/"+id, read).Body
		p := decodeJSON[struct {
			Seq, Size  int64
			LeafHash   string `json:"leaf_hash"`
			Hashes     []string
			Checkpoint string
		}](t, e.get("/api/v1/orgs/acme/events/"+id+"/proof", read))
		if p.Seq != int64(i) || p.Size < int64(i+1) || p.LeafHash != ledger.EncodeHash(ledger.LeafHash(event)) {
			t.Errorf("proof of %s: %+v", id, p)
		}
		text := e.get("/api/v1/orgs/acme/events/"+id+"/proof?format=text", read)
		if seq, _, err := verify.Inclusion(event, string(text.Body), keys); err != nil || seq != int64(i) {
			t.Errorf("verify.Inclusion of %s: %d %v\n%s", id, seq, err, text.Body)
		}
		if _, _, err := verify.Inclusion(append(event[:len(event)-1:len(event)-1], ' ', '}'), string(text.Body), keys); !verify.IsMismatch(err) {
			t.Errorf("an altered event's proof: err = %v, want a mismatch", err)
		}
	}
	c := decodeJSON[struct {
		From, To   int64
		Hashes     []string
		Checkpoint string
	}](t, e.get("/api/v1/orgs/acme/consistency?from=5", read))
	if c.From != 5 || c.To < 6 {
		t.Fatalf("consistency: %+v", c)
	}
	if err := verify.Consistency(old.Checkpoint, c.Checkpoint, c.Hashes, keys); err != nil {
		t.Errorf("verify.Consistency: %v", err)
	}
	for _, bad := range []string{"from=x", "from=9&to=3", "from=0&to=999999", "", "from=-1"} {
		if r := e.get("/api/v1/orgs/acme/consistency?"+bad, read); r.Status != 400 {
			t.Errorf("consistency?%s: %d, want 400", bad, r.Status)
		}
	}
	if r := e.get("/api/v1/orgs/acme/events/nope/proof", read); r.Status != 404 {
		t.Errorf("proof of an absent event: %d", r.Status)
	}
	if r := e.get("/api/v1/orgs/acme/checkpoint?format=xml", read); r.Status != 400 {
		t.Errorf("format=xml: %d", r.Status)
	}
}

func TestExportsVerify(t *testing.T) {
	e := newEnv(t)
	read := e.key(audit.ScopeRead, "acme")
	seedExport(t, e, 40)
	vk := decodeJSON[struct {
		VerifierKey string `json:"verifier_key"`
	}](t, e.get("/api/v1/verifier-key", ""))
	for _, c := range []struct{ path, q string }{
		{"format=json", ""},
		{"format=json&q=type:repo.create", "type:repo.create"},
		{"format=ndjson&integrity=1", ""},
		{"format=ndjson&integrity=1&q=type:repo.create", "type:repo.create"},
	} {
		r := e.get("/api/v1/orgs/acme/export?"+c.path, read)
		x, err := verify.ParseExport(r.Body)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		res, err := verify.Verify(x, verify.Options{Keys: []string{vk.VerifierKey}})
		if err != nil || res.Complete != (c.q == "") || x.Filter != c.q {
			t.Errorf("%s: %v %+v", c.path, err, res)
		}
	}
	// Without integrity=1 an NDJSON export is events only.
	r := e.get("/api/v1/orgs/acme/export?format=ndjson", read)
	if strings.Contains(string(r.Body), `"integrity"`) {
		t.Error("a plain NDJSON export has an integrity line")
	}
}

func TestQuarantinedOrgIsReadOnly(t *testing.T) {
	e := newEnv(t)
	ingest := e.key(audit.ScopeIngest, "")
	read := e.key(audit.ScopeRead, "")
	e.ingest("acme", changeRole("q-1", "bob"))
	e.Svc.Quarantine("acme", "test")
	r := e.do("POST", "/api/v1/orgs/acme/events", ingest, "application/json", batchJSON(eventJSON(nil)))
	if r.Status != 503 || r.apiError().Code != string(audit.CodeQuarantined) {
		t.Errorf("ingest into a quarantined org: %d %s", r.Status, truncate(r.Body))
	}
	e.ingest("beta", changeRole("q-2", "bob"))
	if r := e.get("/api/v1/orgs/acme/events", read); r.Status != 200 {
		t.Errorf("reading a quarantined org: %d", r.Status)
	}
	if r := e.get("/readyz", ""); r.Status != 200 {
		t.Errorf("/readyz with a quarantined org: %d", r.Status)
	}
	if m := e.get("/metrics", ""); !strings.Contains(string(m.Body), `trail_org_quarantined{org="acme"} 1`) {
		t.Error("/metrics has no trail_org_quarantined for acme")
	}
}
