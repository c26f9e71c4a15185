// SPDX-License-Identifier: Apache-2.0

package producer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DeadLetterFile is the name, in the spool directory, of the file that
// receives the events Trail refused as invalid and the damaged stretches
// found in the spool: one JSON object per line, appended and synced.
const DeadLetterFile = "dead-letter.ndjson"

// DeadLetter is one line of the dead-letter file.
type DeadLetter struct {
	At    time.Time       `json:"at"`
	Org   string          `json:"org,omitempty"`
	Event json.RawMessage `json:"event,omitempty"` // the event as it was spooled
	Raw   []byte          `json:"raw,omitempty"`   // a damaged stretch of the spool (base64)
	// Error says why: Trail's status, code and the problems it named, or
	// where the spool was damaged.
	Error string `json:"error"`
}

// deadLetters appends to the dead-letter file.
type deadLetters struct {
	mu   sync.Mutex
	path string
}

func (d *deadLetters) add(recs ...DeadLetter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("producer: opening dead-letter file: %w", err)
	}
	defer f.Close()
	var buf []byte
	for _, r := range recs {
		line, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("producer: encoding dead letter: %w", err)
		}
		buf = append(append(buf, line...), '\n')
	}
	if _, err := f.Write(buf); err != nil {
		return fmt.Errorf("producer: writing dead-letter file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("producer: syncing dead-letter file: %w", err)
	}
	return nil
}

// ReadDeadLetters reads the dead-letter file of a spool directory; a
// missing file is no dead letters.
func ReadDeadLetters(spoolDir string) ([]DeadLetter, error) {
	b, err := os.ReadFile(filepath.Join(spoolDir, DeadLetterFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("producer: reading dead letters: %w", err)
	}
	var out []DeadLetter
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var d DeadLetter
		if err := dec.Decode(&d); err != nil {
			return out, fmt.Errorf("producer: dead-letter file line %d: %w", len(out)+1, err)
		}
		out = append(out, d)
	}
	return out, nil
}
