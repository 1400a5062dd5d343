package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestRecordDelivery: receipts and read markers for an alert are filed as
// evidence on its incident, never as a take; foreign ids are ignored.
func TestRecordDelivery(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}, Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond}})
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:app", Text: "Wasserrohrbruch"})
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("fgi-%s-17", r.IncidentID)
	for _, c := range []struct{ id, kind string }{
		{id, dispatch.DeliveryReceived},
		{id, dispatch.DeliveryDisplayed},
		{"fg-17", dispatch.DeliveryReceived},                                      // not about an incident
		{"somebody-elses-id", dispatch.DeliveryReceived},                          // not ours
		{"fgi-00000000-0000-0000-0000-000000000000-1", dispatch.DeliveryReceived}, // no such incident
	} {
		if err := svc.RecordDelivery(ctx, c.id, "carla@stadt.localhost", c.kind); err != nil {
			t.Fatalf("RecordDelivery(%s): %v", c.id, err)
		}
	}
	v, err := svc.GetReport(ctx, r.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range v.Events {
		kinds = append(kinds, e.Kind)
	}
	if fmt.Sprint(kinds) != "[received alert_received alert_displayed]" {
		t.Fatalf("events = %v", kinds)
	}
	if v.Incident.State != dispatch.StateReceived || v.Incident.Owner != "" {
		t.Fatalf("delivery evidence changed the incident: %s owner %q", v.Incident.State, v.Incident.Owner)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM incident_events`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d events (%v)", n, err)
	}
}
