package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestIntakeLatency is a benchmark, not a test: it asserts nothing about
// time. It measures, against the real services, the time from a field
// worker's last part to the room post, and prints p50/p99 beside the raw
// floor measured in the same run (a component's post to a room confirmed
// by the room's reflection: what any XMPP gateway pays at least).
//
//	FIELDGATE_BENCH_INTAKE=1 [FIELDGATE_BENCH_N=30] go test -run TestIntakeLatency -v ./cmd/fieldgate/
func TestIntakeLatency(t *testing.T) {
	if os.Getenv("FIELDGATE_BENCH_INTAKE") == "" {
		t.Skip("a benchmark: set FIELDGATE_BENCH_INTAKE=1")
	}
	n := 30
	if v, err := strconv.Atoi(os.Getenv("FIELDGATE_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	s := startStack(t, map[string]string{"FIELDGATE_XMPP_UPLOAD_HOSTS": "http://" + testsvc.XMPP(t).HTTP,
		"FIELDGATE_REPORTS_DUPLICATE_DISTANCE_M": "-1"})
	nord, jugend := testsvc.Room("tiefbau", s.suffix), testsvc.Room("jugendamt", s.suffix)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	anna.JoinRoom(nord, "anna-"+s.suffix)
	carla := testsvc.Login(t, testsvc.DemoUser("carla"))
	carla.JoinRoom(jugend, "carla-"+s.suffix)
	// Senders take turns: the gateway limits each to 30 messages a minute
	// (burst 10), and an iteration sends four.
	var workers []*testsvc.Client
	for range 12 {
		workers = append(workers, testsvc.Login(t, testsvc.User(t)))
	}
	posted := func(c *testsvc.Client, marker string, corrected bool) {
		c.WaitMessage(60*time.Second, "the post of "+marker, func(m testsvc.Message) bool {
			return s.fromGateway(m) && strings.Contains(m.Body, marker) && (!corrected || m.Replace != nil && strings.Contains(m.Body, "📍 Bezirk"))
		})
	}
	floor := roomFloor(t, s.suffix, n)

	var single, lastPart, urgent, api []time.Duration
	for i := range n {
		w := workers[i%len(workers)]
		marker := fmt.Sprintf("bench-%s-%d", s.suffix, i)

		// One message with text and position: the post.
		start := time.Now()
		w.SendReport(s.address("tiefbau"), "", "neu Schlagloch "+marker+"a geo:51.0251,7.5919", "")
		posted(anna, marker+"a", false)
		single = append(single, time.Since(start))

		// Text, then the location as the last part: the corrected post.
		w.SendReport(s.address("tiefbau"), "", "neu Gully "+marker+"b", "")
		posted(anna, marker+"b", false)
		start = time.Now()
		w.SendReport(s.address("tiefbau"), "", "geo:51.0252,7.5918", "")
		posted(anna, marker+"b", true)
		lastPart = append(lastPart, time.Since(start))

		// Urgent address.
		start = time.Now()
		w.SendReport(s.address("jugendamt-bereitschaft"), "", "neu Kind allein "+marker+"c", "")
		posted(carla, marker+"c", false)
		urgent = append(urgent, time.Since(start))

		// HTTP with the same content as the first.
		body, ct := form(t, map[string]string{"to": "tiefbau", "text": "Ampel " + marker + "d", "lat": "51.0251", "lon": "7.5919"}, nil)
		start = time.Now()
		if resp, out := s.post(s.token, body, ct); resp.StatusCode != 202 {
			t.Fatalf("POST: %d %v", resp.StatusCode, out)
		}
		posted(anna, marker+"d", false)
		api = append(api, time.Since(start))
	}
	p50floor := pct(floor, 50)
	report := func(name string, d []time.Duration) {
		p50, p99 := pct(d, 50), pct(d, 99)
		t.Logf("%-40s n=%d p50=%7.1fms p99=%7.1fms  p50/floor=%5.1fx", name, len(d), ms(p50), ms(p99), float64(p50)/float64(p50floor))
	}
	report("floor: component room post → reflection", floor)
	report("xmpp: message with position → post", single)
	report("xmpp: last part (geo:) → corrected post", lastPart)
	report("xmpp: urgent address → post", urgent)
	report("http: POST /api/v1/reports → post", api)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pct is the p-th percentile (nearest rank) of d.
func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

// roomFloor logs in as a second component of its own (XEP-0114), creates
// a room, and times n posts until the room reflects each.
func roomFloor(t *testing.T, suffix string, n int) []time.Duration {
	t.Helper()
	x := testsvc.XMPP(t)
	name := testsvc.Component(t)
	c, err := net.DialTimeout("tcp", x.ComponentAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	fmt.Fprintf(c, "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='%s'>", name)
	r := bufio.NewReader(c)
	header, err := r.ReadString('>')
	for err == nil && !strings.Contains(header, "<stream:stream") {
		header, err = r.ReadString('>')
	}
	m := regexp.MustCompile(`id=['"]([^'"]+)['"]`).FindStringSubmatch(header)
	if err != nil || m == nil {
		t.Fatalf("component stream header %q: %v", header, err)
	}
	sum := sha1.Sum([]byte(m[1] + x.Secret))
	fmt.Fprintf(c, "<handshake>%s</handshake>", hex.EncodeToString(sum[:]))
	if reply, err := r.ReadString('>'); err != nil || !strings.HasPrefix(reply, "<handshake") {
		t.Fatalf("component %s not accepted: %q %v", name, reply, err)
	}
	dec := xml.NewDecoder(r)
	from := "floor@" + name + "/bench"
	room := "floor-" + suffix + "@" + x.MUC
	type stanza struct {
		XMLName xml.Name
		ID      string `xml:"id,attr"`
		From    string `xml:"from,attr"`
		Type    string `xml:"type,attr"`
	}
	next := func() stanza {
		for {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("component stream: %v", err)
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local != "stream" {
				var st stanza
				if err := dec.DecodeElement(&st, &se); err != nil {
					t.Fatalf("component stream: %v", err)
				}
				return st
			}
		}
	}
	fmt.Fprintf(c, "<presence from='%s' to='%s/floor'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>", from, room)
	for st := next(); !(st.XMLName.Local == "presence" && st.From == room+"/floor"); st = next() {
		if st.Type == "error" {
			t.Fatalf("joining %s: error", room)
		}
	}
	out := make([]time.Duration, 0, n)
	for i := range n {
		id := fmt.Sprintf("floor-%d", i)
		start := time.Now()
		fmt.Fprintf(c, "<message from='%s' to='%s' type='groupchat' id='%s'><body>floor %d</body><origin-id xmlns='urn:xmpp:sid:0' id='%s'/></message>",
			from, room, id, i, id)
		for st := next(); !(st.XMLName.Local == "message" && st.ID == id); st = next() {
		}
		out = append(out, time.Since(start))
	}
	fmt.Fprintf(c, "<presence from='%s' to='%s/floor' type='unavailable'/></stream:stream>", from, room)
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<16))
	return out
}
