package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestLoadEndToEnd measures a report's way through the whole gateway
// against a baseline of the same raw work done directly, in the same run:
// one S3 PutObject of the photo, one PostgreSQL INSERT, one XMPP room
// message waited for until the room echoes it. It is a measurement, not a
// check: run it with FIELDGATE_LOAD=1 (and the services of make test):
//
//	FIELDGATE_LOAD=1 go test -run TestLoadEndToEnd -v ./cmd/fieldgate/
func TestLoadEndToEnd(t *testing.T) {
	if os.Getenv("FIELDGATE_LOAD") == "" {
		t.Skip("measurement; set FIELDGATE_LOAD=1 to run")
	}
	n := 30
	s := startStack(t, map[string]string{"FIELDGATE_LOG_LEVEL": "error"})
	room := testsvc.Room("tiefbau", s.suffix)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	anna.JoinRoom(room, "anna-"+s.suffix)
	// A photo without GPS (JPEG, rotated), positions 110 m apart: each report is an
	// incident of its own (no duplicate merging).
	photoPath := testsvc.Photo(t, "orientation_6.jpg")
	pos := func(i int) map[string]string {
		return map[string]string{"to": "tiefbau", "text": fmt.Sprintf("Last %d", i),
			"lat": fmt.Sprintf("%.6f", 43.3+float64(i)*0.001), "lon": "11.5"} // outside the districts: Tiefbau Nord
	}
	photo, err := os.ReadFile(photoPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Baseline: the raw operations, sequentially, per report.
	conn, err := pgx.Connect(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE load_baseline (id bigserial PRIMARY KEY, body text, at timestamptz)`); err != nil {
		t.Fatal(err)
	}
	if err := s.s3.MakeBucket(ctx, s.bucket+"-raw", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	bob := testsvc.Login(t, testsvc.DemoUser("ben"))
	bob.JoinRoom(room, "ben-"+s.suffix)
	time.Sleep(time.Second)
	base := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		if _, err := s.s3.PutObject(ctx, s.bucket+"-raw", fmt.Sprintf("raw/%d.jpg", i), bytes.NewReader(photo), int64(len(photo)),
			minio.PutObjectOptions{ContentType: "image/jpeg"}); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO load_baseline (body, at) VALUES ($1, now())`, "Schlagloch"); err != nil {
			t.Fatal(err)
		}
		marker := fmt.Sprintf("baseline-%d-%d", i, start.UnixNano())
		bob.Groupchat(room, marker)
		anna.WaitMessage(30*time.Second, "the baseline message", func(m testsvc.Message) bool { return m.Body == marker })
		base[i] = time.Since(start)
	}

	// Gateway: POST with the photo until the post is in the room (EXIF,
	// team copy, routing, durable queue, reflection all included).
	e2e := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		body, ct := form(t, pos(i), map[string]string{"photo": photoPath})
		resp, rec := s.post(s.token, body, ct)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST: %s %v", resp.Status, rec)
		}
		caseNo := rec["case_number"].(string)
		anna.WaitMessage(60*time.Second, "the post", func(m testsvc.Message) bool {
			return s.fromGateway(m) && strings.Contains(m.Body, caseNo)
		})
		e2e[i] = time.Since(start)
	}

	// Throughput: n reports posted at once, until all are in the room.
	start := time.Now()
	cases := make(chan string, n)
	for i := range n {
		go func() {
			body, ct := form(t, pos(n+i), map[string]string{"photo": photoPath})
			resp, rec := s.post(s.token, body, ct)
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("POST: %s %v", resp.Status, rec)
				cases <- ""
				return
			}
			cases <- rec["case_number"].(string)
		}()
	}
	want := map[string]bool{}
	for range n {
		want[<-cases] = true
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		seen := 0
		for _, m := range anna.Messages() {
			if s.fromGateway(m) {
				for c := range want {
					if c != "" && strings.Contains(m.Body, "🆕 Meldung "+c) {
						seen++
					}
				}
			}
		}
		if seen >= n {
			break
		}
		if time.Now().After(deadline) {
			msgs := anna.Messages()
			for _, m := range msgs[max(0, len(msgs)-3):] {
				t.Logf("last: %.80q", m.Body)
			}
			t.Fatalf("only %d of %d burst reports posted within 2 minutes (want %v)", seen, n, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	burst := time.Since(start)
	t.Logf("photo %d bytes, %d reports each", len(photo), n)
	t.Logf("baseline (S3 put + INSERT + room message echoed): p50 %v  p90 %v", pct(base, 50), pct(base, 90))
	t.Logf("gateway end to end (POST → post in room):          p50 %v  p90 %v", pct(e2e, 50), pct(e2e, 90))
	t.Logf("ratio p50 gateway/baseline: %.1fx", float64(pct(e2e, 50))/float64(pct(base, 50)))
	t.Logf("burst of %d concurrent reports: all posted after %v (%.1f reports/s)", n, burst.Round(time.Millisecond), float64(n)/burst.Seconds())
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100].Round(100 * time.Microsecond)
}
