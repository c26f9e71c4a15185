// SPDX-License-Identifier: Apache-2.0

package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/stream"
)

// The Streaming section: an org's stream destinations, for the org's
// admins (every page session is an org admin's: the platform mints viewer
// links for its admins only). Each action goes through the stream.Manager
// the API uses, so the page and the API cannot disagree, and the Manager
// records the same audit events, with the signed-in admin as actor.
// Every change is a POST form with the session's CSRF token.

// maxStreamForm bounds the body of the add form: a syslog CA bundle or a
// NATS .creds file, percent-encoded, fits.
const maxStreamForm = 96 << 10

// maxActionForm bounds the body of the other forms, as checkForm does.
const maxActionForm = 8 << 10

// maxReplayFrom bounds the replay form's one field.
const maxReplayFrom = 64

// streamsPage is what the Streaming page shows.
type streamsPage struct {
	layout
	Base    string // the Streaming page's path
	LogPath string // the audit-log page's path
	Streams []streamView
	Add     addForm
	AddOpen bool        // the add form is shown open (an error in it)
	Reveal  *revealView // a new webhook's secret or public key, shown once
	Notice  string      // what the last action did
	Alert   string      // what the last action could not do
	Replay  replayState // the replay form to show open, with its error
	Delete  *streamView // the destination a delete confirmation is for
	loc     *time.Location
}

// streamView is one destination as the page lists it.
type streamView struct {
	stream.View
	Path        string // the destination's base path: …/streams/{id}
	Destination string // where events go (URL, address, bucket), no secret
	LastSuccess timeView
	LastErrorAt timeView
	Created     timeView
}

// revealView is what a creation shows once.
type revealView struct {
	Name, Label, Value, Hint string
}

// replayState is a replay form that failed: which destination, what was
// typed, why it was refused.
type replayState struct {
	ID, Value, Error string
}

// addForm is the add form as shown: what was typed (secrets excepted),
// which field is wrong and why.
type addForm struct {
	Name, Kind, Format, Filter string
	Kinds                      []kindOption
	Formats                    []string
	Error                      string
	ErrorField                 string // the id of the input the error is about
}

// kindOption is a kind in the add form, with its settings.
type kindOption struct {
	Kind     string
	Title    string
	Formats  string // the formats the kind takes, the default first
	Selected bool
	Fields   []fieldView
}

// fieldView is one setting's input.
type fieldView struct {
	settingField
	ID, FormName, Value string
	Checked, Invalid    bool
	Opts                []optionView
}

type optionView struct {
	Value, Label string
	Selected     bool
}

// settingField describes one of a kind's settings, named as in the API.
type settingField struct {
	Name     string
	Label    string
	Hint     string
	Type     string // text, url, password, textarea, checkbox or select
	Required bool
	Options  [][2]string // select: value and label
}

// kindForm is a kind's settings in the add form.
type kindForm struct {
	Kind, Title string
	Fields      []settingField
}

