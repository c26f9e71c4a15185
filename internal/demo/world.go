// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"time"
)

// member is a person of the demo org. The table below holds the fixed
// facts; the generator fills in when the member joined and left, their
// home addresses and their trips.
type member struct {
	id, name string
	role     string // read, contributor, write or admin
	country  string // ISO code of home
	tz       int    // minutes east of UTC (no DST: close enough for a demo)
	shift    int    // hours the member's working day is shifted (night owls)
	office   *office
	weight   float64 // relative activity
	browser  string  // the member's usual browser
	lib      string  // the member's huggingface_hub user agent
	business bool    // runs the business side: billing, not settings or repositories

	founder bool      // joins on the first day
	joined  time.Time // set by the founding and joining stories
	left    time.Time // zero while a member
	home4   netip.Addr
	home6   netip.Addr // invalid when the home ISP has no IPv6
	trips   []trip
}

// active reports whether m is a member at t.
func (m *member) active(t time.Time) bool {
	return !m.joined.IsZero() && !t.Before(m.joined) && (m.left.IsZero() || t.Before(m.left))
}

// ref is m as an actor or a user target.
func (m *member) ref() ref { return ref{Type: "user", ID: m.id, Name: m.name} }

// email is m's work address.
func (m *member) email() string { return m.name + "@acme.ai" }

// trip is a stretch of days a member works from another country.
type trip struct {
	from, to time.Time
	country  string
	addr     netip.Addr
}

// office is one of Acme's offices, whose members share its addresses.
type office struct {
	name  string
	addrs []netip.Addr
}

var (
	paris  = &office{"Paris", addrs("2.125.160.17", "2.125.160.18", "2a01:e0a:1b2:3c40::1f")}
	london = &office{"London", addrs("81.2.69.142", "81.2.69.160")}
	berlin = &office{"Berlin", addrs("2a02:26f0:93:e00::2c", "2a02:26f0:93:e00::71", "91.64.12.9")}
)

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

// The people of Acme AI. The first one is the org's founder and admin.
func newMembers() []*member {
	return []*member{
		{id: "u_7f3a9c2e41b8d605", name: "alice", role: "admin", country: "FR", tz: 60, office: paris, weight: 1.2, browser: uaChromeMac, lib: uaHub26, founder: true},
		{id: "u_2c81e0f5b7a94d13", name: "jonas", role: "admin", country: "DE", tz: 60, office: berlin, weight: 1.0, browser: uaFirefoxLinux, lib: uaHub26, founder: true},
		{id: "u_91d4b6a0e3c7f258", name: "olivia", role: "admin", country: "US", tz: -300, weight: 0.6, browser: uaSafariMac, lib: uaHub25, founder: true, business: true},
		{id: "u_4be7035fa1d92c6e", name: "bob", role: "write", country: "DE", tz: 60, office: berlin, weight: 1.0, browser: uaChromeLinux, lib: uaHub26T, founder: true},
		{id: "u_c05a8f2d94e1b736", name: "chen.wei", role: "write", country: "US", tz: -480, shift: 1, weight: 1.3, browser: uaChromeMac, lib: uaHub26T, founder: true},
		{id: "u_6e2d91c4a8b0f57a", name: "fatima", role: "contributor", country: "FR", tz: 60, office: paris, weight: 1.0, browser: uaFirefoxWin, lib: uaHub26},
		{id: "u_a3f6c2e90d4b1875", name: "priya", role: "write", country: "IN", tz: 330, shift: 1, weight: 1.2, browser: uaEdgeWin, lib: uaHub26T},
		{id: "u_58b1d7e3f0a6c942", name: "kenji", role: "contributor", country: "JP", tz: 540, weight: 0.8, browser: uaSafariMac, lib: uaHub25},
		{id: "u_e47c0b9a2f5d1386", name: "lucas", role: "write", country: "BR", tz: -180, shift: 2, weight: 1.0, browser: uaChromeWin, lib: uaHub26T},
		{id: "u_0d9f5a71c3e8b24b", name: "emma", role: "read", country: "GB", tz: 0, office: london, weight: 0.6, browser: uaChromeMac, lib: uaHub26},
		{id: "u_b2e84c6f19a0d57c", name: "noah", role: "contributor", country: "US", tz: -300, shift: -1, weight: 0.8, browser: uaFirefoxLinux, lib: uaHub26T},
		{id: "u_7a1c3e5b8d0f2946", name: "yuki", role: "read", country: "JP", tz: 540, weight: 0.4, browser: uaSafariIOS, lib: uaHub25},
		// Members who join during the history, each through another path.
		{id: "u_3f0b6d8a2c4e9175", name: "tom.h", role: "contributor", country: "GB", tz: 0, office: london, weight: 0.9, browser: uaFirefoxWin, lib: uaHub26},
		{id: "u_d6a2f8c0e4b71953", name: "lena", role: "read", country: "DE", tz: 60, office: berlin, weight: 0.7, browser: uaChromeWin, lib: uaHub26},
		{id: "u_8c4e2a6f0b9d3571", name: "ines", role: "read", country: "FR", tz: 60, office: paris, weight: 0.6, browser: uaSafariMac, lib: uaHub26},
		{id: "u_1b9d7f3a5c2e8064", name: "mei", role: "read", country: "JP", tz: 540, weight: 0.5, browser: uaChromeMac, lib: uaHub26T},
	}
}

