// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Viewer links and sessions let an org admin open the audit-log page
// without an API key: the platform, holding an admin key, asks Trail for a
// short-lived, single-use link for one user of one org; spending the link
// starts a browser session bound to that org alone.
//
// Only SHA-256 hashes of link tokens and session ids are stored, so a copy
// of the database opens nothing, and every replica sharing the store
// accepts them.

// ViewerLink is a stored link, without its token.
type ViewerLink struct {
	Org       string
	User      Actor // who the link is for: Type "user"
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero: not used yet
}

// Session is a signed-in viewer, without its id.
type Session struct {
	Org       string
	User      Actor
	CreatedAt time.Time
	ExpiresAt time.Time
	ViewedAt  time.Time // when a page view was last recorded; zero: never
}

// ViewerStore keeps viewer links and sessions, hashed. Every method is
// safe for concurrent use, across processes sharing the store.
type ViewerStore interface {
	// CreateViewerLink stores l under the hash of its token.
	CreateViewerLink(ctx context.Context, l ViewerLink, hash [sha256.Size]byte) error
	// ViewerLinkByHash returns the link, used or not, or ErrNotFound.
	ViewerLinkByHash(ctx context.Context, hash [sha256.Size]byte) (ViewerLink, error)
	// ConsumeViewerLink spends the link and starts its session, atomically:
	// if the link exists, is unused and expires after now, it is marked
	// used at now and a session for its org and user, expiring at expires,
	// is stored under session in the same transaction. Of two racing calls
	// for one link exactly one succeeds. It returns ErrNotFound for an
	// unknown link, ErrLinkUsed or ErrLinkExpired otherwise, and then
	// stores nothing.
	ConsumeViewerLink(ctx context.Context, hash, session [sha256.Size]byte, now, expires time.Time) (Session, error)
	// SessionByHash returns the session, expired or not, or ErrNotFound.
	SessionByHash(ctx context.Context, hash [sha256.Size]byte) (Session, error)
	// MarkSessionViewed sets the session's ViewedAt to now if it is zero
	// or at or before now-every, and reports whether it did. Of racing
	// calls at most one reports true per period.
	MarkSessionViewed(ctx context.Context, hash [sha256.Size]byte, now time.Time, every time.Duration) (bool, error)
	// DeleteSession ends one session; ending an absent one is no error.
	DeleteSession(ctx context.Context, hash [sha256.Size]byte) error
	// DeleteSessions ends every session of user userID in org and returns
	// how many there were.
	DeleteSessions(ctx context.Context, org, userID string) (int64, error)
	// PruneViewer deletes links and sessions that expired before t.
	PruneViewer(ctx context.Context, t time.Time) error
}

// Link failures, for the page that says why a link does not open.
var (
	ErrLinkUsed    = &Error{Code: CodeNotFound, Message: "this link has been used already; links work once"}
	ErrLinkExpired = &Error{Code: CodeNotFound, Message: "this link has expired"}
)

// Viewer defaults.
const (
	DefaultLinkTTL    = 10 * time.Minute
	DefaultSessionTTL = 8 * time.Hour
	// ViewEvery is how often a session's page views are recorded at most.
	ViewEvery = time.Hour
	// LinkPath is the path of a link, followed by its token.
	LinkPath = "/link/"
)

// ViewerConfig configures Viewers; the zero value of each field is its
// default.
type ViewerConfig struct {
	// PublicURL is the base URL people reach Trail at, such as
	// https://audit.example.com; links are built from it, never from a
	// request. Required to mint links.
	PublicURL  string
	LinkTTL    time.Duration    // default DefaultLinkTTL
	SessionTTL time.Duration    // default DefaultSessionTTL
	Now        func() time.Time // default time.Now
}

// Viewers mints viewer links and manages the sessions they start. It is
// safe for concurrent use.
type Viewers struct {
	store ViewerStore
	cfg   ViewerConfig
}

// NewViewers returns Viewers over store.
func NewViewers(store ViewerStore, cfg ViewerConfig) *Viewers {
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = DefaultLinkTTL
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Viewers{store: store, cfg: cfg}
}

// PublicURL returns the base URL links are built from, without a
// trailing slash.
func (v *Viewers) PublicURL() string { return v.cfg.PublicURL }

// Secure reports whether the public URL is https, so cookies must be
// Secure.
func (v *Viewers) Secure() bool { return strings.HasPrefix(v.cfg.PublicURL, "https://") }

// SessionTTL returns how long a session lasts.
func (v *Viewers) SessionTTL() time.Duration { return v.cfg.SessionTTL }

// Now returns the current time of the Viewers' clock.
func (v *Viewers) Now() time.Time { return v.cfg.Now() }

