// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"time"

	"github.com/trailaudit/trail/internal/httpx"
)

// zoneCookie holds the viewer's IANA time zone, set by app.js from the
// browser's own (Intl.DateTimeFormat). It is not a secret and carries no
// session: without it (no JavaScript) times are shown in UTC.
const zoneCookie = "trail_tz"

// viewerZone returns the zone the viewer's times are shown in: the zone
// cookie's when it names a real zone, else UTC. Stored times stay UTC;
// filter dates and the chart's days are UTC days.
func (h *Handler) viewerZone(r *http.Request) *time.Location {
	c, err := r.Cookie(zoneCookie)
	if err != nil {
		return time.UTC
	}
	loc, err := httpx.LoadZone(c.Value)
	if err != nil {
		return time.UTC
	}
	return loc
}