// token is an access token; the CI tokens also act on their own.
type token struct {
	id, name string
	owner    string // member name
	ci       bool
}

func (t *token) ref() ref { return ref{Type: "token", ID: t.id, Name: t.name} }

var tokens = []*token{
	{id: "tok_9c1e4a7f2b8d", name: "ci-github-actions", owner: "bob", ci: true},
	{id: "tok_3d8b0f6a1e5c", name: "nightly-eval-bot", owner: "chen.wei", ci: true},
	{id: "tok_5a2f9e1c7b3d", name: "inference-prod", owner: "chen.wei"},
	{id: "tok_e6c3a9d0f4b2", name: "priya-notebook", owner: "priya"},
	{id: "tok_1f7b4d2e8a6c", name: "alice-laptop", owner: "alice"},
	{id: "tok_b8e2c5f1a9d7", name: "lucas-colab", owner: "lucas"},
}

// repo is a model, dataset or Space of the org.
type repo struct {
	name  string    // acme/…
	kind  string    // model, dataset or space
	owner string    // who created it
	group string    // resource group, "" for none
	made  time.Time // set when the founding story creates it
}

func (r *repo) ref() ref {
	typ := "repo"
	if r.kind == "space" {
		typ = "space"
	}
	return ref{Type: typ, ID: hexID(r.kind + "/" + r.name), Name: r.name}
}

func newRepos() []*repo {
	return []*repo{
		{name: "acme/llama-finetune", kind: "model", owner: "chen.wei", group: "research"},
		{name: "acme/whisper-eu", kind: "model", owner: "fatima", group: "eu-data"},
		{name: "acme/mistral-7b-support", kind: "model", owner: "priya", group: "production"},
		{name: "acme/bert-ner-legal", kind: "model", owner: "bob"},
		{name: "acme/sdxl-product-shots", kind: "model", owner: "lucas", group: "research"},
		{name: "acme/embeddings-multilingual", kind: "model", owner: "kenji"},
		{name: "acme/reranker-v2", kind: "model", owner: "noah", group: "production"},
		{name: "acme/support-tickets", kind: "dataset", owner: "priya", group: "production"},
		{name: "acme/eu-speech-corpus", kind: "dataset", owner: "fatima", group: "eu-data"},
		{name: "acme/legal-ner-annotations", kind: "dataset", owner: "bob"},
		{name: "acme/product-images", kind: "dataset", owner: "lucas"},
		{name: "acme/eval-harness-results", kind: "dataset", owner: "chen.wei", group: "research"},
		{name: "acme/demo-chat", kind: "space", owner: "alice", group: "production"},
		{name: "acme/whisper-playground", kind: "space", owner: "fatima"},
		{name: "acme/ner-explorer", kind: "space", owner: "bob"},
		{name: "acme/leaderboard-internal", kind: "space", owner: "chen.wei", group: "research"},
	}
}

