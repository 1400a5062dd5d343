package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
)

// TestTimelineHidesTheReporterFromTheTeam: a field worker writes a case
// in three messages; the second and third join the first as parts (a
// "grouped" event, whose actor is the sender), and a bare "neu" splits
// the last part off again (a "part_split" by the reporter). Team members see the reporter only
// as "reporter" (rooms show no reporter JID unless show_reporter_jid), but
// the grouped event gave the JID away in the incident's timeline, which
// the team's console shows; dispatchers still see it.
func TestTimelineHidesTheReporterFromTheTeam(t *testing.T) {
	e := newConsoleEnv(t)
	ctx := context.Background()
	sender := "melder.privat@stadt.localhost"
	first, err := e.svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: sender,
		Text: "Gully verstopft", Position: &dispatch.Position{Lat: 51.04, Lon: 7.58}, PositionSource: dispatch.SourceGeoURI})
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: sender, Text: "Wasser steht"})
	if err != nil {
		t.Fatal(err)
	}
	if second.CaseNumber != first.CaseNumber {
		t.Fatalf("the second message made case %s, want it to join %s", second.CaseNumber, first.CaseNumber)
	}
	if _, err := e.svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: sender, Text: "Schild umgefahren"}); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Team     string `json:"team"`
		Timeline []struct {
			Kind  string `json:"kind"`
			Actor string `json:"actor"`
		} `json:"timeline"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		d.Team, d.Timeline = "", nil
		if st := e.get(t, "disp", "/api/v1/incidents/"+first.CaseNumber, &d); st == 200 && d.Team == "tiefbau" && kinds(d.Timeline).has("grouped") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %s not routed with its parts: %+v", first.CaseNumber, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The bare "neu" splits the last part off once that part is processed;
	// before, the reporter is asked to send it again in a moment, as here.
	var split dispatch.Receipt
	for {
		split, err = e.svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: sender, Text: "neu"})
		if !errors.Is(err, dispatch.ErrConflict) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if split.CaseNumber == first.CaseNumber {
		t.Fatalf("the bare neu did not split the last part off: %+v", split)
	}
	for {
		d.Team, d.Timeline = "", nil
		if st := e.get(t, "disp", "/api/v1/incidents/"+first.CaseNumber, &d); st == 200 && kinds(d.Timeline).has("part_split") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %s has no part_split: %+v", first.CaseNumber, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if raw, _ := json.Marshal(d); !strings.Contains(string(raw), sender) {
		t.Fatalf("dispatchers see the reporter: their timeline lacks %s: %s", sender, raw)
	}
	var team map[string]any
	if st := e.get(t, "tief", "/api/v1/incidents/"+first.CaseNumber, &team); st != 200 {
		t.Fatalf("team detail: %d", st)
	}
	if raw, _ := json.Marshal(team); strings.Contains(string(raw), sender) {
		t.Errorf("the team's view of the case names the reporter %s: %s", sender, raw)
	}
}

type kindList []struct {
	Kind  string `json:"kind"`
	Actor string `json:"actor"`
}

func kinds(l []struct {
	Kind  string `json:"kind"`
	Actor string `json:"actor"`
}) kindList {
	return l
}

func (l kindList) has(kind string) bool {
	for _, e := range l {
		if e.Kind == kind {
			return true
		}
	}
	return false
}