// kindForms lists every kind's settings, in the order the form offers
// them (TestKindFormsCoverKinds checks that no registered kind is left
// out). Their names and meanings are those of the API (docs/streaming*.md).
var kindForms = []kindForm{
	{"webhook", "Webhook (HTTPS POST, Standard Webhooks signatures)", []settingField{
		{Name: "url", Label: "URL", Type: "url", Required: true, Hint: "An https:// URL the deliveries are POSTed to (http:// only to a loopback address)."},
		{Name: "signing", Label: "Signing", Type: "select", Options: [][2]string{
			{"hmac-sha256", "HMAC-SHA256 with a whsec_ secret (default)"},
			{"ed25519", "Ed25519: you get the public key"},
		}, Hint: "The secret or public key is shown once, after the destination is added."},
	}},
	{"syslog", "Syslog (RFC 5424 over TCP or TLS)", []settingField{
		{Name: "address", Label: "Address", Type: "text", Required: true, Hint: "host:port of the syslog receiver."},
		{Name: "tls", Label: "Use TLS (RFC 5425)", Type: "checkbox"},
		{Name: "ca_pem", Label: "CA certificates (PEM)", Type: "textarea", Hint: "TLS only. Empty: the system's roots."},
		{Name: "server_name", Label: "TLS server name", Type: "text", Hint: "TLS only. Empty: the address's host."},
		{Name: "hostname", Label: "HOSTNAME field", Type: "text", Hint: "Empty: this server's name."},
		{Name: "app_name", Label: "APP-NAME field", Type: "text", Hint: "Empty: trail."},
		{Name: "facility", Label: "Facility", Type: "text", Hint: "A facility name (local0 … local7, audit, …) or number. Empty: local0."},
		{Name: "ack", Label: "Acknowledgement", Type: "select", Options: [][2]string{
			{"write", "write: delivered once written to the connection (default)"},
			{"close", "close: delivered once the receiver has read every byte"},
		}},
	}},
	{"s3", "S3 or S3-compatible storage (gzip'd NDJSON objects)", []settingField{
		{Name: "endpoint", Label: "Endpoint", Type: "url", Hint: "https://host[:port] of an S3-compatible store. Empty: AWS S3."},
		{Name: "region", Label: "Region", Type: "text", Required: true, Hint: "The bucket's region, e.g. us-east-1."},
		{Name: "bucket", Label: "Bucket", Type: "text", Required: true},
		{Name: "prefix", Label: "Key prefix", Type: "text", Hint: "Objects are PREFIX/ORG/YYYY/MM/DD/<first_seq>-<last_seq>.ndjson.gz."},
		{Name: "access_key_id", Label: "Access key id", Type: "text", Required: true},
		{Name: "secret_access_key", Label: "Secret access key", Type: "password", Required: true},
		{Name: "path_style", Label: "Path-style addressing", Type: "checkbox"},
	}},
	{"nats", "NATS JetStream", []settingField{
		{Name: "url", Label: "Server URL", Type: "text", Required: true, Hint: "nats://host[:port] or tls://host[:port]."},
		{Name: "subject", Label: "Subject", Type: "text", Required: true, Hint: "A subject a JetStream stream captures, no wildcards."},
		{Name: "token", Label: "Token", Type: "password", Hint: "Either a token or a .creds file, or neither."},
		{Name: "creds", Label: "Credentials (.creds file content)", Type: "textarea"},
	}},
	{"splunk", "Splunk HTTP Event Collector", []settingField{
		{Name: "url", Label: "HEC URL", Type: "url", Required: true, Hint: "The collector's base URL, e.g. https://splunk.example.com:8088."},
		{Name: "token", Label: "HEC token", Type: "password", Required: true},
		{Name: "index", Label: "Index", Type: "text"},
		{Name: "source", Label: "Source", Type: "text"},
		{Name: "sourcetype", Label: "Source type", Type: "text"},
		{Name: "host", Label: "Host", Type: "text"},
	}},
	{"datadog", "Datadog Logs", []settingField{
		{Name: "site", Label: "Site", Type: "text", Hint: "datadoghq.com, datadoghq.eu, us3.datadoghq.com, …; or give a URL instead."},
		{Name: "url", Label: "Intake URL", Type: "url", Hint: "Instead of a site: the intake's base URL (a proxy)."},
		{Name: "api_key", Label: "API key", Type: "password", Required: true},
		{Name: "service", Label: "Service", Type: "text"},
		{Name: "source", Label: "Source", Type: "text"},
		{Name: "tags", Label: "Tags", Type: "text", Hint: "Comma-separated key:value tags."},
		{Name: "hostname", Label: "Hostname", Type: "text"},
		{Name: "gzip", Label: "Compression", Type: "select", Options: [][2]string{
			{"", "gzip (default)"}, {"false", "none"},
		}},
	}},
}

