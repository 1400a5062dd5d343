package api

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
)

// BenchmarkCommandBody measures a reply through the handler (strict JSON
// reading: UTF-8, members once, known members, no NUL) against its raw
// floor in the same run, json.Unmarshal of the same body into the same
// struct. Report the ratio of the two ns/op.
func BenchmarkCommandBody(b *testing.B) {
	body := []byte(`{"text":"Wir sind unterwegs und kümmern uns darum."}`)
	b.Run("floor=json.Unmarshal", func(b *testing.B) {
		for b.Loop() {
			var v actionBody
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("handler=reply", func(b *testing.B) {
		s := newTestServer(b, testServerOptions{})
		s.addTokens()
		s.domain.incidents["2026-000042"] = dispatch.Incident{CaseNumber: "2026-000042", State: dispatch.StateRouted, Team: "tiefbau"}
		hdr := map[string]string{"Content-Type": "application/json"}
		for b.Loop() {
			if w := s.do(http.MethodPost, "/api/v1/incidents/2026-000042/reply", secretDispatcher, body, hdr); w.Code != http.StatusOK {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	})
	b.Run("handler=reply,floor-route=take", func(b *testing.B) {
		// The same route machinery without a body: what the body costs.
		s := newTestServer(b, testServerOptions{})
		s.addTokens()
		s.domain.incidents["2026-000042"] = dispatch.Incident{CaseNumber: "2026-000042", State: dispatch.StateRouted, Team: "tiefbau"}
		for b.Loop() {
			if w := s.do(http.MethodPost, "/api/v1/incidents/2026-000042/take", secretDispatcher, nil, nil); w.Code != http.StatusOK {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	})
}

// BenchmarkReportForm measures a text report with position through the
// handler (fake domain and store) against the raw floor of reading the
// same multipart body's parts.
func BenchmarkReportForm(b *testing.B) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range [][2]string{{"to", "tiefbau"}, {"text", "Schlagloch vor Nr. 12"}, {"lat", "51.0251"}, {"lon", "7.5919"}, {"urgent", "on"}} {
		_ = mw.WriteField(f[0], f[1])
	}
	_ = mw.Close()
	body, ct := buf.Bytes(), mw.FormDataContentType()
	b.Run("floor=multipart", func(b *testing.B) {
		_, params, _ := mime.ParseMediaType(ct)
		for b.Loop() {
			mr := multipart.NewReader(strings.NewReader(string(body)), params["boundary"])
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, p)
			}
		}
	})
	b.Run("handler=createReport", func(b *testing.B) {
		s := newTestServer(b, testServerOptions{})
		s.addTokens()
		hdr := map[string]string{"Content-Type": ct}
		for b.Loop() {
			if w := s.do(http.MethodPost, "/api/v1/reports", secretApp, body, hdr); w.Code != http.StatusAccepted {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	})
}
