// SPDX-License-Identifier: Apache-2.0

package stream

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The cef format: one ArcSight Common Event Format (CEF:0) line per event,
//
//	CEF:0|Trail|Trail|VERSION|TYPE|DESCRIPTION|SEVERITY|EXTENSIONS
//
// with the extension keys of cefFields (docs/streaming-formats.md has the
// table). Header fields escape \ and |; extension values escape \, = and
// line breaks (\n, \r), per the CEF implementation standard. Keys whose
// value is empty are left out. Times are milliseconds since the epoch.

// CEF header constants.
const (
	cefVendor  = "Trail"
	cefProduct = "Trail"
	// cefMaxName is the most characters of the description the header's
	// Name field carries (the standard's limit is 512); msg has it whole.
	cefMaxName = 512
)

// cefSeverity maps a severity to CEF's 0–10 scale.
var cefSeverity = [...]int{sevInfo: 3, sevLow: 5, sevMedium: 7}

func init() { RegisterFormat("cef", formatCEF) }

func formatCEF(dst []byte, ev Event) ([]byte, error) {
	r, err := decodeRecord(ev)
	if err != nil {
		return dst, err
	}
	return appendCEF(dst, r), nil
}

// appendCEF appends the CEF line of r (without a line ending).
func appendCEF(dst []byte, r *storedRecord) []byte {
	dst = append(dst, "CEF:0|"...)
	for _, h := range []string{cefVendor, cefProduct, ProductVersion, r.Type, truncateRunes(r.Description, cefMaxName)} {
		dst = appendCEFHeader(dst, h)
		dst = append(dst, '|')
	}
	dst = strconv.AppendInt(dst, int64(cefSeverity[severityOf(r)]), 10)
	dst = append(dst, '|')
	first := true
	for _, kv := range cefFields(r) {
		if kv[1] == "" {
			continue
		}
		if !first {
			dst = append(dst, ' ')
		}
		first = false
		dst = append(dst, kv[0]...)
		dst = append(dst, '=')
		dst = appendCEFValue(dst, kv[1])
	}
	return dst
}

// cefFields returns the extension of r as key, value pairs in the order
// they are written.
func cefFields(r *storedRecord) [][2]string {
	kv := [][2]string{
		{"rt", strconv.FormatInt(r.received.UnixMilli(), 10)},
		{"end", strconv.FormatInt(r.occurred.UnixMilli(), 10)},
		{"externalId", r.ID},
		{"act", r.Type},
		{"cat", r.Category},
		{"suser", r.Actor.Name},
		{"suid", r.Actor.ID},
		{"cs2Label", "actorType"}, {"cs2", r.Actor.Type},
	}
	if u, ok := r.firstTarget("user"); ok {
		kv = append(kv, [2]string{"duser", u.Name}, [2]string{"duid", u.ID})
	}
	if c := r.Client; c != nil {
		if ip, err := netip.ParseAddr(c.IP); err == nil && ip.Is6() && !ip.Is4In6() {
			kv = append(kv, [2]string{"c6a2Label", "Source IPv6 Address"}, [2]string{"c6a2", c.IP})
		} else {
			kv = append(kv, [2]string{"src", c.IP})
		}
		kv = append(kv, [2]string{"requestClientApplication", c.UserAgent})
	}
	kv = append(kv,
		[2]string{"msg", r.Description},
		[2]string{"cs1Label", "org"}, [2]string{"cs1", r.Org},
		[2]string{"cn1Label", "seq"}, [2]string{"cn1", strconv.FormatInt(r.Seq, 10)},
		[2]string{"cs3Label", "targets"}, [2]string{"cs3", targetsJSON(r.Targets)},
		[2]string{"cs4Label", "metadata"}, [2]string{"cs4", string(r.Metadata)},
	)
	if loc := locationText(r.Location); loc != "" {
		kv = append(kv, [2]string{"cs5Label", "location"}, [2]string{"cs5", loc})
	}
	if r.RecordedBy != "" {
		kv = append(kv, [2]string{"cs6Label", "recordedBy"}, [2]string{"cs6", r.RecordedBy})
	}
	return kv
}

// targetsJSON is the targets as a JSON array ([] when there are none).
func targetsJSON(ts []recordRef) string {
	if ts == nil {
		ts = []recordRef{}
	}
	b, _ := json.Marshal(ts) // refs of strings always marshal
	return string(b)
}

// locationText is "City, Region, Country (CC)" with the known parts.
func locationText(l *recordLocation) string {
	if l == nil {
		return ""
	}
	var parts []string
	for _, p := range []string{l.City, l.Region, l.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	s := strings.Join(parts, ", ")
	if l.CountryCode != "" {
		if s != "" {
			s += " "
		}
		s += "(" + l.CountryCode + ")"
	}
	return s
}

// appendCEFHeader escapes a header field: \ and | get a backslash; line
// breaks, which a header may not hold, become spaces.
func appendCEFHeader(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '|':
			dst = append(dst, '\\', c)
		case '\n', '\r':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendCEFValue escapes an extension value: \ and = get a backslash, line
// breaks become \n and \r.
func appendCEFValue(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '=':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