// booleanSettings are the settings sent as JSON true/false.
var booleanSettings = map[string]bool{"syslog.tls": true, "s3.path_style": true, "datadog.gzip": true}

// streamsPath is the Streaming page's path for org.
func streamsPath(org string) string { return pagePath(org) + "/streams" }

// streamManager returns the Manager, or a 503 page when this server runs
// without streaming.
func (h *Handler) streamManager() (*stream.Manager, error) {
	if h.streams == nil {
		return nil, pageError{status: http.StatusServiceUnavailable, page: messagePage{
			Heading: "Streaming is not available",
			Body:    "This Trail server does not run stream delivery.",
			Hint:    "Tell your platform's operators.",
		}}
	}
	return h.streams, nil
}

// streamSession returns the request's session, if it serves the org in
// the path, and the Manager.
func (h *Handler) streamSession(r *http.Request) (signedIn, *stream.Manager, error) {
	si, err := h.sessionFor(r)
	if err != nil {
		return si, nil, err
	}
	m, err := h.streamManager()
	return si, m, err
}

// streamForm is streamSession for a form of at most limit bytes, which
// must carry the session's CSRF token.
func (h *Handler) streamForm(r *http.Request, limit int64) (signedIn, *stream.Manager, error) {
	si, m, err := h.streamSession(r)
	if err != nil {
		return si, m, err
	}
	return si, m, h.checkFormLimit(r, si, limit)
}

// newStreamsPage starts a Streaming page for the request's session.
func (h *Handler) newStreamsPage(r *http.Request, si signedIn, title string) *streamsPage {
	org := si.sess.Org
	p := &streamsPage{layout: h.signedInLayout(title+" · "+org, si), Base: streamsPath(org), LogPath: pagePath(org), loc: h.viewerZone(r)}
	p.TimeZone = p.loc.String()
	p.Crumb = "Streaming"
	return p
}

// streamsList serves GET …/streams: the destinations and the add form.
func (h *Handler) streamsList(w http.ResponseWriter, r *http.Request) error {
	si, _, err := h.streamSession(r)
	if err != nil {
		return err
	}
	p := h.newStreamsPage(r, si, "Streaming")
	p.Add = h.addForm(nil, "", "")
	p.Notice = h.doneNotice(r, si.sess.Org)
	return h.renderStreams(w, r, http.StatusOK, si, p)
}

// renderStreams lists the org's destinations into p and renders it.
func (h *Handler) renderStreams(w http.ResponseWriter, r *http.Request, status int, si signedIn, p *streamsPage) error {
	list, err := h.streams.List(r.Context(), si.sess.Org)
	if err != nil {
		return err
	}
	now := h.now()
	p.Streams = p.Streams[:0]
	for _, v := range list {
		p.Streams = append(p.Streams, h.streamView(si.sess.Org, v, now, p.loc))
	}
	h.render(w, r, status, "streams", p)
	return nil
}

func (h *Handler) streamView(org string, v stream.View, now time.Time, loc *time.Location) streamView {
	sv := streamView{View: v, Path: streamsPath(org) + "/" + url.PathEscape(v.ID)}
	if v.LastSuccessAt != nil {
		sv.LastSuccess = newTimeView(*v.LastSuccessAt, now, loc)
	}
	if v.LastErrorAt != nil {
		sv.LastErrorAt = newTimeView(*v.LastErrorAt, now, loc)
	}
	sv.Created = newTimeView(v.CreatedAt, now, loc)
	for _, k := range []string{"url", "address", "endpoint", "bucket", "site", "subject"} {
		if s, ok := v.Settings[k].(string); ok && s != "" {
			sv.Destination = s
			if k == "bucket" {
				if pre, _ := v.Settings["prefix"].(string); pre != "" {
					sv.Destination += "/" + pre
				}
			}
			break
		}
	}
	return sv
}

