package dispatch_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
)

// TestBareNeuOnlyUndoesOwnJoin attacks the reporter's bare "neu" (real
// PostgreSQL): right after streife7's part joined their case, another
// sender's "neu" (even carrying streife7's message id as its idempotency
// key), and a "neu" under streife7's name over the API, split nothing
// and replay no receipt of streife7's (over the API, where every report
// is a case of its own, "neu" is just a text); the part stays where it
// joined.
func TestBareNeuOnlyUndoesOwnJoin(t *testing.T) {
	svc, _, first, part := caseWithPart(t, "streife7@stadt.localhost", "Ampel ausgefallen", "Mast ist auch schief")
	ctx := context.Background()
	for _, in := range []dispatch.NewReport{
		{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: "mallory@stadt.localhost", IdempotencyKey: "m1", Text: "neu"},
		{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: "mallory@stadt.localhost", IdempotencyKey: "part", Text: "neu"},
		{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "streife7@stadt.localhost", IdempotencyKey: "a1", Text: "neu"},
	} {
		r, err := svc.Intake(ctx, in)
		if in.Channel == dispatch.ChannelAPI {
			if err != nil || r.Mode != dispatch.ModeNew {
				t.Errorf("api neu: %+v, %v; want a case of its own", r, err)
			}
		} else if !errors.Is(err, dispatch.ErrInvalid) {
			t.Errorf("%s/%s neu (key %q): %+v, %v; want the request for content", in.Channel, in.Sender, in.IdempotencyKey, r, err)
		}
		if r.ReportID == part.ReportID || r.CaseNumber == first.CaseNumber && first.CaseNumber != "" {
			t.Errorf("%s/%s neu got streife7's receipt: %+v", in.Channel, in.Sender, r)
		}
	}
	v, err := svc.GetReport(ctx, part.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Report.IncidentID != first.IncidentID || v.Report.Kind != "followup" {
		t.Errorf("streife7's part was moved by somebody else's neu: %+v", v.Report)
	}
	for _, e := range v.Events {
		if e.Kind == "part_split" {
			t.Errorf("a split was recorded: %+v", e)
		}
	}
}
