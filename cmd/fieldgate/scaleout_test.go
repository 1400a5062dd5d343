package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/bench"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// The scale-out test: three replicas of `fieldgate serve` (child processes,
// see faults_test.go) on one PostgreSQL, MinIO and XMPP server, loaded by
// `fieldgate bench` (internal/bench, with its raw floor measured in the
// same run) through a round-robin load balancer, and the replica holding
// the XMPP component killed with SIGKILL when half of the bench's reports
// have been answered. Every accepted report must be stored, and posted to
// the team room exactly once (counted in the room's archive); the test
// measures how long the component was without a holder. Numbers:
// deploy/SCALING.md.

// xmppState asks a replica's /readyz for its XMPP connection state.
func xmppState(base string) string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(base + "/readyz")
	if err != nil {
		return "down"
	}
	defer resp.Body.Close()
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "down"
	}
	return body.Checks["xmpp"]
}

// balancer spreads requests round-robin over the replicas, as a load
// balancer in front of them would. A request that a replica does not
// answer (killed, connection refused or reset) goes to the next one with
// the same body and Idempotency-Key, so a retry never files twice.
type balancer struct {
	bases   []string
	next    atomic.Uint64
	retries atomic.Int64
	client  http.Client
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	start := b.next.Add(1)
	for try := range len(b.bases) {
		base := b.bases[(int(start)+try)%len(b.bases)]
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := b.client.Do(req)
		if err != nil {
			b.retries.Add(1)
			continue
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no replica answered", http.StatusBadGateway)
}

func TestScaleOutKillComponentHolder(t *testing.T) {
	s, r1 := faultStack(t, nil)
	replicas := []*replica{r1, s.startReplica("r2", nil), s.startReplica("r3", nil)}
	conn := s.dbConn()
	room := testsvc.Room("tiefbau", s.suffix)
	since := time.Now().Add(-time.Minute)

	holder := -1
	deadline := time.Now().Add(60 * time.Second)
	for holder < 0 {
		for i, r := range replicas {
			if xmppState(r.base) == "connected" {
				holder = i
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no replica holds the XMPP component after 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, r := range replicas {
		if st := xmppState(r.base); i != holder && st != "standby" {
			t.Fatalf("replica %s is %q, want standby while %s holds the component", r.name, st, replicas[holder].name)
		}
	}

	lb := &balancer{client: http.Client{Timeout: 30 * time.Second}}
	for _, r := range replicas {
		lb.bases = append(lb.bases, r.base)
	}
	front := httptest.NewServer(lb)
	defer front.Close()

	n, rate := 40, 8.0
	if fullFaults() {
		n, rate = 300, 15
	}
	xenv := testsvc.XMPP(t)
	s3env := testsvc.S3(t)
	member := testsvc.DemoUser("anna") // a tiefbau member: team rooms are members-only
	b, err := bench.New(context.Background(), bench.Config{
		URL: front.URL, Token: s.token, To: "tiefbau",
		Room: room, C2SAddr: xenv.C2S, Member: bench.Account{JID: member.JID, Password: member.Password},
		S3Endpoint: s3env.Endpoint, S3AccessKey: s3env.AccessKey, S3SecretKey: s3env.SecretKey, S3Bucket: s.bucket,
		DatabaseURL:   s.db,
		ComponentAddr: xenv.ComponentAddr, ComponentDomain: testsvc.Component(t), ComponentSecret: xenv.Secret,
		Timeout: 90 * time.Second,
		Loads:   []bench.Load{{Name: "scaleout", Mode: bench.ModeHTTP, Rate: rate, Concurrency: 1, Count: n, Duration: 10 * time.Minute}},
	}, &bench.Position{Lat: 43.3, Lon: 11.5}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	defer b.Close()

	// SIGKILL the holder when half of fieldgate's reports were answered.
	var (
		answered atomic.Int64
		killOnce sync.Once
		killed   time.Time
		killedCh = make(chan struct{})
		mu       sync.Mutex
		accepted int
	)
	results, err := b.Run(context.Background(), func(smp bench.Sample) {
		if smp.Kind != bench.KindFieldgate {
			return
		}
		if smp.Accept > 0 {
			mu.Lock()
			accepted++
			mu.Unlock()
		}
		if answered.Add(1) == int64(n/2) {
			killOnce.Do(func() {
				replicas[holder].kill()
				killed = time.Now()
				close(killedCh)
			})
		}
	})
	if err != nil {
		t.Fatalf("bench run: %v", err)
	}
	select {
	case <-killedCh:
	default:
		t.Fatal("the bench answered fewer than half of its reports: the holder was never killed")
	}

	// Failover: until a surviving replica reports the component connected.
	var failover time.Duration
	for failover == 0 {
		for i, r := range replicas {
			if i != holder && xmppState(r.base) == "connected" {
				failover = time.Since(killed)
			}
		}
		if time.Since(killed) > 90*time.Second {
			t.Fatal("no replica took the component over within 90s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	drain := waitQueueIdle(t, conn, 120*time.Second)

	var stored int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM reports WHERE body LIKE 'Bench %'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	var firstPostAfter time.Duration
	var after *time.Time
	if err := conn.QueryRow(context.Background(), `SELECT min(posted_at) FROM room_posts WHERE posted_at > $1`, killed).Scan(&after); err == nil && after != nil {
		firstPostAfter = after.Sub(killed)
	}
	archiver := testsvc.Login(t, testsvc.DemoUser("ben"))
	once, twice, missing, dup := postCounts(t, conn, archiver.RoomArchive(room, since), s.nick)
	r := results[0]
	t.Logf("3 replicas under fieldgate bench, %d reports at %.0f/s, holder %s SIGKILLed after %d answers: accepted %d (%d requests retried on another replica), stored %d, posted once %d, twice %d, missing %d; failover %v (component connected again), first post after the kill %v, queue drained %v after the load; bench: fieldgate p50 %.0f ms p99 %.0f ms (%d ok, %d errors), floor p50 %.1f ms; p50 ratio %.1f, throughput ratio %.2f",
		n, rate, replicas[holder].name, n/2, accepted, lb.retries.Load(), stored, once, twice, missing,
		failover.Round(time.Millisecond), firstPostAfter.Round(time.Millisecond), drain.Round(time.Millisecond),
		r.Fieldgate.P50ms, r.Fieldgate.P99ms, r.Fieldgate.OK, r.Fieldgate.Errors, r.Floor.P50ms, r.P50Ratio, r.ThroughputRatio)
	if accepted != n || stored != n {
		t.Errorf("accepted %d, stored %d, want %d each", accepted, stored, n)
	}
	if once != n || twice != 0 || missing != 0 {
		t.Errorf("posted once %d of %d, twice %d %v, missing %d", once, n, twice, dup, missing)
	}
	if r.Fieldgate.OK != n {
		t.Errorf("the bench saw %d of %d reports posted in the room (%d errors)", r.Fieldgate.OK, n, r.Fieldgate.Errors)
	}
}
