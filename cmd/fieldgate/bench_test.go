package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestBenchSmoke runs `fieldgate bench` briefly against the real stack, a
// text load and a photo load (HTTP) and a photo load over XMPP, and checks
// that its outputs are well formed. It asserts no timings: those are
// measurements (deploy/SCALING.md), not test results.
func TestBenchSmoke(t *testing.T) {
	s := startStack(t, map[string]string{"FIELDGATE_REPORTS_ASSEMBLY_WINDOW": "200ms"})
	xenv := testsvc.XMPP(t)
	floor := testsvc.Component(t)
	member := testsvc.DemoUser("anna") // a tiefbau member in the demo rules: team rooms are members-only
	worker := testsvc.User(t)
	dir := t.TempDir()
	photo := testsvc.Photo(t, "orientation_6.jpg")
	var out, errb bytes.Buffer
	args := []string{"bench", "--url", s.base, "--token", s.token, "--to", "tiefbau",
		"--room", testsvc.Room("tiefbau", s.suffix), "--member", member.JID + ":" + member.Password,
		"--c2s", xenv.C2S, "--component-domain", floor, "--lat", "43.3", "--lon", "11.5",
		"--workers", worker.JID + ":" + worker.Password, "--timeout", "60s",
		"--load", "name=text,n=3,c=2,duration=2m",
		"--load", "name=photo,n=2,c=1,duration=2m,photos=" + photo,
		"--load", "name=xmpp,mode=xmpp,n=1,c=1,duration=2m,photos=" + photo,
		"--cpu", "bench=self",
		"--csv", filepath.Join(dir, "s.csv"), "--plot", filepath.Join(dir, "p"), "--json"}
	if err := run(context.Background(), args, s.getenv, &out, &errb); err != nil {
		t.Fatalf("bench: %v\n%s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want one JSON line per load, got %q", out.String())
	}
	for i, name := range []string{"text", "photo", "xmpp"} {
		var r struct {
			Load            string
			Count           int
			Fieldgate       struct{ OK, Errors int }
			Floor           struct{ OK, Errors int }
			P50Ratio        *float64 `json:"p50_ratio"`
			ThroughputRatio *float64 `json:"throughput_ratio"`
			CPU             []struct {
				Name        string
				FloorMs     *float64 `json:"floor_ms_per_op"`
				FieldgateMs *float64 `json:"fieldgate_ms_per_op"`
			}
		}
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, lines[i])
		}
		if r.Load != name || r.Fieldgate.OK != r.Count || r.Floor.OK != r.Count || r.P50Ratio == nil || *r.P50Ratio <= 0 || r.ThroughputRatio == nil || *r.ThroughputRatio <= 0 {
			t.Errorf("load %s: %s", name, lines[i])
		}
		if len(r.CPU) != 1 || r.CPU[0].Name != "bench" || r.CPU[0].FloorMs == nil || *r.CPU[0].FloorMs < 0 || r.CPU[0].FieldgateMs == nil || *r.CPU[0].FieldgateMs < 0 {
			t.Errorf("load %s: want the CPU of --cpu bench=self per phase: %s", name, lines[i])
		}
	}
	rows := readCSV(t, filepath.Join(dir, "s.csv"))
	if len(rows) != 1+2*(3+2+1) || rows[0][0] != "load" {
		t.Errorf("CSV has %d rows, want a header and one per report and floor operation: %q", len(rows), rows)
	}
	for _, name := range []string{"text", "photo", "xmpp"} {
		pf, err := os.Open(filepath.Join(dir, "p-"+name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(pf); err != nil {
			t.Errorf("plot %s: %v", name, err)
		}
		pf.Close()
	}
}

func TestBenchRefusesOtherHosts(t *testing.T) {
	var out, errb bytes.Buffer
	env := map[string]string{"FIELDGATE_DATABASE_URL": "postgres://u@127.0.0.1/db", "FIELDGATE_XMPP_ADDR": "127.0.0.1:5347",
		"FIELDGATE_XMPP_DOMAIN": "reports.x", "FIELDGATE_XMPP_SECRET": "s", "FIELDGATE_S3_ENDPOINT": "127.0.0.1:9000",
		"FIELDGATE_S3_ACCESS_KEY": "a", "FIELDGATE_S3_SECRET_KEY": "b", "FIELDGATE_RULES_FILE": filepath.Join("..", "..", "deploy", "demo", "rules.yaml")}
	err := run(context.Background(), []string{"bench", "--url", "http://198.51.100.7:8080", "--token", "t", "--to", "tiefbau",
		"--room", "r@conference.x", "--member", "a@x:p", "--component-domain", "bench.x"}, func(k string) string { return env[k] }, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("bench against 198.51.100.7 = %v, want refused", err)
	}
}

// readCSV reads the whole CSV file at path (fieldgate bench --csv).
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
