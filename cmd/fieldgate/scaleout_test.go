package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// The scale-out test: three replicas of `fieldgate serve` (child processes,
// see faults_test.go) on one PostgreSQL, MinIO and Prosody, reports filed
// round-robin over all of them like a load balancer would, and the replica
// holding the XMPP component killed with SIGKILL in the middle of the
// load. Every accepted report must be stored, and posted to the team room
// exactly once (counted in the room's archive); the test measures how long
// the component was without a holder. Numbers: deploy/SCALING.md.

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

// fileVia posts report n to the replica at base with an idempotency key,
// so that a retry through another replica never files it twice. It
// returns the case number, or an error if the replica did not accept it.
func (s *stack) fileVia(base string, n int) (string, error) {
	body, ct := form(s.t, map[string]string{"to": "tiefbau", "text": fmt.Sprintf("Lastmeldung %d", n),
		"lat": fmt.Sprintf("%.6f", 43.3+float64(n)*0.001), "lon": "11.5"}, nil)
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/reports", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Idempotency-Key", fmt.Sprintf("scaleout-%d", n))
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var rec map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&rec)
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("%s: %v", resp.Status, rec)
	}
	cn, _ := rec["case_number"].(string)
	return cn, nil
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

	n, rate := 40, 8.0
	if fullFaults() {
		n, rate = 300, 15
	}
	var (
		mu       sync.Mutex
		accepted = map[string]int{} // case number → report
		dead     = map[int]bool{}   // replicas killed
		retries  int
	)
	killAt := n / 2
	var killed time.Time
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	for i := range n {
		<-tick.C
		if i == killAt {
			replicas[holder].kill()
			killed = time.Now()
			mu.Lock()
			dead[holder] = true
			mu.Unlock()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Round-robin; a refused or broken request goes to the next
			// replica with the same idempotency key, as a load balancer
			// retries.
			for try := range 2 * len(replicas) {
				k := (i + try) % len(replicas)
				mu.Lock()
				skip := dead[k]
				mu.Unlock()
				if skip {
					continue
				}
				cn, err := s.fileVia(replicas[k].base, i)
				if err == nil {
					mu.Lock()
					if prev, ok := accepted[cn]; ok && prev != i {
						t.Errorf("case %s given to reports %d and %d", cn, prev, i)
					}
					accepted[cn] = i
					mu.Unlock()
					return
				}
				mu.Lock()
				retries++
				mu.Unlock()
			}
			t.Errorf("report %d accepted by no replica", i)
		}()
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
	wg.Wait()
	drain := waitQueueIdle(t, conn, 120*time.Second)

	var stored int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM reports WHERE body LIKE 'Lastmeldung %'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	var firstPostAfter time.Duration
	var after *time.Time
	if err := conn.QueryRow(context.Background(), `SELECT min(posted_at) FROM room_posts WHERE posted_at > $1`, killed).Scan(&after); err == nil && after != nil {
		firstPostAfter = after.Sub(killed)
	}
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	once, twice, missing, dup := postCounts(t, conn, anna.RoomArchive(room, since), s.nick)
	cases := make([]string, 0, len(accepted))
	for cn := range accepted {
		cases = append(cases, cn)
	}
	sort.Strings(cases)
	t.Logf("3 replicas, %d reports at %.0f/s, holder %s SIGKILLed after report %d: accepted %d (%d retried requests), stored %d, posted once %d, twice %d, missing %d; failover %v (component connected again), first post after the kill %v, queue drained %v after the load",
		n, rate, replicas[holder].name, killAt, len(accepted), retries, stored, once, twice, missing,
		failover.Round(time.Millisecond), firstPostAfter.Round(time.Millisecond), drain.Round(time.Millisecond))
	if len(accepted) != n || stored != n {
		t.Errorf("accepted %d, stored %d, want %d each", len(accepted), stored, n)
	}
	if once != n || twice != 0 || missing != 0 {
		t.Errorf("posted once %d of %d, twice %d %v, missing %d", once, n, twice, dup, missing)
	}
}
