// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the signing key's file name in a data directory, and
// TrustedFile the file of earlier verifier keys kept after rotations.
const (
	KeyFile     = "signing.key"
	TrustedFile = "verifier-keys.txt"
)

// LoadOrCreateKey reads the signer key in path, or creates the file
// (mode 0600) with a new key named name when it does not exist. A key file
// that others can read is refused: the key signs every checkpoint.
func LoadOrCreateKey(path, name string) (skey string, created bool, err error) {
	skey, err = ReadKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return skey, false, err
	}
	skey, _, err = GenerateKey(name)
	if err != nil {
		return "", false, err
	}
	if err := writeNew(path, skey+"\n"); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process made it first
			skey, err = ReadKeyFile(path)
			return skey, false, err
		}
		return "", false, err
	}
	return skey, true, nil
}

// ReadKeyFile reads a signer key file, refusing one readable by others.
func ReadKeyFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("ledger: the signing key file %s can be read by others (mode %o): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func writeNew(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// ReadTrusted reads a file of verifier keys, one a line ('#' comments and
// blank lines ignored); a missing file is an empty list.
func ReadTrusted(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			keys = append(keys, l)
		}
	}
	if _, err := Verifiers(keys...); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}

// Rotate replaces the signing key in dir with a new one of the same name
// and adds the old verifier key to the trusted file, so what the old key
// signed still verifies. It returns the new verifier key. No server may
// run on dir meanwhile (it would keep signing with the old key).
func Rotate(dir string) (oldVkey, newVkey string, err error) {
	path := filepath.Join(dir, KeyFile)
	skey, err := ReadKeyFile(path)
	if err != nil {
		return "", "", err
	}
	old, err := NewSigner(skey)
	if err != nil {
		return "", "", err
	}
	nskey, nvkey, err := GenerateKey(old.Name())
	if err != nil {
		return "", "", err
	}
	f, err := os.OpenFile(filepath.Join(dir, TrustedFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return "", "", err
	}
	_, err = f.WriteString(old.VerifierKey() + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", "", err
	}
	tmp := path + ".new"
	os.Remove(tmp)
	if err := writeNew(tmp, nskey+"\n"); err != nil {
		return "", "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", "", err
	}
	return old.VerifierKey(), nvkey, nil
}
