// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// The fast ingest path reads JSON with the small scanner below. It is
// strict in one direction only: whatever it accepts, encoding/json accepts
// and reads the same way; what it refuses (anything odd, not only invalid
// JSON) goes to the reference path, which has the final word and the
// error messages.

// maxFastDepth bounds the nesting the scanner follows; deeper values go
// to the reference path.
const maxFastDepth = 64

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipWS returns the index of the first non-whitespace byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// notPlain marks, in the high bit of each byte of x (8 bytes of a JSON
// string, little endian), the bytes that are not printable ASCII other
// than '"' and '\\' (0x20 to 0x7f): the bytes a JSON string holds as they
// are, which its scanner and its encoder skip 8 at a time. Each test is
// the classic "has a zero byte" one: a byte above a marked one may be
// marked wrongly, so the lowest mark is exact, and so is zero (none).
func notPlain(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	control := (x - 0x20*ones) &^ x & highs
	q := x ^ '"'*ones
	quote := (q - ones) &^ q & highs
	bs := x ^ '\\'*ones
	backslash := (bs - ones) &^ bs & highs
	return control | quote | backslash | x&highs
}

// skipPlain returns the index of the first byte at or after i of b that
// is not plain (see notPlain), or len(b).
func skipPlain(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := notPlain(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && b[i] >= 0x20 && b[i] < 0x80 && b[i] != '"' && b[i] != '\\' {
		i++
	}
	return i
}

// skipPlainString is skipPlain for a string.
func skipPlainString(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := notPlain(load64(s, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\' {
		i++
	}
	return i
}

// load64 is binary.LittleEndian.Uint64 of s[i:i+8].
func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// scanString reads the string starting at b[i] == '"'. It returns the
// index after the closing quote and whether the string has escapes; ok is
// false for a string the fast path leaves alone: unterminated, a raw
// control character, a bad escape or invalid UTF-8.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false, false
	}
	i++
	for i < len(b) {
		if i = skipPlain(b, i); i >= len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, true
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return 0, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if hex4(b[i+2:]) < 0 {
					return 0, false, false
				}
				i += 6
			default:
				return 0, false, false
			}
		case c < 0x20:
			return 0, false, false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, false
			}
			i += size
		}
	}
	return 0, false, false
}

// unescape appends the value of the string token tok (with its quotes,
// as scanned by scanString) to dst. lone is set when a \u escape is half of
// a surrogate pair, which encoding/json would turn into U+FFFD.
func unescape(dst, tok []byte) (out []byte, lone bool) {
	s := tok[1 : len(tok)-1]
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		switch e := s[i+1]; e {
		case 'u':
			r := hex4(s[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				if r < 0xdc00 && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if lo := hex4(s[i+2:]); lo >= 0xdc00 && lo <= 0xdfff {
						dst = utf8.AppendRune(dst, utf16.DecodeRune(r, lo))
						i += 6
						continue
					}
				}
				lone = true
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, unescapeByte[e])
			i += 2
		}
	}
	return dst, lone
}

var unescapeByte = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// scanNumber reads the JSON number starting at b[i]; ok is false when it
// is not one (by RFC 8259's grammar).
func scanNumber(b []byte, i int) (end int, ok bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// scanLiteral reads lit (true, false, null) at b[i].
func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// skipValue reads the value starting at b[i] (no leading whitespace) and
// returns the index after it.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case c == '{' || c == '[':
		if depth >= maxFastDepth {
			return 0, false
		}
		return skipContainer(b, i, depth+1)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	default:
		return scanNumber(b, i)
	}
}

// skipContainer reads the object or array starting at b[i].
func skipContainer(b []byte, i, depth int) (int, bool) {
	object := b[i] == '{'
	closer := byte(']')
	if object {
		closer = '}'
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, true
	}
	for {
		var ok bool
		if object {
			if i >= len(b) || b[i] != '"' {
				return 0, false
			}
			if i, _, ok = scanString(b, i); !ok {
				return 0, false
			}
			if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
				return 0, false
			}
			i = skipWS(b, i+1)
		}
		if i, ok = skipValue(b, i, depth); !ok {
			return 0, false
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case closer:
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// The known scanners read JSON that skipValue accepted already (an
// event's fields, once split has read the event): they find where a value
// ends without checking it again. On anything else their result is
// undefined (but they stay within b).

// quoteOrBackslash marks the '"' and '\\' bytes of x as notPlain does.
func quoteOrBackslash(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := x ^ '"'*ones
	bs := x ^ '\\'*ones
	return ((q-ones)&^q | (bs-ones)&^bs) & highs
}

// knownString is scanString for a string skipValue accepted.
func knownString(b []byte, i int) (end int, escaped bool) {
	j := i + 1
	for {
		for ; j+8 <= len(b); j += 8 {
			if m := quoteOrBackslash(binary.LittleEndian.Uint64(b[j:])); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' {
			j++
		}
		if j >= len(b) {
			return len(b), escaped
		}
		if b[j] == '"' {
			return j + 1, escaped
		}
		escaped = true
		j += 2 // past the escaped byte; \uXXXX's digits are neither
	}
}

// knownValue is skipValue for a value skipValue accepted.
func knownValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := knownString(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); {
			switch b[j] {
			case '"':
				j, _ = knownString(b, j)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
			j++
		}
		return len(b)
	}
	j := i // a number or a literal
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && !isWS(b[j]) {
		j++
	}
	return j
}
