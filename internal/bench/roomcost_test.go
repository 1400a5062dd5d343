package bench

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// postLikeBody has the shape of the gateway's room post for a text report
// (dispatch renders the real one): about 300 bytes with emoji, typographic
// quotes, a geo: URI (RFC 5870) and an OpenStreetMap link.
const postLikeBody = "\U0001F195 Meldung 2026-0000xx · Tiefbau Nord\n> Schlagloch vor Hausnummer 12, etwa 30 cm breit\n" +
	"\U0001F4CD geo:51.025100,7.591900 · https://www.openstreetmap.org/?mlat=51.025100&mlon=7.591900#map=18/51.025100/7.591900 · Quelle: App\n" +
	"Übernehmen: „ok 42“ · Erledigt: „erledigt 42“"

// BenchmarkRoomMessageServerCPU measures what the test XMPP server (the
// process of deploy/dev/services) spends per groupchat message that a
// component (XEP-0114) sends into a room (XEP-0045) with one member
// present, each confirmed by the member's copy: the floor's room message
// of fieldgate bench. Each case uses a fresh room with the service's
// defaults (archived, so every message gets a stanza-id). Cases: the
// floor's short message, and one shaped like fieldgate's post (body as
// postLikeBody plus the XEP-0359 origin-id), each in bursts (16 in
// flight) and paced at 70 messages/s (about fieldgate's rate in the
// text-c16 load). Metrics: server-CPU-ms/msg (from /proc/PID/stat, 10 ms
// steps, so give it 1,000 messages) and, for the post, x-floor (its CPU
// per message over the floor message's in the same mode and run).
//
//	go test -run '^$' -bench RoomMessageServerCPU -benchtime 1000x ./internal/bench/
func BenchmarkRoomMessageServerCPU(b *testing.B) {
	xenv := testsvc.XMPP(b)
	pid := serverPID(b, xenv.Server)
	member := testsvc.User(b)
	domain := testsvc.Component(b)
	ctx := context.Background()

	got := newSeen(roomMarkers)
	mc, err := login(ctx, xenv.C2S, Account{JID: member.JID, Password: member.Password}, got)
	if err != nil {
		b.Fatal(err)
	}
	defer mc.close()
	comp, err := dialComponent(ctx, xenv.ComponentAddr, domain, xenv.Secret)
	if err != nil {
		b.Fatal(err)
	}
	defer comp.close()

	run := randToken(4)
	floorCPU := map[string]float64{}
	for _, pace := range []struct {
		name  string
		every time.Duration
	}{{"burst", 0}, {"70-per-s", time.Second / 70}} {
		for _, post := range []bool{false, true} {
			name := "floor-message/" + pace.name
			if post {
				name = "post-like/" + pace.name
			}
			b.Run(name, func(b *testing.B) {
				room := fmt.Sprintf("fieldgate-roomcost-%s-%s@%s", run, strings.ReplaceAll(name, "/", "-"), xenv.MUC)
				enterRoom(ctx, b, comp, mc, got, room)
				defer destroyRoom(ctx, comp, room)
				before, err := ProcessCPU(pid)
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				sendConfirmed(ctx, b, comp, got, room, b.N, pace.every, post)
				b.StopTimer()
				after, err := ProcessCPU(pid)
				if err != nil {
					b.Fatal(err)
				}
				perMsg := float64(after-before) / float64(time.Millisecond) / float64(b.N)
				b.ReportMetric(perMsg, "server-CPU-ms/msg")
				if !post {
					floorCPU[pace.name] = perMsg
				} else if f := floorCPU[pace.name]; f > 0 {
					b.ReportMetric(perMsg/f, "x-floor")
				}
			})
		}
	}
}

// serverPID reads the pid of the test XMPP server from the pid file
// deploy/dev/services (or deploy/dev/ejabberd) keeps.
func serverPID(b *testing.B, server testsvc.XMPPServer) int {
	dir := os.Getenv("FIELDGATE_TEST_DIR")
	if dir == "" {
		b.Fatal("FIELDGATE_TEST_DIR is not set: source the services' env file (deploy/dev/services env DIR)")
	}
	file := filepath.Join(dir, "run", "prosody.pid")
	if server == testsvc.Ejabberd {
		file = filepath.Join(dir, "ejabberd", "ejabberd.pid")
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		b.Fatalf("pid of the XMPP server: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		b.Fatalf("pid of the XMPP server in %s: %v", file, err)
	}
	return pid
}

// enterRoom has the component create room (the service's defaults), admit
// the member and waits until a message reaches the member.
func enterRoom(ctx context.Context, b *testing.B, comp *componentConn, mc *client, got *seen, room string) {
	if err := comp.join(ctx, room, "floor"); err != nil {
		b.Fatal(err)
	}
	if err := comp.grantMember(ctx, room, mc.jid.Bare().String()); err != nil {
		b.Fatal(err)
	}
	for i := 0; ; i++ {
		if err := mc.join(ctx, room, "member"); err != nil {
			b.Fatal(err)
		}
		token := fmt.Sprintf("%s%s-probe-%d", floorPrefix, room, i)
		if err := comp.groupchat(ctx, room, token); err != nil {
			b.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := got.wait(wctx, token)
		cancel()
		if err == nil {
			return
		}
		if i == 15 {
			b.Fatalf("room %s reflects nothing to the member (%s)", room, comp.lastError())
		}
	}
}

// sendConfirmed sends n messages to room from 16 goroutines, each waiting
// for the member's copy of its message before the next; every > 0 paces
// the sends to one per every.
func sendConfirmed(ctx context.Context, b *testing.B, comp *componentConn, got *seen, room string, n int, every time.Duration, post bool) {
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if tick != nil {
					<-tick
				}
				token := fmt.Sprintf("%s%s-%d", floorPrefix, room, i)
				m := outMessage{From: comp.from(), To: room, ID: randToken(8), Type: "groupchat", Body: token}
				if post {
					m.ID = "fg-" + randToken(16)
					m.Body, m.OriginID = postLikeBody+"\n"+token, &originID{ID: m.ID}
				}
				if err := comp.sess.Encode(ctx, m); err != nil {
					errs <- err
					return
				}
				wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err := got.wait(wctx, token)
				cancel()
				if err != nil {
					errs <- fmt.Errorf("%w (%s)", err, comp.lastError())
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// destroyRoom removes room and its archive (XEP-0045 §10.9).
func destroyRoom(ctx context.Context, comp *componentConn, room string) {
	type destroy struct {
		XMLName xml.Name `xml:"http://jabber.org/protocol/muc#owner query"`
		Destroy struct{} `xml:"destroy"`
	}
	_ = comp.sess.Encode(ctx, struct {
		XMLName xml.Name `xml:"iq"`
		From    string   `xml:"from,attr"`
		To      string   `xml:"to,attr"`
		ID      string   `xml:"id,attr"`
		Type    string   `xml:"type,attr"`
		Query   destroy
	}{From: comp.from(), To: room, ID: randToken(8), Type: "set"})
}