// doneNotice is the notice of a redirect after an action (?done=…), the
// text fixed by the page and the name read from the store.
func (h *Handler) doneNotice(r *http.Request, org string) string {
	q := r.URL.Query()
	done := q.Get("done")
	if done == "deleted" {
		return "The destination was deleted: nothing more is sent to it."
	}
	id := q.Get("stream")
	if done == "" || id == "" {
		return ""
	}
	v, err := h.streams.Get(r.Context(), org, id)
	if err != nil {
		return ""
	}
	switch done {
	case "paused":
		return fmt.Sprintf("Delivery to “%s” is paused; its cursor holds at seq %d.", v.Name, v.DeliveredSeq)
	case "resumed":
		return fmt.Sprintf("Delivery to “%s” resumed after seq %d.", v.Name, v.DeliveredSeq)
	case "replayed":
		return fmt.Sprintf("“%s” replays: its cursor moved back, and delivery starts again from there.", v.Name)
	}
	return ""
}

// addForm returns the add form, filled from a request's form (nil: a
// blank form) with the error about field, if any.
func (h *Handler) addForm(form url.Values, errField, errMsg string) addForm {
	a := addForm{Kind: "webhook", Error: errMsg}
	if form != nil {
		a.Name, a.Kind, a.Format, a.Filter = form.Get("name"), form.Get("kind"), form.Get("format"), form.Get("filter")
	}
	switch errField {
	case "":
	case "name", "kind", "format", "filter":
		a.ErrorField = "stream-" + errField
	default:
		a.ErrorField = "s-" + a.Kind + "-" + errField
	}
	if errMsg != "" && a.ErrorField == "" {
		a.ErrorField = "stream-name"
	}
	for _, kf := range kindForms {
		k, ok := stream.LookupKind(kf.Kind)
		if !ok {
			continue
		}
		for _, f := range availableFormats(k) {
			if !slices.Contains(a.Formats, f) {
				a.Formats = append(a.Formats, f)
			}
		}
		o := kindOption{Kind: kf.Kind, Title: kf.Title, Formats: strings.Join(availableFormats(k), ", "), Selected: kf.Kind == a.Kind}
		for _, f := range kf.Fields {
			fv := fieldView{settingField: f, ID: "s-" + kf.Kind + "-" + f.Name, FormName: kf.Kind + "." + f.Name}
			if form != nil && f.Type != "password" { // a secret is never sent back
				fv.Value = form.Get(fv.FormName)
				fv.Checked = fv.Value == "true"
			}
			fv.Invalid = fv.ID == a.ErrorField
			for _, opt := range f.Options {
				fv.Opts = append(fv.Opts, optionView{Value: opt[0], Label: opt[1], Selected: opt[0] == fv.Value})
			}
			o.Fields = append(o.Fields, fv)
		}
		a.Kinds = append(a.Kinds, o)
	}
	if errField != "" && !slices.ContainsFunc(a.Kinds, func(o kindOption) bool { return o.Selected }) {
		a.ErrorField = "stream-kind"
	}
	return a
}

// createBody turns the add form into the API's creation request: name,
// kind, format, filter and the chosen kind's settings. Empty settings are
// left out, so the kind's defaults apply.
func createBody(form url.Values) ([]byte, error) {
	kind := form.Get("kind")
	body := map[string]any{"name": form.Get("name"), "kind": kind, "filter": strings.TrimSpace(form.Get("filter"))}
	if f := form.Get("format"); f != "" {
		body["format"] = f
	}
	for _, kf := range kindForms {
		if kf.Kind != kind {
			continue
		}
		for _, f := range kf.Fields {
			key := kind + "." + f.Name
			v := form.Get(key)
			if f.Type != "textarea" && f.Type != "password" {
				v = strings.TrimSpace(v)
			}
			switch {
			case v == "":
			case booleanSettings[key]:
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, audit.Errorf(audit.CodeUnprocessable, "%s: expected true or false", f.Name)
				}
				body[f.Name] = b
			default:
				body[f.Name] = v
			}
		}
	}
	return json.Marshal(body)
}

