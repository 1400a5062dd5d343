package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

// shakyMessenger records like recorder, but each 1:1 message takes a
// random 0–15 ms to write, and the first attempt of every message whose
// body contains failFirst fails (the XMPP connection broke), so that a
// later message of the same conversation has every chance to overtake it.
type shakyMessenger struct {
	recorder
	failFirst string

	mu    sync.Mutex
	tried map[string]bool
}

var errShaky = errors.New("stream closed")

func (m *shakyMessenger) SendChat(ctx context.Context, c dispatch.ChatMessage) error {
	time.Sleep(time.Duration(rand.IntN(15)) * time.Millisecond)
	m.mu.Lock()
	first := !m.tried[c.ID]
	m.tried[c.ID] = true
	m.mu.Unlock()
	if first && m.failFirst != "" && strings.Contains(c.Body, m.failFirst) {
		return errShaky
	}
	return m.recorder.SendChat(ctx, c)
}

// TestRepliesKeepTheirOrderPerSender: eight field workers at once each
// send a report (every other one with a photo, routed after its commit),
// a second message that joins it as a part (processed after its own
// commit) and a third that opens a case of its own ("neu …"); the first
// send of every "angenommen" fails, and every send takes a random few
// milliseconds. Each worker must read "Meldung A angenommen", "Zu Meldung A
// hinzugefügt" and "Meldung B angenommen" once each, the first two in this
// order: the part's reply may not overtake the case's reply that is
// waiting for its retry.
func TestRepliesKeepTheirOrderPerSender(t *testing.T) {
	pool := testsvc.Pool(t)
	m := &shakyMessenger{failFirst: "angenommen", tried: map[string]bool{}}
	sm := &slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 5 * time.Millisecond }}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: m, Media: sm,
		Config: dispatch.Config{DuplicateDistance: -1, AssemblyWindow: time.Minute}})
	start(t, svc)
	ctx := context.Background()

	const workers = 8
	cases := make([][2]string, workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			sender := fmt.Sprintf("order%d@stadt.localhost", w)
			pos := &dispatch.Position{Lat: 51.02 + float64(w)*0.001, Lon: 7.59}
			first := dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: sender,
				IdempotencyKey: "origin:o1", Text: "Schlagloch", Position: pos, PositionSource: dispatch.SourceGeoURI}
			if w%2 == 1 {
				first.Media = []media.Object{attackObject()}
			}
			msgs := []dispatch.NewReport{first,
				{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: sender, IdempotencyKey: "origin:o2", Text: "vor Nr. 12"},
				{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: sender, IdempotencyKey: "origin:o3", Text: "neu Laterne defekt",
					Position: pos, PositionSource: dispatch.SourceGeoURI},
			}
			var recs []dispatch.Receipt
			for _, in := range msgs { // one at a time, as the gateway takes a sender's messages
				r, err := svc.Intake(ctx, in)
				if err != nil {
					errs <- fmt.Errorf("%s: %w", sender, err)
					return
				}
				recs = append(recs, r)
			}
			if recs[1].Mode != dispatch.ModeAppended || recs[1].CaseNumber != recs[0].CaseNumber || recs[2].Mode != dispatch.ModeNew {
				errs <- fmt.Errorf("%s: receipts %+v: want a case, a part of it, a new case", sender, recs)
				return
			}
			cases[w] = [2]string{recs[0].CaseNumber, recs[2].CaseNumber}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := func(w int) []string {
		return []string{"Meldung " + cases[w][0] + " angenommen", "Zu Meldung " + cases[w][0] + " hinzugefügt", "Meldung " + cases[w][1] + " angenommen"}
	}
	got := func(w int) []string {
		_, chats := m.snapshot()
		var seq []string
		for _, c := range chats {
			if c.To == fmt.Sprintf("order%d@stadt.localhost", w) {
				seq = append(seq, c.Body)
			}
		}
		return seq
	}
	waitFor(t, "every worker's three replies", func() bool {
		for w := range workers {
			if len(got(w)) < 3 {
				return false
			}
		}
		return true
	})
	time.Sleep(300 * time.Millisecond) // time for a repeated reply to show
	for w := range workers {
		// The part's reply is committed after its case's; the third
		// message's case is independent of both (the part is processed
		// after its own commit, the third message may overtake it).
		seq := got(w)
		at := map[string]int{}
		for i, body := range seq {
			for _, prefix := range want(w) {
				if strings.HasPrefix(body, prefix) {
					at[prefix] = i + 1
				}
			}
		}
		accepted, part := at[want(w)[0]], at[want(w)[1]]
		if len(seq) != 3 || len(at) != 3 || accepted == 0 || part < accepted {
			t.Errorf("worker %d read, in this order:\n  %s\nwant each of these once, the first two in this order:\n  %s", w, strings.Join(seq, "\n  "), strings.Join(want(w), "\n  "))
		}
	}
	waitOutboxEmpty(t, pool)
}

// waitOutboxEmpty waits until every 1:1 message is sent and its row gone.
func waitOutboxEmpty(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	waitFor(t, "chat_outbox empty", func() bool {
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM chat_outbox`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}
