// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"errors"
	"sync"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// viewerLink is a fresh link of org for user, created at t0, valid ten
// minutes; it is stored under the hash of token.
func (h *harness) viewerLink(org, userID, token string) audit.ViewerLink {
	h.t.Helper()
	l := audit.ViewerLink{
		Org: org, User: audit.Actor{Type: "user", ID: userID, Name: userID + " name"},
		CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute),
	}
	if err := h.s.CreateViewerLink(h.ctx, l, audit.HashSecret(token)); err != nil {
		h.t.Fatalf("CreateViewerLink: %v", err)
	}
	return l
}

// session spends the link of token at t0+1m and returns the session
// stored under the hash of id.
func (h *harness) session(token, id string) audit.Session {
	h.t.Helper()
	s, err := h.s.ConsumeViewerLink(h.ctx, audit.HashSecret(token), audit.HashSecret(id), t0.Add(time.Minute), t0.Add(8*time.Hour))
	if err != nil {
		h.t.Fatalf("ConsumeViewerLink(%s): %v", token, err)
	}
	return s
}

func (h *harness) sessionByHash(id string) (audit.Session, error) {
	return h.s.SessionByHash(h.ctx, audit.HashSecret(id))
}

var viewerTests = []test{
	{"LinkRoundTrip", func(h *harness) {
		want := h.viewerLink("acme", "u1", "tok")
		got, err := h.s.ViewerLinkByHash(h.ctx, audit.HashSecret("tok"))
		if err != nil {
			h.t.Fatalf("ViewerLinkByHash: %v", err)
		}
		if got.Org != want.Org || got.User != want.User || !got.CreatedAt.Equal(want.CreatedAt) ||
			!got.ExpiresAt.Equal(want.ExpiresAt) || !got.UsedAt.IsZero() {
			h.t.Errorf("ViewerLinkByHash = %+v, want %+v", got, want)
		}
		_, err = h.s.ViewerLinkByHash(h.ctx, audit.HashSecret("other"))
		wantNotFound(h.t, "ViewerLinkByHash(unknown)", err)
	}},
	{"ConsumeOnce", func(h *harness) {
		l := h.viewerLink("acme", "u1", "tok")
		s := h.session("tok", "sess")
		if s.Org != "acme" || s.User != l.User || !s.CreatedAt.Equal(t0.Add(time.Minute)) ||
			!s.ExpiresAt.Equal(t0.Add(8*time.Hour)) || !s.ViewedAt.IsZero() {
			h.t.Errorf("session = %+v, want acme's for %+v", s, l.User)
		}
		got, err := h.sessionByHash("sess")
		if err != nil || got != s {
			h.t.Errorf("SessionByHash = %+v, %v; want %+v", got, err, s)
		}
		if l, _ := h.s.ViewerLinkByHash(h.ctx, audit.HashSecret("tok")); !l.UsedAt.Equal(t0.Add(time.Minute)) {
			h.t.Errorf("UsedAt = %v, want the time it was spent", l.UsedAt)
		}
		_, err = h.s.ConsumeViewerLink(h.ctx, audit.HashSecret("tok"), audit.HashSecret("sess2"), t0.Add(2*time.Minute), t0.Add(8*time.Hour))
		if !errors.Is(err, audit.ErrLinkUsed) {
			h.t.Errorf("second ConsumeViewerLink: err = %v, want ErrLinkUsed", err)
		}
		_, err = h.sessionByHash("sess2")
		wantNotFound(h.t, "the session of a refused spend", err)
		_, err = h.s.ConsumeViewerLink(h.ctx, audit.HashSecret("nope"), audit.HashSecret("sess3"), t0, t0.Add(time.Hour))
		wantNotFound(h.t, "ConsumeViewerLink(unknown)", err)
	}},
	{"ConsumeExpired", func(h *harness) {
		h.viewerLink("acme", "u1", "tok")
		_, err := h.s.ConsumeViewerLink(h.ctx, audit.HashSecret("tok"), audit.HashSecret("sess"), t0.Add(10*time.Minute), t0.Add(time.Hour))
		if !errors.Is(err, audit.ErrLinkExpired) {
			h.t.Errorf("ConsumeViewerLink at expiry: err = %v, want ErrLinkExpired", err)
		}
		if l, _ := h.s.ViewerLinkByHash(h.ctx, audit.HashSecret("tok")); !l.UsedAt.IsZero() {
			h.t.Errorf("an expired link was marked used")
		}
		_, err = h.sessionByHash("sess")
		wantNotFound(h.t, "the session of an expired link", err)
	}},
	{"ConsumeRace", func(h *harness) {
		h.viewerLink("acme", "u1", "tok")
		const racers = 8
		var wg sync.WaitGroup
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				id := string(rune('a' + i))
				_, errs[i] = h.s.ConsumeViewerLink(h.ctx, audit.HashSecret("tok"), audit.HashSecret(id), t0.Add(time.Minute), t0.Add(time.Hour))
			})
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, audit.ErrLinkUsed):
				h.t.Errorf("racer %d: err = %v, want nil or ErrLinkUsed", i, err)
			}
		}
		if wins != 1 {
			h.t.Errorf("%d racers spent the link, want exactly 1", wins)
		}
	}},
	{"ViewedOncePerPeriod", func(h *harness) {
		h.viewerLink("acme", "u1", "tok")
		h.session("tok", "sess")
		hash := audit.HashSecret("sess")
		at := t0.Add(2 * time.Minute)
		steps := []struct {
			at   time.Time
			want bool
		}{
			{at, true},
			{at, false},
			{at.Add(59 * time.Minute), false},
			{at.Add(time.Hour), true},
			{at.Add(time.Hour + time.Second), false},
		}
		for i, st := range steps {
			got, err := h.s.MarkSessionViewed(h.ctx, hash, st.at, time.Hour)
			if err != nil || got != st.want {
				h.t.Errorf("step %d: MarkSessionViewed(%v) = %v, %v; want %v", i, st.at, got, err, st.want)
			}
		}
		if s, _ := h.sessionByHash("sess"); !s.ViewedAt.Equal(at.Add(time.Hour)) {
			h.t.Errorf("ViewedAt = %v, want %v", s.ViewedAt, at.Add(time.Hour))
		}
		if got, err := h.s.MarkSessionViewed(h.ctx, audit.HashSecret("none"), at, time.Hour); got || err != nil {
			h.t.Errorf("MarkSessionViewed(unknown) = %v, %v; want false, nil", got, err)
		}
	}},
	{"ViewedRace", func(h *harness) {
		h.viewerLink("acme", "u1", "tok")
		h.session("tok", "sess")
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Go(func() {
				ok, err := h.s.MarkSessionViewed(h.ctx, audit.HashSecret("sess"), t0.Add(5*time.Minute), time.Hour)
				if err != nil {
					h.t.Errorf("MarkSessionViewed: %v", err)
				}
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			h.t.Errorf("%d racers were told to record the view, want 1", wins)
		}
	}},
	{"EndSessions", func(h *harness) {
		for _, tok := range []string{"t1", "t2", "t3", "t4"} {
			user := "u1"
			org := "acme"
			switch tok {
			case "t3":
				user = "u2"
			case "t4":
				org = "beta"
			}
			h.viewerLink(org, user, tok)
			h.session(tok, "s-"+tok)
		}
		n, err := h.s.DeleteSessions(h.ctx, "acme", "u1")
		if err != nil || n != 2 {
			h.t.Errorf("DeleteSessions(acme, u1) = %d, %v; want 2", n, err)
		}
		for id, alive := range map[string]bool{"s-t1": false, "s-t2": false, "s-t3": true, "s-t4": true} {
			_, err := h.sessionByHash(id)
			if alive && err != nil {
				h.t.Errorf("session %s: %v; want it kept (another user or org)", id, err)
			}
			if !alive {
				wantNotFound(h.t, "session "+id+" after DeleteSessions", err)
			}
		}
		if err := h.s.DeleteSession(h.ctx, audit.HashSecret("s-t3")); err != nil {
			h.t.Fatalf("DeleteSession: %v", err)
		}
		_, err = h.sessionByHash("s-t3")
		wantNotFound(h.t, "session after DeleteSession", err)
		if err := h.s.DeleteSession(h.ctx, audit.HashSecret("s-t3")); err != nil {
			h.t.Errorf("DeleteSession of an ended session: %v, want nil", err)
		}
		if n, err := h.s.DeleteSessions(h.ctx, "acme", "nobody"); n != 0 || err != nil {
			h.t.Errorf("DeleteSessions(nobody) = %d, %v; want 0, nil", n, err)
		}
	}},
	{"Prune", func(h *harness) {
		h.viewerLink("acme", "u1", "old")
		h.session("old", "s-old")
		late := audit.ViewerLink{Org: "acme", User: audit.Actor{Type: "user", ID: "u1", Name: "u1"},
			CreatedAt: t0.Add(24 * time.Hour), ExpiresAt: t0.Add(25 * time.Hour)}
		if err := h.s.CreateViewerLink(h.ctx, late, audit.HashSecret("new")); err != nil {
			h.t.Fatal(err)
		}
		if err := h.s.PruneViewer(h.ctx, t0.Add(9*time.Hour)); err != nil {
			h.t.Fatalf("PruneViewer: %v", err)
		}
		_, err := h.s.ViewerLinkByHash(h.ctx, audit.HashSecret("old"))
		wantNotFound(h.t, "an expired link after PruneViewer", err)
		_, err = h.sessionByHash("s-old")
		wantNotFound(h.t, "an expired session after PruneViewer", err)
		if _, err := h.s.ViewerLinkByHash(h.ctx, audit.HashSecret("new")); err != nil {
			h.t.Errorf("a live link after PruneViewer: %v", err)
		}
	}},
}