// streamCreate serves POST …/streams: it adds a destination and shows
// its secret or public key once; bad input shows the form again, with
// the error at its field, and stores nothing.
func (h *Handler) streamCreate(w http.ResponseWriter, r *http.Request) error {
	si, m, err := h.streamForm(r, maxStreamForm)
	if err != nil {
		return err
	}
	body, err := createBody(r.PostForm)
	var v stream.View
	var reveal map[string]any
	if err == nil {
		v, reveal, err = m.Create(r.Context(), si.sess.Org, si.sess.User, body)
	}
	if status, msg, field, ok := formFailure(err); ok {
		p := h.newStreamsPage(r, si, "Streaming")
		p.Add = h.addForm(r.PostForm, field, msg)
		return h.renderStreams(w, r, status, si, p)
	}
	if err != nil {
		return err
	}
	p := h.newStreamsPage(r, si, "Streaming")
	p.Add = h.addForm(nil, "", "")
	p.Notice = fmt.Sprintf("Added “%s”. Delivery starts with the org's first event.", v.Name)
	switch {
	case reveal["secret"] != nil:
		p.Reveal = &revealView{Name: v.Name, Label: "Signing secret", Value: fmt.Sprint(reveal["secret"]),
			Hint: "The receiver verifies each delivery's webhook-signature header with it (Standard Webhooks, HMAC-SHA256)."}
	case reveal["public_key"] != nil:
		p.Reveal = &revealView{Name: v.Name, Label: "Public key", Value: fmt.Sprint(reveal["public_key"]),
			Hint: "The receiver verifies each delivery's webhook-signature header (v1a, Ed25519) with it."}
	}
	return h.renderStreams(w, r, http.StatusOK, si, p)
}

// formFailure says whether err is bad input to show on the form: its
// status, message and the field it names ("" when none).
func formFailure(err error) (status int, msg, field string, ok bool) {
	var ae *audit.Error
	if !errors.As(err, &ae) {
		return 0, "", "", false
	}
	switch ae.Code {
	case audit.CodeInvalid, audit.CodeTooLarge:
		status = http.StatusBadRequest
	case audit.CodeUnprocessable:
		status = http.StatusUnprocessableEntity
	case audit.CodeConflict:
		status, field = http.StatusConflict, "name"
	default:
		return 0, "", "", false
	}
	msg = ae.Message
	if f, _, found := strings.Cut(msg, ": "); found && !strings.ContainsAny(f, " \"") {
		field = f
	}
	return status, msg, field, true
}

// streamAction is one of the row buttons: it runs act on the
// destination in the path and redirects back with done, or shows the
// page again with what went wrong.
func (h *Handler) streamAction(done string, act func(m *stream.Manager, r *http.Request, si signedIn, id string) (stream.View, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		si, m, err := h.streamForm(r, maxActionForm)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		if _, err := act(m, r, si, id); err != nil {
			status, msg, _, ok := formFailure(err)
			if !ok {
				return err
			}
			p := h.newStreamsPage(r, si, "Streaming")
			p.Add = h.addForm(nil, "", "")
			if done == "replayed" {
				p.Replay = replayState{ID: id, Value: r.PostForm.Get("from"), Error: msg}
			} else {
				p.Alert = msg
			}
			return h.renderStreams(w, r, status, si, p)
		}
		http.Redirect(w, r, streamsPath(si.sess.Org)+"?"+url.Values{"done": {done}, "stream": {id}}.Encode(), http.StatusSeeOther)
		return nil
	}
}

func (h *Handler) streamPause(m *stream.Manager, r *http.Request, si signedIn, id string) (stream.View, error) {
	return m.Pause(r.Context(), si.sess.Org, id, si.sess.User)
}

func (h *Handler) streamResume(m *stream.Manager, r *http.Request, si signedIn, id string) (stream.View, error) {
	return m.Resume(r.Context(), si.sess.Org, id, si.sess.User)
}

