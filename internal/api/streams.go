// SPDX-License-Identifier: Apache-2.0

package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/stream"
)

// The stream routes (admin): an org's stream destinations, managed through
// the stream.Manager the page uses too. Every change is recorded in the
// org's log by the Manager, with the key as actor.

// maxStreamBody bounds the body of POST …/streams and …/replay.
const maxStreamBody = 16 << 10

// SetStreams sets the stream Manager the stream routes use and registers
// its metrics. Until it is called the stream routes answer 503.
func (a *API) SetStreams(m *stream.Manager) {
	a.streams = m
	a.reg.MustRegister(m.Collector())
}

func (a *API) streamManager(r *http.Request, params ...string) (*stream.Manager, error) {
	if err := checkParams(r, params...); err != nil {
		return nil, err
	}
	if a.streams == nil {
		return nil, audit.Errorf(audit.CodeUnavailable, "streaming is not running on this server")
	}
	return a.streams, nil
}

// createStream serves POST /api/v1/orgs/{org}/streams: 201 with the
// stream and, once, what the kind reveals (a webhook's "secret" or
// "public_key").
func (a *API) createStream(w http.ResponseWriter, r *http.Request, c caller) error {
	m, err := a.streamManager(r)
	if err != nil {
		return err
	}
	var body json.RawMessage
	if err := readJSONBody(w, r, maxStreamBody, &body, `{"name", "kind", "format", "filter", …the kind's settings}`); err != nil {
		return err
	}
	v, reveal, err := m.Create(r.Context(), c.Org, c.actor(), body)
	if err != nil {
		return err
	}
	reply := map[string]any{}
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &reply)
	for k, x := range reveal {
		reply[k] = x
	}
	writeJSON(w, http.StatusCreated, reply)
	return nil
}

// listStreams serves GET /api/v1/orgs/{org}/streams.
func (a *API) listStreams(w http.ResponseWriter, r *http.Request, c caller) error {
	m, err := a.streamManager(r)
	if err != nil {
		return err
	}
	list, err := m.List(r.Context(), c.Org)
	if err != nil {
		return err
	}
	if list == nil {
		list = []stream.View{}
	}
	writeJSON(w, http.StatusOK, struct {
		Streams []stream.View `json:"streams"`
	}{list})
	return nil
}

// getStream serves GET /api/v1/orgs/{org}/streams/{id}.
func (a *API) getStream(w http.ResponseWriter, r *http.Request, c caller) error {
	m, err := a.streamManager(r)
	if err != nil {
		return err
	}
	v, err := m.Get(r.Context(), c.Org, r.PathValue("id"))
	return writeOr(w, v, err)
}

// pauseStream serves POST …/streams/{id}/pause.
func (a *API) pauseStream(w http.ResponseWriter, r *http.Request, c caller) error {
	m, err := a.streamManager(r)
	if err != nil {
		return err
	}
	v, err := m.Pause(r.Context(), c.Org, r.PathValue("id"), c.actor())
	return writeOr(w, v, err)
}

// resumeStream serves POST …/streams/{id}/resume.
func (a *API) resumeStream(w http.ResponseWriter, r *http.Request, c caller) error {
	m, err := a.streamManager(r)
	if err != nil {
		return err
	}
	v, err := m.Resume(r.Context(), c.Org, r.PathValue("id"), c.actor())
	return writeOr(w, v, err)
}

// replayStream serves POST …/streams/{id}/replay with {"from_seq": N} or
// {"from_time": RFC 3339}.
func (a *API) replayStream(w http.ResponseWriter, r *http.Request, c caller) error {
	m, err := a.streamManager(r)
	if err != nil {
		return err
	}
	var req struct {
		FromSeq  *int64     `json:"from_seq"`
		FromTime *time.Time `json:"from_time"`
	}
	if err := readJSONBody(w, r, maxStreamBody, &req, `{"from_seq": N} or {"from_time": "RFC 3339"}`); err != nil {
		return err
	}
	v, err := m.Replay(r.Context(), c.Org, r.PathValue("id"), c.actor(), stream.ReplayFrom{FromSeq: req.FromSeq, FromTime: req.FromTime})
	return writeOr(w, v, err)
}

// testStream serves POST …/streams/{id}/test: one delivery with no events
// and the outcome, {"ok", "error", "took_ms"}.
func (a *API) testStream(w http.ResponseWriter, r *http.Request, c caller) error {
	m, err := a.streamManager(r)
	if err != nil {
		return err
	}
	res, err := m.Test(r.Context(), c.Org, r.PathValue("id"), c.actor())
	return writeOr(w, res, err)
}

// deleteStream serves DELETE …/streams/{id}: {"id", "deleted": true}.
func (a *API) deleteStream(w http.ResponseWriter, r *http.Request, c caller) error {
	m, err := a.streamManager(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := m.Delete(r.Context(), c.Org, id, c.actor()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		ID      string `json:"id"`
		Deleted bool   `json:"deleted"`
	}{id, true})
	return nil
}

// writeOr writes v with 200, or returns err.
func writeOr(w http.ResponseWriter, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