// group is a resource group.
type group struct{ name, description string }

// groupPeople are the members of each resource group.
var groupPeople = map[string][]string{
	"research":   {"chen.wei", "lucas", "kenji", "noah"},
	"production": {"priya", "alice", "noah"},
	"eu-data":    {"fatima", "bob"},
}

func (g group) ref() ref { return ref{Type: "resource_group", ID: hexID("rg/" + g.name), Name: g.name} }

var groups = []group{
	{"research", "Experiments and training runs"},
	{"production", "Models and Spaces serving customers"},
	{"eu-data", "EU-resident data: speech corpus and models trained on it"},
}

// scheduled is a scheduled job.
type scheduled struct{ name, schedule, flavor, image string }

func (s scheduled) ref() ref {
	return ref{Type: "scheduled_job", ID: hexID("sj/" + s.name), Name: s.name}
}

var schedules = []scheduled{
	{"nightly-eval", "0 2 * * *", "a10g-large", "ghcr.io/acme-ai/eval-harness:2.4"},
	{"weekly-dataset-refresh", "0 4 * * 1", "cpu-upgrade", "python:3.11-slim"},
	{"space-warmup", "0 */6 * * *", "cpu-basic", "curlimages/curl:8.10.1"},
}

var collections = []ref{
	{Type: "collection", ID: "acme/eu-speech-models-6720ab14c3f9e8d201b7a5c4", Name: "EU speech models"},
	{Type: "collection", ID: "acme/support-assistant-66f1c0e3a9b4d7f2e5c8a1b0", Name: "Support assistant"},
	{Type: "collection", ID: "acme/paper-replications-673b5e91d0c2f4a8b6e3d7c9", Name: "Paper replications"},
}

// The org's identity and its billing objects.
var (
	orgID        = "o_5e2b9d7c1a3f4e60"
	domain       = ref{Type: "domain", ID: "acme.ai", Name: "acme.ai"}
	subscription = ref{Type: "subscription", ID: "sub_1PqR8sK2eZvKYlo2", Name: "Acme AI subscription"}
	awsAccount   = ref{Type: "marketplace", ID: "aws:481516234200", Name: "AWS Marketplace 481516234200"}
	gcpAccount   = ref{Type: "marketplace", ID: "gcp:01A2B3-C4D5E6-F7A8B9", Name: "Google Cloud Marketplace 01A2B3-C4D5E6-F7A8B9"}
)

// card is a payment method.
type card struct{ id, brand, last4 string }

func (c card) ref() ref {
	return ref{Type: "payment_method", ID: c.id, Name: c.brand + " ending in " + c.last4}
}

var (
	firstCard = card{"pm_1OxT4sK2eZvKYlo2", "visa", "4242"}
	newCard   = card{"pm_1QbN7tK2eZvKYlo2", "amex", "1005"}
)

// providerKey is an inference provider API key, by name.
type providerKey struct{ provider, name string }

func (k providerKey) ref() ref {
	return ref{Type: "provider_key", ID: hexID("pk/" + k.name), Name: k.name}
}

var providerKeys = []providerKey{{"together", "together-prod"}, {"fal-ai", "fal-images"}, {"sambanova", "sambanova-eval"}}

// Secret and variable names that Spaces and repositories use.
var (
	secretNames   = []string{"OPENAI_API_KEY", "WANDB_API_KEY", "HF_TOKEN", "DATABASE_URL", "S3_SECRET_ACCESS_KEY", "SLACK_WEBHOOK_URL", "SENTRY_DSN"}
	variableNames = []string{"MODEL_ID", "MAX_NEW_TOKENS", "GRADIO_THEME", "LOG_LEVEL", "CUDA_VISIBLE_DEVICES", "TEMPERATURE", "DATASET_REVISION"}
)

// hexID makes a stable 24-hex-digit id (the shape of Hub object ids) from
// a name.
func hexID(name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	a := h.Sum64()
	h.Write([]byte{0})
	b := h.Sum64()
	return fmt.Sprintf("%016x%08x", a, uint32(b))
}
