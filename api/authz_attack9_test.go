package api

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/media"
)

// TestEmptyTeamRoleSeesNothing: a token whose role is "team:" with no
// team (what `fieldgate token create --role "team:$TEAM"` makes when the
// variable is empty, and token creation accepts) matched every report
// whose incident has no team yet (waiting for a location, not routed):
// it read the report, its owner and fetched the original photos. Only a
// team role names a team: such a token sees what a reporter-less,
// team-less token sees, nothing.
func TestEmptyTeamRoleSeesNothing(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	s.domain.tokens["fg_noteam"] = dispatch.Token{Name: "tablet", Roles: []string{"team:"}}
	id := uuid.New()
	s.domain.reports[id] = dispatch.ReportView{
		Report: dispatch.Report{ID: id, CaseNumber: "2026-000050", Sender: "xmpp:streife1@stadt.localhost", Address: "jugendamt",
			Text: "Kind allein auf dem Spielplatz", Media: []dispatch.MediaObject{{Object: media.Object{Key: "orig/2026/11/x", SHA256: "00"}}}},
		Incident: dispatch.Incident{CaseNumber: "2026-000050", State: dispatch.StateNeedsLocation, Owner: "carla"},
	}
	s.domain.incidents["2026-000050"] = s.domain.reports[id].Incident
	for _, path := range []string{"/api/v1/reports/" + id.String(), "/api/v1/reports/" + id.String() + "/media/1", "/api/v1/incidents/2026-000050"} {
		w := s.do(http.MethodGet, path, "fg_noteam", nil, nil)
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s with a team: token: %d %s", path, w.Code, w.Body.String())
		}
	}
	// The dispatcher still sees it.
	if w := s.do(http.MethodGet, "/api/v1/reports/"+id.String(), secretDispatcher, nil, nil); w.Code != http.StatusOK {
		t.Errorf("dispatcher: %d %s", w.Code, w.Body.String())
	}
}
