package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestLogsHoldNoReportContent runs real flows through `fieldgate serve` at
// the default log level (info): a messenger report with a position, an
// HTTP report with a photo, an Open311 request with an e-mail address, a
// team's answer to the reporter, a take and a resolve, a report to an
// unknown address, a bad token and an incident read with its presigned
// photo links. The log must hold none of the report texts, positions,
// the answer, the e-mail address, the reporter's JID, tokens or
// presigned-URL signatures: operations need case numbers and addresses,
// not content (docs/operations.md "Personal data").
func TestLogsHoldNoReportContent(t *testing.T) {
	logs := &lockedBuffer{}
	s := newStack(t, map[string]string{"FIELDGATE_LOG_LEVEL": "info", "FIELDGATE_XMPP_UPLOAD_HOSTS": "http://" + testsvc.XMPP(t).HTTP,
		"FIELDGATE_OPEN311_JURISDICTION_ID": "stadt.example"})
	s.logs = logs
	s.serve()
	var out strings.Builder
	if err := run(t.Context(), []string{"token", "create", "--name", "logs-app", "--role", "reporter", "--address", "*"}, s.getenv, &out, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	s.token = strings.TrimSpace(out.String())
	s.waitReady()

	room := testsvc.Room("tiefbau", s.suffix)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	anna.JoinRoom(room, "anna-"+s.suffix)
	acct := testsvc.User(t)
	reporter := testsvc.Login(t, acct)
	to := s.address("tiefbau")
	secret := "Geheimtext" + s.suffix

	reporter.SendReport(to, "", "neu Kind weint im Hof "+secret+" geo:51.013579,7.524681", "")
	ack := reporter.WaitMessage(30*time.Second, "the case number", func(m testsvc.Message) bool {
		return strings.HasPrefix(m.Body, "Meldung ") && strings.Contains(m.Body, "angenommen")
	})
	caseNo := caseFromReply(t, ack.Body)
	anna.WaitMessage(60*time.Second, "the post", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseNo)
	})
	reporter.SendReport(s.address("gibtsnicht"), "", "falsch "+secret, "")
	reporter.WaitMessage(30*time.Second, "the unknown-address answer", func(m testsvc.Message) bool {
		return m.Type == "error" || strings.Contains(m.Body, "gibtsnicht") || strings.Contains(m.Body, "nicht")
	})

	body, ct := form(t, map[string]string{"to": "tiefbau", "text": "Mülltonne brennt " + secret, "lat": "51.024681", "lon": "7.513579"},
		map[string]string{"photo": testsvc.Photo(t, "gps_ne.jpg")})
	resp, rec := s.post(s.token, body, ct)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("HTTP report: %s %v", resp.Status, rec)
	}
	apiCase, _ := rec["case_number"].(string)
	if resp, _ := s.post("fg_not_a_token_"+s.suffix, strings.NewReader("x"), "text/plain"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad token: %s", resp.Status)
	}
	citizen := "buerger-" + s.suffix + "@example.org"
	if status, b := s.open311Post(url.Values{"api_key": {s.token}, "service_code": {"strassenschaden"}, "lat": {"51.0251"}, "long": {"7.5919"},
		"description": {"Schlagloch " + secret}, "attribute[schaden]": {"schlagloch"}, "email": {citizen}}, nil); status != http.StatusCreated {
		t.Fatalf("Open311: %d %s", status, b)
	}

	anna.Groupchat(room, "antwort "+shortRef(caseNo)+" Wir kommen gleich "+secret)
	reporter.WaitMessage(30*time.Second, "the answer", func(m testsvc.Message) bool { return strings.Contains(m.Body, "Wir kommen gleich") })
	anna.Groupchat(room, "ok "+shortRef(caseNo))
	anna.Groupchat(room, "erledigt "+shortRef(caseNo))
	reporter.WaitMessage(30*time.Second, "the resolve notice", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, caseNo) && strings.Contains(m.Body, "erledigt")
	})
	if apiCase != "" {
		anna.WaitMessage(60*time.Second, "the HTTP report's post", func(m testsvc.Message) bool {
			return s.fromGateway(m) && strings.Contains(m.Body, apiCase)
		})
		code, inc := s.call("GET", "/api/v1/incidents/"+apiCase, s.newToken("logs-leitstelle", "dispatcher"))
		if code != http.StatusOK || !strings.Contains(fmt.Sprint(inc), "X-Amz-Signature") {
			t.Logf("incident read: %d, without a presigned link: %v", code, inc)
		}
	}

	text := logs.String()
	if !strings.Contains(text, caseNo) {
		t.Fatalf("the log names no case at all; is it captured?\n%s", text)
	}
	bare := strings.SplitN(acct.JID, "/", 2)[0]
	for what, needle := range map[string]string{
		"report or answer text": secret, "messenger position": "51.01357", "HTTP position": "51.02468",
		"e-mail address": citizen, "reporter's JID": bare, "API token": s.token,
		"presigned URL signature": "X-Amz-Signature", "bad token": "fg_not_a_token_",
	} {
		if strings.Contains(text, needle) {
			for _, line := range strings.Split(text, "\n") {
				if strings.Contains(line, needle) {
					t.Errorf("the log holds the %s: %s", what, line)
				}
			}
		}
	}
}
