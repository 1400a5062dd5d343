package api

import (
	"net/http"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
)

// TestCommandBodyStrict: the JSON body of an incident command is read
// strictly. Before, a NUL escape reached PostgreSQL (500), invalid UTF-8
// was stored as U+FFFD, a member given twice or misspelt was dropped
// silently, and any Content-Type was taken for JSON. Each is now a precise
// problem, and nothing reaches the domain.
func TestCommandBodyStrict(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	s.domain.incidents["2026-000042"] = dispatch.Incident{CaseNumber: "2026-000042", State: dispatch.StateRouted, Team: "tiefbau"}
	s.domain.incidents["2026-000043"] = dispatch.Incident{CaseNumber: "2026-000043", State: dispatch.StateRouted, Team: "tiefbau"}
	jsonCT := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		name, action, body string
		header             map[string]string
		status             int
		slug, detail       string
	}{
		{"NUL escape in a reply", "reply", `{"text":"a\u0000b"}`, jsonCT, 400, "invalid-text", `"text" contains a NUL`},
		{"NUL escape in a reason", "reject", `{"reason":"\u0000"}`, jsonCT, 400, "invalid-text", `"reason" contains a NUL`},
		{"NUL escape in a reassign reason", "reassign", `{"team":"gruenflaechen","reason":"x\u0000"}`, jsonCT, 400, "invalid-text", `"reason"`},
		{"NUL escape in a merge target", "merge", `{"into":"2026-000043\u0000"}`, jsonCT, 400, "invalid-text", `"into"`},
		{"invalid UTF-8", "reply", "{\"text\":\"Stra\xdfe\"}", jsonCT, 400, "invalid-text", "not valid UTF-8 (byte 13)"},
		{"member twice", "reply", `{"text":"harmlos","text":"Bitte hier klicken"}`, jsonCT, 400, "invalid", `"text" appears more than once`},
		{"unknown member", "reply", `{"text":"x","sender":"dora"}`, jsonCT, 400, "invalid", `unknown JSON member "sender"`},
		{"member in other case", "reply", `{"TEXT":"x"}`, jsonCT, 400, "invalid", `unknown JSON member "TEXT"`},
		{"two objects", "reply", `{"text":"x"}{"text":"y"}`, jsonCT, 400, "invalid", "body must be JSON"},
		{"an array", "reply", `[{"text":"x"}]`, jsonCT, 400, "invalid", "body must be JSON"},
		{"a huge number", "reply", `{"text":1e400}`, jsonCT, 400, "invalid", "body must be JSON"},
		{"form instead of JSON", "reply", `text=hallo`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "content-type", "application/json"},
		{"JSON without Content-Type", "reply", `{"text":"x"}`, nil, 415, "content-type", "application/json"},
		{"JSON as text/plain (a cross-site form)", "merge", `{"into":"2026-000043"}`, map[string]string{"Content-Type": "text/plain"}, 415, "content-type", "application/json"},
		{"merge without a body", "merge", ``, jsonCT, 400, "invalid", "into"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(s.domain.commands)
			w := s.do(http.MethodPost, "/api/v1/incidents/2026-000042/"+c.action, secretDispatcher, []byte(c.body), c.header)
			checkProblem(t, w, c.status, c.slug, c.detail)
			if len(s.domain.commands) != before {
				t.Errorf("a refused command reached the domain: %+v", s.domain.lastCommand())
			}
		})
	}

	// What clients send keeps working: a +json type with a charset, an
	// empty body where none is needed.
	if w := s.do(http.MethodPost, "/api/v1/incidents/2026-000042/reply", secretDispatcher, []byte(`{"text":"Wir sind unterwegs."}`),
		map[string]string{"Content-Type": "application/merge-patch+json; charset=utf-8"}); w.Code != http.StatusOK {
		t.Errorf("reply as +json: %d %s", w.Code, w.Body.String())
	}
	if cmd, ok := s.domain.lastCommand().(dispatch.ReplyCommand); !ok || cmd.Text != "Wir sind unterwegs." {
		t.Errorf("reply sent %+v", s.domain.lastCommand())
	}
	if w := s.do(http.MethodPost, "/api/v1/incidents/2026-000042/unmerge", secretDispatcher, nil, nil); w.Code != http.StatusOK {
		t.Errorf("unmerge without a body: %d %s", w.Code, w.Body.String())
	}
}
