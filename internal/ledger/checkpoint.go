// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, its
// size and its root hash.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   Hash
}

// Origin is the checkpoint origin of an org's log: "<host>/orgs/<org>".
func Origin(host, org string) string { return host + "/orgs/" + org }

// Text is the checkpoint body: three lines, each ending in a newline.
func (c Checkpoint) Text() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + EncodeHash(c.Root) + "\n"
}

// ParseCheckpoint parses a checkpoint body (a note's text). Extension lines
// after the third are allowed and ignored, as C2SP says.
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return Checkpoint{}, errors.New("ledger: a checkpoint has an origin, a size and a root hash line")
	}
	origin, sizeText, rootText := lines[0], lines[1], lines[2]
	if origin == "" || strings.ContainsAny(origin, " +\t") {
		return Checkpoint{}, fmt.Errorf("ledger: checkpoint origin %q is empty or has a space or +", truncate(origin, 100))
	}
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sizeText {
		return Checkpoint{}, fmt.Errorf("ledger: checkpoint size %q is not a decimal number", truncate(sizeText, 40))
	}
	root, err := DecodeHash(rootText)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("ledger: checkpoint root: %w", err)
	}
	return Checkpoint{Origin: origin, Size: size, Root: root}, nil
}

// Signer signs checkpoints with an Ed25519 note key.
type Signer struct {
	signer note.Signer
	vkey   string
}

// GenerateKey returns a new Ed25519 note signer key and its verifier key.
// name is the key's name (Trail uses the origin host).
func GenerateKey(name string) (skey, vkey string, err error) {
	return note.GenerateKey(rand.Reader, name)
}

// NewSigner parses a note signer key ("PRIVATE+KEY+name+hash+…").
func NewSigner(skey string) (*Signer, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("ledger: the signing key is not a note signer key (PRIVATE+KEY+name+hash+key): %w", err)
	}
	// The verifier key is the public half: decode the Ed25519 seed.
	parts := strings.SplitN(skey, "+", 5) // PRIVATE+KEY+name+hash+key; the key's base64 may hold '+'
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, errors.New("ledger: the signing key is not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, err
	}
	return &Signer{signer: s, vkey: vkey}, nil
}

// Name is the key's name.
func (s *Signer) Name() string { return s.signer.Name() }

// VerifierKey is the note verifier key string of the signer.
func (s *Signer) VerifierKey() string { return s.vkey }

// Sign returns the signed note of c.
func (s *Signer) Sign(c Checkpoint) (string, error) {
	b, err := note.Sign(&note.Note{Text: c.Text()}, s.signer)
	if err != nil {
		return "", fmt.Errorf("ledger: signing checkpoint: %w", err)
	}
	return string(b), nil
}

// Verifiers parses a set of trusted verifier keys.
func Verifiers(vkeys ...string) (note.Verifiers, error) {
	vs := make([]note.Verifier, 0, len(vkeys))
	for _, k := range vkeys {
		v, err := note.NewVerifier(strings.TrimSpace(k))
		if err != nil {
			return nil, fmt.Errorf("ledger: %q is not a note verifier key (name+hash+key): %w", truncate(k, 80), err)
		}
		vs = append(vs, v)
	}
	return note.VerifierList(vs...), nil
}

// OpenCheckpoint verifies a signed checkpoint with the trusted verifiers
// and parses it. Errors: *note.UnverifiedNoteError (signed by no trusted
// key), *note.InvalidSignatureError (a trusted key's signature is bad), or
// a malformed note or checkpoint.
func OpenCheckpoint(signed string, known note.Verifiers) (Checkpoint, *note.Note, error) {
	n, err := note.Open([]byte(signed), known)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	c, err := ParseCheckpoint(n.Text)
	return c, n, err
}

// Fingerprint identifies a verifier key for people comparing keys:
// "SHA256:" and the unpadded base64 SHA-256 of the key string.
func Fingerprint(vkey string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(vkey)))
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// SplitNote returns a signed note's text and its signature lines.
func SplitNote(signed string) (text, sigs string, ok bool) {
	i := strings.LastIndex(signed, "\n\n")
	if i < 0 {
		return "", "", false
	}
	return signed[:i+1], signed[i+2:], true
}

// ProofText is a C2SP tlog-proof: the inclusion proof of leaf index in
// the signed checkpoint (c2sp.org/tlog-proof@v1).
func ProofText(index int64, proof []Hash, signedCheckpoint string) string {
	var b bytes.Buffer
	b.WriteString("c2sp.org/tlog-proof@v1\nindex ")
	b.WriteString(strconv.FormatInt(index, 10))
	b.WriteByte('\n')
	for _, h := range proof {
		b.WriteString(EncodeHash(h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(signedCheckpoint)
	return b.String()
}

// ParseProofText parses a C2SP tlog-proof into its index, hashes and signed
// checkpoint (not yet verified). Extra data lines are ignored.
func ParseProofText(text string) (index int64, proof []Hash, signedCheckpoint string, err error) {
	head, cp, ok := strings.Cut(text, "\n\n")
	lines := strings.Split(head, "\n")
	if !ok || len(lines) < 2 || lines[0] != "c2sp.org/tlog-proof@v1" {
		return 0, nil, "", errors.New("ledger: not a c2sp.org/tlog-proof@v1")
	}
	lines = lines[1:]
	if strings.HasPrefix(lines[0], "extra ") {
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return 0, nil, "", errors.New("ledger: tlog-proof has no index line")
	}
	index, err = strconv.ParseInt(strings.TrimPrefix(lines[0], "index "), 10, 64)
	if err != nil || index < 0 {
		return 0, nil, "", errors.New("ledger: tlog-proof index is not a number")
	}
	for _, l := range lines[1:] {
		h, err := DecodeHash(l)
		if err != nil {
			return 0, nil, "", err
		}
		proof = append(proof, h)
	}
	return index, proof, cp, nil
}