func (h *Handler) streamReplay(m *stream.Manager, r *http.Request, si signedIn, id string) (stream.View, error) {
	from, err := parseReplayFrom(r.PostForm.Get("from"), h.viewerZone(r))
	if err != nil {
		return stream.View{}, err
	}
	return m.Replay(r.Context(), si.sess.Org, id, si.sess.User, from)
}

// replayLayouts are the times the replay field takes, without an offset
// (read in the viewer's zone); RFC 3339 is tried first.
var replayLayouts = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", time.DateOnly}

// parseReplayFrom reads the replay field: a seq, or a time.
func parseReplayFrom(s string, loc *time.Location) (stream.ReplayFrom, error) {
	s = strings.TrimSpace(s)
	bad := audit.Errorf(audit.CodeUnprocessable,
		"from: expected a seq (a whole number, 0 for the whole log) or a time such as 2026-12-01, 2026-12-01 09:30 or 2026-12-01T09:30:00Z")
	if s == "" || len(s) > maxReplayFrom {
		return stream.ReplayFrom{}, bad
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return stream.ReplayFrom{}, bad
		}
		return stream.ReplayFrom{FromSeq: &n}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return stream.ReplayFrom{FromTime: &t}, nil
	}
	for _, layout := range replayLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return stream.ReplayFrom{FromTime: &t}, nil
		}
	}
	return stream.ReplayFrom{}, bad
}

// streamTest serves POST …/streams/{id}/test: one test delivery, its
// outcome shown on the page.
func (h *Handler) streamTest(w http.ResponseWriter, r *http.Request) error {
	si, m, err := h.streamForm(r, maxActionForm)
	if err != nil {
		return err
	}
	org, id := si.sess.Org, r.PathValue("id")
	v, err := m.Get(r.Context(), org, id)
	if err != nil {
		return err
	}
	res, err := m.Test(r.Context(), org, id, si.sess.User)
	if err != nil {
		return err
	}
	p := h.newStreamsPage(r, si, "Streaming")
	p.Add = h.addForm(nil, "", "")
	if res.OK {
		p.Notice = fmt.Sprintf("Test delivery to “%s” succeeded in %d ms.", v.Name, res.TookMS)
	} else {
		p.Alert = fmt.Sprintf("Test delivery to “%s” failed after %d ms: %s", v.Name, res.TookMS, res.Error)
	}
	return h.renderStreams(w, r, http.StatusOK, si, p)
}

// streamDeleteConfirm serves GET …/streams/{id}/delete: the confirmation.
func (h *Handler) streamDeleteConfirm(w http.ResponseWriter, r *http.Request) error {
	si, m, err := h.streamSession(r)
	if err != nil {
		return err
	}
	v, err := m.Get(r.Context(), si.sess.Org, r.PathValue("id"))
	if err != nil {
		return err
	}
	p := h.newStreamsPage(r, si, "Delete "+v.Name)
	sv := h.streamView(si.sess.Org, v, h.now(), p.loc)
	p.Delete = &sv
	h.render(w, r, http.StatusOK, "streamdelete", p)
	return nil
}

// streamDelete serves POST …/streams/{id}/delete.
func (h *Handler) streamDelete(w http.ResponseWriter, r *http.Request) error {
	si, m, err := h.streamForm(r, maxActionForm)
	if err != nil {
		return err
	}
	if err := m.Delete(r.Context(), si.sess.Org, r.PathValue("id"), si.sess.User); err != nil {
		return err
	}
	http.Redirect(w, r, streamsPath(si.sess.Org)+"?done=deleted", http.StatusSeeOther)
	return nil
}

// availableFormats returns the formats of k that this Trail has.
func availableFormats(k stream.Kind) []string {
	var out []string
	for _, f := range k.Formats() {
		if _, ok := stream.LookupFormat(f); ok {
			out = append(out, f)
		}
	}
	return out
}
