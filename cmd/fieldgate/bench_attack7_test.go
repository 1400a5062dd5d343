package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestBenchXMPPLoadsInARow: two XMPP loads in one `fieldgate bench` run,
// one field worker. The worker's first report of the second load lies
// far from its last of the first (positions start again at --lat), so
// the reply names that earlier case before the new one ("… 222 m von
// Meldung A entfernt … die neue Meldung B"). The workers of a load log
// in afresh; the bench must still time the new case, not the earlier
// one, whose room post came before the report was even sent (a negative
// end-to-end time). Asserts no timings beyond their sign.
func TestBenchXMPPLoadsInARow(t *testing.T) {
	s := startStack(t, map[string]string{"FIELDGATE_REPORTS_DUPLICATE_DISTANCE_M": "-1"}) // as deploy/dev/bench
	xenv := testsvc.XMPP(t)
	member := testsvc.DemoUser("anna")
	worker := testsvc.User(t)
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"bench", "--url", s.base, "--token", s.token, "--to", "tiefbau",
		"--room", testsvc.Room("tiefbau", s.suffix), "--member", member.JID + ":" + member.Password,
		"--c2s", xenv.C2S, "--component-domain", testsvc.Component(t), "--lat", "43.3", "--lon", "11.5",
		"--workers", worker.JID + ":" + worker.Password, "--timeout", "30s",
		"--load", "name=x1,mode=xmpp,n=3,c=1,duration=2m",
		"--load", "name=x2,mode=xmpp,n=2,c=1,duration=2m",
		"--csv", filepath.Join(dir, "s.csv")}
	if err := run(context.Background(), args, s.getenv, &out, &errb); err != nil {
		t.Fatalf("bench: %v\n%s", err, errb.String())
	}
	rows := readCSV(t, filepath.Join(dir, "s.csv"))
	n := 0
	for _, r := range rows[1:] {
		if r[1] != "fieldgate" {
			continue
		}
		n++
		e2e, err := strconv.ParseFloat(r[5], 64)
		if r[7] != "" || err != nil || e2e <= 0 {
			t.Errorf("load %s report %s: end-to-end %q ms, error %q: want the new case's post, after the report was sent", r[0], r[2], r[5], r[7])
		}
	}
	if n != 5 {
		t.Errorf("%d reports in the CSV, want 5: %q", n, rows)
	}
}
