package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestConsoleThousandIncidents measures the console with 1,000 open
// incidents in headless Chromium (FIELDGATE_CONSOLE_MEASURE=1; a
// measurement, not a timed test: it logs the numbers and asserts only that
// all incidents were shown and the filters narrowed them).
func TestConsoleThousandIncidents(t *testing.T) {
	if os.Getenv("FIELDGATE_CONSOLE_MEASURE") != "1" {
		t.Skip("measurement: set FIELDGATE_CONSOLE_MEASURE=1")
	}
	node, chromium, web := browserTools(t)
	s := startStack(t, nil)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// 1,000 open incidents with a located report each, spread over the
	// demo town, its teams, districts and urgencies.
	if _, err := conn.Exec(ctx, `
		INSERT INTO incidents (id, case_number, state, address, team, priority, district, created_at, updated_at)
		SELECT gen_random_uuid(), '2026-' || lpad((100000+n)::text, 6, '0'), (array['routed','acknowledged','escalated'])[1+n%3], 'tiefbau',
			(array['tiefbau','gruenflaechen','leitstelle','ordnungsamt'])[1+n%4], (array['normal','urgent','high','low'])[1+n%4],
			(array['Nordstadt','Weststadt','Mitte','Oststadt','Südstadt','Hafen'])[1+n%6], now() - n * interval '2 minutes', now()
		FROM generate_series(1, 1000) n;
		INSERT INTO reports (id, incident_id, case_number, channel, address, sender, body, lat, lon, position_source, received_at)
		SELECT gen_random_uuid(), i.id, i.case_number, 'api', 'tiefbau', 'token:measure',
			(array['Schlagloch','Baum umgestürzt','Gully verstopft','Sperrmüll','Ampel defekt'])[1+(random()*4)::int] || ' bei ' || i.case_number,
			51.015 + random()*0.035, 7.56 + random()*0.06, 'api', i.created_at
		FROM incidents i WHERE i.case_number LIKE '2026-1%'`); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"token", "create", "--name", "measure", "--role", "dispatcher"}, s.getenv, &out, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	measure := func(label string) {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, node, filepath.Join(web, "test", "measure.mjs"))
		cmd.Dir = web
		cmd.Env = append(os.Environ(), "FG_BASE="+s.base, "FG_TOKEN="+strings.TrimSpace(out.String()), "FG_EXPECT=1000", "FG_CHROMIUM="+chromium)
		cmd.Stderr = testWriter{t}
		res, err := cmd.Output()
		if err != nil {
			t.Fatalf("measure.mjs: %v", err)
		}
		t.Logf("console with 1,000 open incidents, %s: %s", label, res)
		if !strings.Contains(string(res), `"shown":1`) && !strings.Contains(string(res), `"search":{"ms"`) {
			t.Errorf("unexpected result: %s", res)
		}
	}
	measure("no photos")

	// The same list with a photo in every case: the rows show thumbnails
	// (GET /api/v1/incidents/{case}/thumbnail), one real photo's team copy
	// and thumbnail shared by all 1,000 reports.
	body, ct := form(t, map[string]string{"to": "tiefbau", "text": "Foto"}, map[string]string{"photo": testsvc.Photo(t, "messenger_450x600.jpg")})
	if resp, rec := s.post(s.token, body, ct); resp.StatusCode != 202 {
		t.Fatalf("photo report: %s %v", resp.Status, rec)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM media_objects WHERE thumb_key IS NOT NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no thumbnail within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := conn.Exec(ctx, `
		INSERT INTO media_objects (id, report_id, object_key, content_type, size_bytes, sha256, derivative_key, thumb_key, metadata, created_at)
		SELECT gen_random_uuid(), r.id, m.object_key || '-' || r.id, m.content_type, m.size_bytes, m.sha256, m.derivative_key, m.thumb_key, m.metadata, now()
		FROM reports r, (SELECT * FROM media_objects WHERE thumb_key IS NOT NULL LIMIT 1) m WHERE r.case_number LIKE '2026-1%'`); err != nil {
		t.Fatal(err)
	}
	measure("a photo each")
}
