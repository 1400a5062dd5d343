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
// evidence on its incident, never as a take, once per message and kind and
// only from the person alerted; foreign ids and forged evidence are ignored.
func TestRecordDelivery(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}, Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond}})
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:app", Text: "Wasserrohrbruch"})
	if err != nil {
		t.Fatal(err)
	}
	// carla was alerted 1:1 about the incident (as escalation records it).
	if _, err := pool.Exec(ctx, `INSERT INTO incident_alerts (incident_id, target, kind, level, at) VALUES ($1, 'carla@stadt.localhost', 'person', 1, now())`, r.IncidentID); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("fgi-%s-17", r.IncidentID)
	for _, c := range []struct{ id, from, kind string }{
		{id, "carla@stadt.localhost", dispatch.DeliveryReceived},
		{id, "Carla@Stadt.Localhost", dispatch.DeliveryDisplayed},
		{id, "carla@stadt.localhost", dispatch.DeliveryReceived},                     // a repeat: deduplicated
		{id, "mallory@stadt.localhost", dispatch.DeliveryReceived},                   // not alerted: forged
		{id, "mallory@stadt.localhost", dispatch.DeliveryDisplayed},                  // not alerted: forged
		{"fg-17", "carla@stadt.localhost", dispatch.DeliveryReceived},                // not about an incident
		{"somebody-elses-id", "carla@stadt.localhost", dispatch.DeliveryReceived},    // not ours
		{"fgi-00000000-0000-0000-0000-000000000000-1", "carla@stadt.localhost", "x"}, // no such incident
		{"fgi-00000000-0000-0000-0000-000000000000-1", "carla@stadt.localhost", dispatch.DeliveryReceived},
	} {
		if err := svc.RecordDelivery(ctx, c.id, c.from, c.kind); err != nil && c.kind != "x" {
			t.Fatalf("RecordDelivery(%s, %s): %v", c.id, c.from, err)
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