// Mint creates a link for user (Type is forced to "user") of org and
// returns its URL and expiry. Errors are *Error: CodeInvalid for a bad org
// or user.
func (v *Viewers) Mint(ctx context.Context, org string, user Actor) (url string, expires time.Time, err error) {
	if !ValidOrg(org) {
		return "", time.Time{}, Errorf(CodeInvalid, "org %q is not a valid org identifier: 1 to 96 of A-Z a-z 0-9 _ - .", org)
	}
	user.Type = "user"
	if err := checkViewerUser(user); err != nil {
		return "", time.Time{}, err
	}
	if user.Name == "" {
		user.Name = user.ID
	}
	now := v.cfg.Now().UTC().Truncate(time.Microsecond)
	token := newViewerSecret()
	l := ViewerLink{Org: org, User: user, CreatedAt: now, ExpiresAt: now.Add(v.cfg.LinkTTL)}
	if err := v.store.CreateViewerLink(ctx, l, HashSecret(token)); err != nil {
		return "", time.Time{}, err
	}
	// Expired links and sessions are of no use to anyone: prune now and
	// then, on the path that creates them. A failure only delays it.
	_ = v.store.PruneViewer(ctx, now.Add(-time.Hour))
	return v.cfg.PublicURL + LinkPath + token, l.ExpiresAt, nil
}

func checkViewerUser(u Actor) error {
	switch {
	case u.ID == "":
		return Errorf(CodeInvalid, "user.id is required: the platform's id of the admin who opens the page")
	case len(u.ID) > 256 || len(u.Name) > 256:
		return Errorf(CodeInvalid, "user.id and user.name must be at most 256 bytes")
	case strings.ContainsFunc(u.ID+u.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return Errorf(CodeInvalid, "user.id and user.name must not contain control characters")
	}
	return nil
}

// Peek returns the link of token without spending it, for a confirmation
// page: ErrNotFound, ErrLinkUsed or ErrLinkExpired when it cannot open.
func (v *Viewers) Peek(ctx context.Context, token string) (ViewerLink, error) {
	if !looksLikeViewerSecret(token) {
		return ViewerLink{}, ErrNotFound
	}
	l, err := v.store.ViewerLinkByHash(ctx, HashSecret(token))
	switch {
	case err != nil:
		return ViewerLink{}, err
	case !l.UsedAt.IsZero():
		return l, ErrLinkUsed
	case !v.cfg.Now().Before(l.ExpiresAt):
		return l, ErrLinkExpired
	}
	return l, nil
}

// Consume spends the link of token and starts a session; it returns the
// new session's id (the cookie value) and the session. Errors as Peek.
func (v *Viewers) Consume(ctx context.Context, token string) (id string, s Session, err error) {
	if !looksLikeViewerSecret(token) {
		return "", Session{}, ErrNotFound
	}
	now := v.cfg.Now().UTC().Truncate(time.Microsecond)
	id = newViewerSecret()
	s, err = v.store.ConsumeViewerLink(ctx, HashSecret(token), HashSecret(id), now, now.Add(v.cfg.SessionTTL))
	if err != nil {
		return "", Session{}, err
	}
	return id, s, nil
}

// Session returns the live session of id, or ErrNotFound for an unknown,
// ended or expired one.
func (v *Viewers) Session(ctx context.Context, id string) (Session, error) {
	if !looksLikeViewerSecret(id) {
		return Session{}, ErrNotFound
	}
	s, err := v.store.SessionByHash(ctx, HashSecret(id))
	if err != nil {
		return Session{}, err
	}
	if !v.cfg.Now().Before(s.ExpiresAt) {
		return Session{}, ErrNotFound
	}
	return s, nil
}

// ShouldRecordView reports whether a page view of session id is to be
// recorded now: at most once per ViewEvery per session, across replicas.
func (v *Viewers) ShouldRecordView(ctx context.Context, id string) (bool, error) {
	return v.store.MarkSessionViewed(ctx, HashSecret(id), v.cfg.Now().UTC().Truncate(time.Microsecond), ViewEvery)
}

// Logout ends session id.
func (v *Viewers) Logout(ctx context.Context, id string) error {
	return v.store.DeleteSession(ctx, HashSecret(id))
}

// EndSessions ends every session of user userID in org at once.
func (v *Viewers) EndSessions(ctx context.Context, org, userID string) (int64, error) {
	return v.store.DeleteSessions(ctx, org, userID)
}

// CSRFToken returns the anti-forgery token of session id, which forms
// carry in a hidden field. It is derived from the id (which only the
// browser's HttpOnly cookie holds), so nothing more is stored, and it
// differs from the stored hash.
func CSRFToken(id string) string {
	sum := sha256.Sum256([]byte("trail csrf\x00" + id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// CheckCSRFToken reports whether token is the CSRF token of session id,
// in constant time.
func CheckCSRFToken(id, token string) bool {
	want := CSRFToken(id)
	return len(token) == len(want) && subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
}

// viewerPrefix starts link tokens and session ids, so that scanners can
// recognise them and so that they are never mistaken for API keys.
const viewerPrefix = "tv_"

func newViewerSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("audit: reading random bytes: %v", err))
	}
	return viewerPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// looksLikeViewerSecret bounds what is hashed and looked up.
func looksLikeViewerSecret(s string) bool {
	return strings.HasPrefix(s, viewerPrefix) && len(s) == len(viewerPrefix)+43
}
