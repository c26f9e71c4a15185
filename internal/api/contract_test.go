// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/klauspost/compress/zstd"
	"go.yaml.in/yaml/v4"

	"github.com/trailaudit/trail/internal/api"
)

// The contract: every request the API tests send and every response they
// get is held against internal/api/openapi.yaml, so the file cannot drift
// from the code. A request the server accepted (2xx) must be valid for
// the file (the file may not be stricter than the server); every response
// must be a status the operation documents, with a body and headers that
// match its schema.

var contract struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// loadContract parses and validates the OpenAPI file once.
func loadContract() (*openapi3.T, routers.Router, error) {
	contract.once.Do(func() {
		openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.PlainBodyDecoder)
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.OpenAPIYAML)
		if err == nil {
			err = doc.Validate(context.Background())
		}
		if err != nil {
			contract.err = err
			return
		}
		doc.Servers = nil // match requests on any host
		contract.doc = doc
		contract.router, contract.err = legacy.NewRouter(doc)
	})
	return contract.doc, contract.router, contract.err
}

// TestOpenAPIStrictParse: the file is valid YAML for strict parsers
// (duplicate keys are errors) and a valid OpenAPI 3.1 document.
func TestOpenAPIStrictParse(t *testing.T) {
	var v map[string]any
	if err := yaml.Unmarshal([]byte("a: 1\na: 2\n"), &v); err == nil {
		t.Fatal("the YAML parser accepts duplicate keys; this test would prove nothing")
	}
	if err := yaml.Unmarshal(api.OpenAPIYAML, &v); err != nil {
		t.Fatalf("openapi.yaml for a strict YAML parser: %v", err)
	}
	if _, _, err := loadContract(); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
}

// checkContract wraps h so that every exchange is checked against the
// OpenAPI file; violations fail t.
func checkContract(t *testing.T, h http.Handler) http.Handler {
	_, router, err := loadContract()
	if err != nil {
		t.Fatalf("loading openapi.yaml: %v", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqBody, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
		tee := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(tee, r)
		if err := validateExchange(router, r, reqBody, tee); err != nil {
			t.Errorf("contract: %s %s → %d: %v", r.Method, r.URL.RequestURI(), tee.status(), err)
		}
	})
}

// validateExchange checks one request and its response.
func validateExchange(router routers.Router, r *http.Request, reqBody []byte, tee *teeWriter) error {
	if !strings.HasPrefix(r.URL.Path, "/api/") && !isDocumentedPublic(r.URL.Path) {
		return nil
	}
	vr := r.Clone(context.Background())
	if enc := vr.Header.Get("Content-Encoding"); enc != "" && tee.status()/100 == 2 {
		plain, err := decodeRequestBody(strings.ToLower(strings.TrimSpace(enc)), reqBody)
		if err != nil {
			return fmt.Errorf("accepted a request body the test cannot decode (%s): %w", enc, err)
		}
		reqBody = plain
		vr.Header.Del("Content-Encoding") // the document describes the decoded body
	}
	vr.Body = io.NopCloser(bytes.NewReader(reqBody))
	if len(reqBody) > 0 && vr.Header.Get("Content-Type") == "" {
		vr.Header.Set("Content-Type", "application/json") // documented: no Content-Type is JSON
	}
	if vr.Method == http.MethodHead {
		vr.Method = http.MethodGet // HEAD is GET without the body
	}
	route, params, err := router.FindRoute(vr)
	if err != nil {
		if tee.status() == http.StatusNotFound || tee.status() == http.StatusMethodNotAllowed {
			return nil // no such route: the API said so
		}
		return err
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus:   true,
		MultiError:              true,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.EnableJSONSchema2020()},
		ExcludeResponseBody:     tee.truncated,
	}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route, Options: opts}
	if tee.status()/100 == 2 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return err
		}
	}
	body := tee.body.Bytes()
	if tee.Header().Get("Content-Encoding") == "gzip" && !tee.truncated {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("a gzip response that is not gzip: %w", err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			return fmt.Errorf("a gzip response that does not decompress: %w", err)
		}
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: tee.status(), Header: tee.Header(),
		Body: io.NopCloser(bytes.NewReader(body)), Options: opts,
	})
}

func isDocumentedPublic(path string) bool {
	switch path {
	case "/openapi.yaml", "/healthz", "/readyz", "/metrics":
		return true
	}
	return false
}

// maxContractBody bounds the response bytes kept for validation; a larger
// body (a big export) has its status and headers checked only.
const maxContractBody = 4 << 20

// teeWriter passes a response through and keeps a copy of it.
type teeWriter struct {
	http.ResponseWriter
	code      int
	body      bytes.Buffer
	truncated bool
}

func (w *teeWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.body.Len()+len(b) > maxContractBody {
		w.truncated = true
	} else {
		w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the connection (flushes).
func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestReingestExportMatchesContract: exported events re-ingest as they
// are, and the OpenAPI file says so (a schema-validating client must not
// refuse them).
func TestReingestExportMatchesContract(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("e1", "bob"), repoCreate("e2", "llama"))
	doc := exportJSON(t, e, e.Admin, "acme", "")
	var body bytes.Buffer
	body.WriteString(`{"events":[`)
	for i, ev := range doc.Events {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(ev)
	}
	body.WriteString(`]}`)
	if r := e.do("POST", "/api/v1/orgs/copy/events", e.Admin, "application/json", body.Bytes()); r.Status != 200 {
		t.Fatalf("re-ingesting an export: %d %s", r.Status, truncate(r.Body))
	}
}

// decodeRequestBody undoes a request's Content-Encoding, as the server
// does before reading the body.
func decodeRequestBody(encoding string, body []byte) ([]byte, error) {
	switch encoding {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		return io.ReadAll(zr)
	case "identity":
		return body, nil
	}
	return nil, fmt.Errorf("unknown Content-Encoding %q", encoding)
}
