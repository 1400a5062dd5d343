package oncall_test

import (
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on hosts without a zone database

	"github.com/fieldgate/fieldgate/oncall"
	"github.com/fieldgate/fieldgate/routing"
)

func TestOnCallRotationWithOverrides(t *testing.T) {
	s := routing.Schedule{
		Name:     "bereitschaft",
		Rotation: []string{"anna@stadt.localhost", "ben@stadt.localhost", "carla@stadt.localhost"},
		Start:    ocLocal(t, "2026-01-05T08:00"), // a Monday
		Period:   7 * 24 * time.Hour,
		Overrides: []routing.Override{
			// ben takes Wednesday night of carla's week
			{From: ocLocal(t, "2026-10-21T18:00"), To: ocLocal(t, "2026-10-22T06:00"), Person: "ben@stadt.localhost"},
			// dora takes the night of the Monday handover; a later override inside it (erik) wins
			{From: ocLocal(t, "2026-10-25T20:00"), To: ocLocal(t, "2026-10-26T10:00"), Person: "dora@stadt.localhost"},
			{From: ocLocal(t, "2026-10-26T07:00"), To: ocLocal(t, "2026-10-26T09:00"), Person: "erik@stadt.localhost"},
		},
	}
	// Week index of 2026-10-19 from 2026-01-05 is 41: 41 mod 3 = 2 → carla.
	// The next week (index 42) is anna's; the handover stays at 08:00 ocLocal
	// across the change to CET on 2026-10-25 (06:00Z before, 07:00Z after).
	tests := []struct {
		at     string // UTC
		person string
		until  string // UTC
	}{
		{"2026-10-19T05:59", "ben@stadt.localhost", "2026-10-19T06:00"},
		{"2026-10-19T06:00", "carla@stadt.localhost", "2026-10-21T16:00"},
		{"2026-10-21T16:00", "ben@stadt.localhost", "2026-10-22T04:00"},
		{"2026-10-22T04:00", "carla@stadt.localhost", "2026-10-25T19:00"},
		{"2026-10-25T19:00", "dora@stadt.localhost", "2026-10-26T06:00"},
		{"2026-10-26T06:00", "erik@stadt.localhost", "2026-10-26T08:00"},
		{"2026-10-26T08:00", "dora@stadt.localhost", "2026-10-26T09:00"},
		// anna's rotation week then runs to the next Monday 08:00 CET
		{"2026-10-26T09:00", "anna@stadt.localhost", "2026-11-02T07:00"},
	}
	for _, tt := range tests {
		p, until, ok := onCallAt(s, nil, ocUTC(t, tt.at))
		if !ok || p != tt.person || !until.Equal(ocUTC(t, tt.until)) {
			t.Errorf("OnCallAt(%s) = %q until %s (ok %v), want %q until %s", tt.at, p, until.UTC().Format(time.RFC3339), ok, tt.person, tt.until)
		}
	}

	plan := oncall.Plan(s, nil, ocLocal(t, "2026-10-19T00:00"), ocLocal(t, "2026-10-27T00:00"))
	want := "" +
		"10-18T22:00–10-19T06:00 ben@stadt.localhost rotation\n" +
		"10-19T06:00–10-21T16:00 carla@stadt.localhost rotation\n" +
		"10-21T16:00–10-22T04:00 ben@stadt.localhost override\n" +
		"10-22T04:00–10-25T19:00 carla@stadt.localhost rotation\n" +
		"10-25T19:00–10-26T06:00 dora@stadt.localhost override\n" +
		"10-26T06:00–10-26T08:00 erik@stadt.localhost override\n" +
		"10-26T08:00–10-26T09:00 dora@stadt.localhost override\n" +
		"10-26T09:00–10-26T23:00 anna@stadt.localhost rotation\n"
	if got := ocPlan(plan); got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
}

func TestOnCallRotationExactPeriodAndNoStart(t *testing.T) {
	// 12 h shifts are exact durations: across the March change the
	// handover moves from 06:00/18:00 ocLocal to 07:00/19:00 ocLocal.
	s := routing.Schedule{
		Rotation: []string{"tag@stadt.localhost", "nacht@stadt.localhost"},
		Start:    ocLocal(t, "2026-03-01T06:00"),
		Period:   12 * time.Hour,
	}
	plan := oncall.Plan(s, nil, ocUTC(t, "2026-03-29T00:00"), ocUTC(t, "2026-03-30T00:00"))
	want := "" +
		"03-29T00:00–03-29T05:00 nacht@stadt.localhost rotation\n" +
		"03-29T05:00–03-29T17:00 tag@stadt.localhost rotation\n" +
		"03-29T17:00–03-30T00:00 nacht@stadt.localhost rotation\n"
	if got := ocPlan(plan); got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}

	// Without a start the rotation is anchored at the zero time (a Monday,
	// 00:00 UTC) and still answers, for exact and for day periods.
	for _, period := range []time.Duration{7 * 24 * time.Hour, 5 * time.Hour} {
		s := routing.Schedule{Rotation: []string{"a@x.example", "b@x.example"}, Period: period}
		p1, until, ok := onCallAt(s, nil, ocUTC(t, "2026-11-22T23:10"))
		if !ok || p1 == "" || !until.After(ocUTC(t, "2026-11-22T23:10")) || until.After(ocUTC(t, "2026-11-22T23:10").Add(period)) {
			t.Fatalf("period %v: got %q until %v ok %v", period, p1, until, ok)
		}
		p2, _, _ := onCallAt(s, nil, until)
		if p2 == p1 {
			t.Errorf("period %v: %q on call both before and after the handover at %v", period, p1, until)
		}
	}
}

func TestOnCallNoHandover(t *testing.T) {
	s := routing.Schedule{Rotation: []string{"carla@stadt.localhost"}, Start: ocLocal(t, "2026-01-05T08:00"), Period: 7 * 24 * time.Hour}
	p, until, ok := onCallAt(s, nil, ocUTC(t, "2026-11-22T23:10"))
	if !ok || p != "carla@stadt.localhost" || !until.IsZero() {
		t.Errorf("one-person rotation: %q until %v ok %v, want carla with no until", p, until, ok)
	}
	// an override ends carla's stretch
	s.Overrides = []routing.Override{{From: ocUTC(t, "2027-03-01T00:00"), To: ocUTC(t, "2027-03-02T00:00"), Person: "ben@stadt.localhost"}}
	if _, until, _ := onCallAt(s, nil, ocUTC(t, "2026-11-22T23:10")); !until.Equal(ocUTC(t, "2027-03-01T00:00")) {
		t.Errorf("until the override: %v", until)
	}
}

func TestOnCallNobody(t *testing.T) {
	s := routing.Schedule{Overrides: []routing.Override{{From: ocUTC(t, "2026-11-01T00:00"), To: ocUTC(t, "2026-11-02T00:00"), Person: "a@x.example"}}}
	if p, _, ok := onCallAt(s, nil, ocUTC(t, "2026-11-02T00:00")); ok {
		t.Errorf("OnCallAt after the only override = %q, want nobody", p)
	}
	if p, until, ok := onCallAt(s, nil, ocUTC(t, "2026-11-01T12:00")); !ok || p != "a@x.example" || !until.Equal(ocUTC(t, "2026-11-02T00:00")) {
		t.Errorf("OnCallAt in the override = %q until %v ok %v", p, until, ok)
	}
	if plan := oncall.Plan(s, nil, ocUTC(t, "2026-11-03T00:00"), ocUTC(t, "2026-11-02T00:00")); plan != nil {
		t.Errorf("plan of an empty window = %v", plan)
	}
}
