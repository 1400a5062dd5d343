package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/gateway/omemo"
	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/routing"
)

// The stanza shapes in this file are those real messengers send (taken
// from their sources and the XEPs they implement); each test feeds one
// through the gateway's decoder and 1:1 handler and checks what the
// domain is handed and what the sender is told.

// intakeDisp records the reports handed to the domain.
type intakeDisp struct {
	fakeDisp
	mu      sync.Mutex
	reports []dispatch.NewReport
}

func (d *intakeDisp) Intake(_ context.Context, in dispatch.NewReport) (dispatch.Receipt, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reports = append(d.reports, in)
	return dispatch.Receipt{CaseNumber: "2026-000001"}, nil
}

func (d *intakeDisp) got() []dispatch.NewReport {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]dispatch.NewReport(nil), d.reports...)
}

// wire is what the gateway wrote on its session.
type wire struct {
	mu  sync.Mutex
	out bytes.Buffer
}

func (w *wire) Read([]byte) (int, error) { select {} }
func (w *wire) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(p)
}

// sent decodes the messages written so far.
func (w *wire) sent(t *testing.T) []sentMessage {
	t.Helper()
	w.mu.Lock()
	raw := w.out.String()
	w.mu.Unlock()
	d := xml.NewDecoder(strings.NewReader("<s>" + raw + "</s>"))
	var out []sentMessage
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("gateway wrote bad XML: %v\n%s", err, raw)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "message" {
			var m sentMessage
			if err := d.DecodeElement(&m, &se); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
	}
}

type sentMessage struct {
	To       string `xml:"to,attr"`
	Type     string `xml:"type,attr"`
	Body     string `xml:"body"`
	Received *struct {
		ID string `xml:"id,attr"`
	} `xml:"urn:xmpp:receipts received"`
	Error *struct {
		Text string `xml:"text"`
	} `xml:"error"`
}

// bodies are the chat texts the gateway sent.
func bodies(ms []sentMessage) []string {
	var out []string
	for _, m := range ms {
		if m.Body != "" {
			out = append(out, m.Body)
		}
	}
	return out
}

// newMessengerGateway is a gateway for testRules whose sends go to the
// returned wire and whose reports to the returned domain.
func newMessengerGateway(t *testing.T, hosts ...string) (*Gateway, *intakeDisp, *wire) {
	t.Helper()
	return newMessengerGatewayMedia(t, noMedia{}, hosts...)
}

// newMessengerGatewayMedia is newMessengerGateway storing attachments in m
// and fetching from hosts besides upload.stadt.example.
func newMessengerGatewayMedia(t *testing.T, m Media, hosts ...string) (*Gateway, *intakeDisp, *wire) {
	t.Helper()
	d := &intakeDisp{}
	g, w := newMessengerGatewayWith(t, d, m, hosts...)
	return g, d, w
}

// newMessengerGatewayDisp is newMessengerGateway with the dispatcher d.
func newMessengerGatewayDisp(t *testing.T, d Dispatcher) (*Gateway, *wire) {
	t.Helper()
	return newMessengerGatewayWith(t, d, noMedia{})
}

func newMessengerGatewayWith(t *testing.T, d Dispatcher, m Media, hosts ...string) (*Gateway, *wire) {
	t.Helper()
	g, err := New(Config{Addr: "127.0.0.1:1", Domain: "reports.stadt.example", Secret: "s",
		Fetch: FetchConfig{Hosts: append([]string{"upload.stadt.example"}, hosts...)}},
		d, staticRules{loadRules(t, strings.Replace(testRules, "addresses:\n", "addresses:\n  info:\n    display_name: Info\n    language: en\n    allow: [public]\n  geheim:\n    display_name: Geheim\n    encryption: required\n    allow: [public]\n", 1))}, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{}
	ready := func(context.Context, *stream.Info, *stream.Info, *xmpp.Session, any) (xmpp.SessionState, io.ReadWriter, any, error) {
		return xmpp.Ready, nil, nil, nil
	}
	s, err := xmpp.NewSession(context.Background(), jid.MustParse("reports.stadt.example"), jid.MustParse("reports.stadt.example"), w, xmpp.Secure, ready)
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	g.sess = s
	g.mu.Unlock()
	return g, w
}

// deliver decodes raw as the handler does and handles it as a 1:1 message.
func deliver(t *testing.T, g *Gateway, raw string) {
	t.Helper()
	var m inMessage
	if err := xml.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("decode: %v\n%s", err, raw)
	}
	g.onMessage(context.Background(), &m)
}

const fromPatrol = `from="streife1@stadt.example/phone" to="tiefbau@reports.stadt.example"`

// loadRules loads a rules file with the given text.
func loadRules(t *testing.T, text string) *routing.RuleSet {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := routing.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func near(a, b float64) bool { return math.Abs(a-b) < 3e-5 }

// TestMapLinksGiveThePosition: the share links of map apps carry the
// position; each becomes the report's position, and the link is not
// repeated as text. Short links that only the map service could open
// are never fetched: the sender is asked for a readable position.
func TestMapLinksGiveThePosition(t *testing.T) {
	cases := []struct {
		link     string
		lat, lon float64
	}{
		{"https://www.openstreetmap.org/?mlat=51.02510&mlon=7.59190#map=19/51.02510/7.59190", 51.0251, 7.5919},
		{"https://www.openstreetmap.org/#map=18/51.02510/7.59190", 51.0251, 7.5919},
		{"https://osm.org/go/0GAjIv8h", 50.671530961990356, 6.09715461730957},
		{"https://osm.org/go/0OP4tR~rx?m=", 51.876, 19.579},
		{"http://osm.org/go/0D_QEtY0--", 50.11111, 10.55554},
		{"https://maps.google.com/?q=51.0251,7.5919", 51.0251, 7.5919},
		{"https://maps.google.de/maps?q=loc:51.0251,+7.5919&z=17", 51.0251, 7.5919},
		{"https://www.google.com/maps/@51.0251,7.5919,17z", 51.0251, 7.5919},
		{"https://www.google.de/maps/place/Rathaus/@51.0240,7.5900,17z/data=!3m1!4b1!4m6!3m5!1s0x0:0x0!8m2!3d51.0251!4d7.5919", 51.0251, 7.5919},
		{"https://www.google.com/maps/search/?api=1&query=51.0251%2C7.5919", 51.0251, 7.5919},
		{"https://maps.apple.com/?ll=51.0251,7.5919&q=Dropped%20Pin", 51.0251, 7.5919},
		{"https://maps.apple.com/place?coordinate=51.0251,7.5919&name=Marked%20Location", 51.0251, 7.5919},
		{"https://osmand.net/map?pin=51.0251,7.5919#17/51.0251/7.5919", 51.0251, 7.5919},
		{"https://www.google.com/maps/dir/?api=1&destination=51.0251,7.5919", 51.0251, 7.5919},
		{"https://maps.google.com/maps?saddr=Current+Location&daddr=51.0251,7.5919", 51.0251, 7.5919},
		{"https://ul.waze.com/ul?ll=51.0251%2C7.5919&navigate=yes", 51.0251, 7.5919},
		{"https://www.bing.com/maps?cp=51.0251~7.5919&lvl=17", 51.0251, 7.5919},
		{"https://share.here.com/l/51.0251,7.5919,Schlagloch?z=17", 51.0251, 7.5919},
		{"geo:0,0?q=51.0251,7.5919(Schlagloch)", 51.0251, 7.5919},
		{"GEO:51.0251,7.5919;crs=wgs84;u=12", 51.0251, 7.5919},
	}
	for _, c := range cases {
		g, d, w := newMessengerGateway(t)
		deliver(t, g, `<message `+fromPatrol+` id="m1" type="chat"><body>Schlagloch hier: `+xmlEscape(c.link)+`</body></message>`)
		r := d.got()
		if len(r) != 1 || r[0].Position == nil {
			t.Errorf("%s: reports %+v, replies %q", c.link, r, bodies(w.sent(t)))
			continue
		}
		if p := r[0].Position; !near(p.Lat, c.lat) || !near(p.Lon, c.lon) {
			t.Errorf("%s: position %.6f,%.6f, want %.6f,%.6f", c.link, p.Lat, p.Lon, c.lat, c.lon)
		}
		if strings.Contains(r[0].Text, "http") || strings.Contains(strings.ToLower(r[0].Text), "geo:") {
			t.Errorf("%s: the link is still report text: %q", c.link, r[0].Text)
		}
	}
	for _, short := range []string{"https://maps.app.goo.gl/AbCdEf123", "https://goo.gl/maps/xyz", "https://osm.org/go/0EEQhq--",
		"https://www.openstreetmap.org/#map=11/51.0251/7.5919", "https://www.google.com/maps/@51.0251,7.5919,12z"} {
		g, d, w := newMessengerGateway(t)
		deliver(t, g, `<message `+fromPatrol+` id="m2" type="chat"><body>`+short+`</body></message>`)
		if r := d.got(); len(r) != 0 {
			t.Errorf("%s alone was stored: %+v", short, r)
		}
		replies := bodies(w.sent(t))
		if len(replies) != 1 || !strings.Contains(replies[0], short) || !strings.Contains(replies[0], "geo:51.0251,7.5919") {
			t.Errorf("%s: replies %q, want one hint naming the link and the right form", short, replies)
		}
	}
	// A link that was all of the message leaves its place's name as text.
	for link, label := range map[string]string{
		"https://www.google.de/maps/place/Rathaus+L%C3%BCdenscheid/@51.0240,7.5900,17z/data=!3d51.0251!4d7.5919": "Rathaus Lüdenscheid",
		"https://maps.apple.com/?ll=51.0251,7.5919&q=Spielplatz%20Sternplatz":                                    "Spielplatz Sternplatz",
		"https://maps.apple.com/?ll=51.0251,7.5919&q=51.0251,7.5919":                                             "",
	} {
		g, d, _ := newMessengerGateway(t)
		deliver(t, g, `<message `+fromPatrol+` id="m4" type="chat"><body>`+xmlEscape(link)+`</body></message>`)
		if r := d.got(); len(r) != 1 || r[0].Position == nil || r[0].Text != label {
			t.Errorf("%s: reports %+v, want text %q", link, r, label)
		}
	}
	// A search for an address is no position, and stays the report's text.
	g, d, _ := newMessengerGateway(t)
	deliver(t, g, `<message `+fromPatrol+` id="m3" type="chat"><body>Baum https://maps.google.com/?q=Hauptstra%C3%9Fe+3</body></message>`)
	if r := d.got(); len(r) != 1 || r[0].Position != nil || !strings.Contains(r[0].Text, "maps.google.com") {
		t.Errorf("address search: %+v", r)
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// TestGeolocWithBadNumberKeepsTheReport: an XEP-0080 location whose
// number a client wrote with a decimal comma, or not at all, must not
// make the message undecodable: the text is stored and the sender is
// told why the location was not taken. A good one is the position.
func TestGeolocWithBadNumberKeepsTheReport(t *testing.T) {
	g, d, w := newMessengerGateway(t)
	deliver(t, g, `<message `+fromPatrol+` id="g1" type="chat"><body>Ampel defekt</body>
	  <geoloc xmlns="http://jabber.org/protocol/geoloc"><lat>51,0251</lat><lon>7,5919</lon><accuracy>ca. 10</accuracy></geoloc></message>`)
	r := d.got()
	if len(r) != 1 || r[0].Text != "Ampel defekt" || r[0].Position != nil {
		t.Fatalf("reports %+v", r)
	}
	if replies := bodies(w.sent(t)); len(replies) != 1 || !strings.Contains(replies[0], "XEP-0080") {
		t.Errorf("replies %q, want a hint about the shared location", replies)
	}
	g, d, _ = newMessengerGateway(t)
	deliver(t, g, `<message `+fromPatrol+` id="g2" type="chat"><body>Ampel defekt</body>
	  <geoloc xmlns="http://jabber.org/protocol/geoloc"><lat> 51.0251 </lat><lon>7.5919</lon></geoloc></message>`)
	if r := d.got(); len(r) != 1 || r[0].Position == nil || r[0].PositionSource != dispatch.SourceXEP0080 || !near(r[0].Position.Lat, 51.0251) {
		t.Fatalf("reports %+v", r)
	}
}

// TestRepliesInTheSendersLanguage: xml:lang="en" is what Prosody stamps
// on the stanzas of every client that declared no language, and what
// Conversations declares on every phone, so it leaves a German address
// German (for reports and for the unknown-address error); a "de" the
// client chose makes an English address answer in German.
func TestRepliesInTheSendersLanguage(t *testing.T) {
	for _, c := range []struct{ to, lang, want, word string }{
		{"tiefbau", "en", "de", "Standort"}, {"tiefbau", "en-GB", "de", "Standort"}, {"tiefbau", "", "de", "Standort"},
		{"tiefbau", "fr", "de", "Standort"}, {"info", "de-DE", "de", "Standort"}, {"info", "en", "en", "location"},
		{"info", "", "en", "location"},
	} {
		g, d, w := newMessengerGateway(t)
		to := `from="streife1@stadt.example/phone" to="` + c.to + `@reports.stadt.example"`
		deliver(t, g, `<message `+to+` id="l1" type="chat" xml:lang="`+c.lang+`"><body>geo:51,7</body></message>`)
		replies := bodies(w.sent(t))
		if len(replies) != 1 || !strings.Contains(replies[0], c.word) {
			t.Errorf("%s, xml:lang %q: replies %q, want %q", c.to, c.lang, replies, c.word)
		}
		deliver(t, g, `<message `+to+` id="l2" type="chat" xml:lang="`+c.lang+`"><body>Schlagloch</body></message>`)
		if r := d.got(); len(r) != 1 || r[0].Language != c.want {
			t.Errorf("%s, xml:lang %q: report %+v, want language %s", c.to, c.lang, r, c.want)
		}
	}
	g, _, w := newMessengerGateway(t)
	deliver(t, g, `<message from="streife1@stadt.example/phone" to="gibtsnicht@reports.stadt.example" id="u1" type="chat" xml:lang="en"><body>Hallo</body></message>`)
	if s := w.sent(t); len(s) != 1 || s[0].Error == nil || !strings.Contains(s[0].Error.Text, "Unbekannte") {
		t.Errorf("unknown address: %+v, want a German error", s)
	}
}

// TestReplyFallbackNotReportText: an XEP-0461 reply to one of the
// gateway's messages carries the quoted text as an XEP-0428 fallback
// (Conversations, Monal, Dino) or as "> " lines without markup (older
// clients); only what the sender wrote becomes report text.
func TestReplyFallbackNotReportText(t *testing.T) {
	quote := "> Meldung 2026-000001 angenommen.\n"
	n := len([]rune(quote))
	shapes := map[string]string{
		"fallback": `<message ` + fromPatrol + ` id="r1" type="chat"><body>` + quote + `Hausnummer 12</body>
		  <reply xmlns="urn:xmpp:reply:0" to="tiefbau@reports.stadt.example" id="fg-1"/>
		  <fallback xmlns="urn:xmpp:fallback:0" for="urn:xmpp:reply:0"><body start="0" end="` + strconv.Itoa(n) + `"/></fallback></message>`,
		"plain quote": `<message ` + fromPatrol + ` id="r2" type="chat"><body>` + quote + `Hausnummer 12</body>
		  <reply xmlns="urn:xmpp:reply:0" to="tiefbau@reports.stadt.example" id="fg-1"/></message>`,
		"bad range": `<message ` + fromPatrol + ` id="r3" type="chat"><body>Hausnummer 12</body>
		  <reply xmlns="urn:xmpp:reply:0" id="fg-1"/>
		  <fallback xmlns="urn:xmpp:fallback:0" for="urn:xmpp:reply:0"><body start="5" end="900"/></fallback></message>`,
	}
	for name, raw := range shapes {
		g, d, _ := newMessengerGateway(t)
		deliver(t, g, raw)
		if r := d.got(); len(r) != 1 || r[0].Text != "Hausnummer 12" {
			t.Errorf("%s: reports %+v, want the text without the quote", name, r)
		}
	}
}

// TestNoReportFromReactionsHeadlinesAndStates: a reaction to one of our
// messages (with or without a fallback body), a headline, chat states,
// markers and receipts alone store nothing and get no answer.
func TestNoReportFromReactionsHeadlinesAndStates(t *testing.T) {
	for name, raw := range map[string]string{
		"reaction":          `<message ` + fromPatrol + ` id="x1" type="chat"><reactions xmlns="urn:xmpp:reactions:0" id="fg-1"><reaction>👍</reaction></reactions></message>`,
		"reaction+fallback": `<message ` + fromPatrol + ` id="x2" type="chat"><body>👍</body><reactions xmlns="urn:xmpp:reactions:0" id="fg-1"><reaction>👍</reaction></reactions><fallback xmlns="urn:xmpp:fallback:0" for="urn:xmpp:reactions:0"/></message>`,
		"headline":          `<message ` + fromPatrol + ` id="x3" type="headline"><body>Server-Wartung heute Nacht</body></message>`,
		"composing":         `<message ` + fromPatrol + ` id="x4" type="chat"><composing xmlns="http://jabber.org/protocol/chatstates"/></message>`,
		"displayed":         `<message ` + fromPatrol + ` id="x5" type="chat"><displayed xmlns="urn:xmpp:chat-markers:0" id="fg-1"/></message>`,
	} {
		g, d, w := newMessengerGateway(t)
		deliver(t, g, raw)
		if r := d.got(); len(r) != 0 {
			t.Errorf("%s stored: %+v", name, r)
		}
		if s := w.sent(t); len(s) != 0 {
			t.Errorf("%s answered: %+v", name, s)
		}
	}
}

// TestMessageShapesOfRealClients: subject-only and several-language
// messages, XEP-0447 file shares, corrections, and a file on a server
// that is not allowed.
func TestMessageShapesOfRealClients(t *testing.T) {
	run := func(raw string) ([]dispatch.NewReport, []string) {
		g, d, w := newMessengerGateway(t)
		deliver(t, g, raw)
		return d.got(), bodies(w.sent(t))
	}
	// Gajim's single message with only a subject.
	if r, _ := run(`<message ` + fromPatrol + ` id="s1" type="normal"><subject>Ölspur Kreuzung Nord</subject></message>`); len(r) != 1 || r[0].Text != "Ölspur Kreuzung Nord" {
		t.Errorf("subject only: %+v", r)
	}
	// Several bodies (RFC 6121 §5.2.3): the one in the stanza's language, once.
	if r, _ := run(`<message ` + fromPatrol + ` id="s2" type="chat" xml:lang="de"><body xml:lang="en">Pothole</body><body>Schlagloch</body></message>`); len(r) != 1 || r[0].Text != "Schlagloch" {
		t.Errorf("several bodies: %+v", r)
	}
	// XEP-0447 file share from a server that is not allowed, without a body:
	// the sender is told, the link is kept as text, nothing is fetched.
	r, replies := run(`<message ` + fromPatrol + ` id="s3" type="chat">
	  <file-sharing xmlns="urn:xmpp:sfs:0" disposition="inline"><file xmlns="urn:xmpp:file:metadata:0"><media-type>image/jpeg</media-type><name>IMG_1.jpg</name><size>2048</size></file>
	  <sources><url-data xmlns="http://jabber.org/protocol/url-data" target="https://upload.elsewhere.example/f/IMG_1.jpg"/></sources></file-sharing></message>`)
	if len(r) != 1 || len(r[0].Media) != 0 || !strings.Contains(r[0].Text, "https://upload.elsewhere.example/f/IMG_1.jpg") {
		t.Errorf("foreign SFS file: %+v", r)
	}
	if len(replies) != 1 || !strings.Contains(replies[0], "upload.elsewhere.example") || strings.Contains(replies[0], "IMG_1") {
		t.Errorf("foreign SFS file: replies %q, want one naming the host only", replies)
	}
	// Conversations' OOB from a foreign upload service, URL also in the body.
	r, replies = run(`<message ` + fromPatrol + ` id="s4" type="chat"><body>https://share.other.example/u/abc.jpg</body><x xmlns="jabber:x:oob"><url>https://share.other.example/u/abc.jpg</url></x></message>`)
	if len(r) != 1 || strings.Count(r[0].Text, "https://share.other.example/u/abc.jpg") != 1 || len(replies) != 1 || !strings.Contains(replies[0], "share.other.example") {
		t.Errorf("foreign OOB file: %+v, replies %q", r, replies)
	}
	// A link in prose (not sent as a file) is text, not a refused file.
	if _, replies = run(`<message ` + fromPatrol + ` id="s5" type="chat"><body>siehe https://www.stadt.example/baustellen</body></message>`); len(replies) != 0 {
		t.Errorf("a link in prose was answered as a refused file: %q", replies)
	}
	// XEP-0308: a correction is marked as one, with what it corrects.
	r, _ = run(`<message ` + fromPatrol + ` id="s6" type="chat"><body>Schlagloch vor Nr. 14</body><replace xmlns="urn:xmpp:message-correct:0" id="s0"/><origin-id xmlns="urn:xmpp:sid:0" id="s6"/></message>`)
	if len(r) != 1 || r[0].Text != "✏️ Korrektur: Schlagloch vor Nr. 14" || r[0].Attributes["xmpp_corrects"] != "s0" || r[0].IdempotencyKey != "origin:s6" {
		t.Errorf("correction: %+v", r)
	}
}

// keptMedia keeps what is stored, by generated key.
type keptMedia struct {
	mu      sync.Mutex
	objects map[string][]byte
	deleted []string
}

func (k *keptMedia) Put(_ context.Context, r io.Reader) (media.Object, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return media.Object{}, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.objects == nil {
		k.objects = map[string][]byte{}
	}
	key := "obj-" + strconv.Itoa(len(k.objects)+1)
	k.objects[key] = b
	return media.Object{Key: key, Size: int64(len(b))}, nil
}

func (k *keptMedia) PutHold(ctx context.Context, r io.Reader, _ int64, _ func(media.Object, []byte)) (media.Object, error) {
	return k.Put(ctx, r)
}

func (k *keptMedia) Delete(_ context.Context, keys ...string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.deleted = append(k.deleted, keys...)
	return nil
}

// TestPlainAesgcmLinkNeverBecomesText: an XEP-0454 aesgcm:// link in a
// message that was not encrypted carries the file's key in its fragment.
// From an allowed upload host the file is fetched and opened and the
// link leaves the text; from any other host nothing is fetched, nothing
// of the message is stored, and the sender is asked to send it again.
func TestPlainAesgcmLinkNeverBecomesText(t *testing.T) {
	photo := []byte("\xff\xd8\xff\xe0 not really a photo")
	sealed, err := omemo.SealFile(rand.Reader, photo)
	if err != nil {
		t.Fatal(err)
	}
	srv, entry := devServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write(sealed.Ciphertext) })
	link, err := sealed.Link(srv.URL + "/upload/abc/photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	km := &keptMedia{}
	g, d, w := newMessengerGatewayMedia(t, km, entry)
	deliver(t, g, `<message `+fromPatrol+` id="a1" type="chat"><body>Schaden `+xmlEscape(link)+`</body></message>`)
	r := d.got()
	if len(r) != 1 || r[0].Text != "Schaden" || len(r[0].Media) != 1 || !bytes.Equal(km.objects[r[0].Media[0].Key], photo) {
		t.Fatalf("reports %+v, stored %d objects, replies %q", r, len(km.objects), bodies(w.sent(t)))
	}
	frag := link[strings.IndexByte(link, '#')+1:]
	for _, b := range bodies(w.sent(t)) {
		if strings.Contains(b, frag) {
			t.Errorf("a reply repeats the key: %q", b)
		}
	}

	foreign, err := sealed.Link("https://files.elsewhere.example/u/photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	g, d, w = newMessengerGatewayMedia(t, &keptMedia{}, entry)
	deliver(t, g, `<message `+fromPatrol+` id="a2" type="chat"><body>Schaden `+xmlEscape(foreign)+`</body><request xmlns="urn:xmpp:receipts"/></message>`)
	if r := d.got(); len(r) != 0 {
		t.Fatalf("stored although its file was not taken: %+v", r)
	}
	sent := w.sent(t)
	if replies := bodies(sent); len(replies) != 1 || !strings.Contains(replies[0], "NICHT angenommen") {
		t.Errorf("replies %q, want one saying the message was not accepted", replies)
	}
	for _, m := range sent {
		if m.Received != nil {
			t.Errorf("a receipt for a message that was not stored: %+v", m)
		}
	}
}

// TestTypedCoordinates: coordinates pasted from map apps, decimal or in
// degrees, minutes and seconds, with hemisphere letters (German "O" for
// east), are the position; numbers that are no coordinates are not.
func TestTypedCoordinates(t *testing.T) {
	for text, want := range map[string][2]float64{
		"Schlagloch 51.0251, 7.5919":                  {51.0251, 7.5919},
		"Schlagloch 51.025100,7.591900 Ecke Ringstr.": {51.0251, 7.5919},
		"51.0251 7.5919":                              {51.0251, 7.5919},
		"Standort: 51.0251° N, 7.5919° E":             {51.0251, 7.5919},
		"Standort: 51.0251° N, 7.5919° O":             {51.0251, 7.5919},
		"-33.8688, 151.2093 Sydney":                   {-33.8688, 151.2093},
		"40.7128° S, 74.0060° W":                      {-40.7128, -74.006},
		`Baum 51°01'30.4"N 7°35'30.8"E`:               {51.025111, 7.591889},
		`51° 1′ 30,4″ N, 7° 35′ 30,8″ O`:              {51.025111, 7.591889},
	} {
		f := findCoordinates(text)
		if !f.OK || !near(f.Point.Lat, want[0]) || !near(f.Point.Lon, want[1]) {
			t.Errorf("%q: %+v, want %v", text, f, want)
			continue
		}
		if rest := withoutGeoURI(text, f.URI); strings.ContainsAny(rest, "0123456789°") {
			t.Errorf("%q: the coordinates stay in the text: %q", text, rest)
		}
	}
	for _, text := range []string{
		"Hausnummer 12, 7.5 m breit", "Zähler 1234.5678 9", "Version 1.2.3456 7.8901", "geo 95.0000, 7.5919",
		"0.0000, 0.0000", "Telefon 0221.12345678", "51.0251", "12.34567890123",
		"https://www.google.com/maps/@51.0251,7.5919,12z", "https://example.org/a/51.0251/7.5919/x",
	} {
		if f := findCoordinates(text); f.OK {
			t.Errorf("%q read as a position: %+v", text, f)
		}
	}
	g, d, _ := newMessengerGateway(t)
	deliver(t, g, `<message `+fromPatrol+` id="c1" type="chat"><body>Ampel aus 51.0251, 7.5919</body></message>`)
	if r := d.got(); len(r) != 1 || r[0].Position == nil || r[0].Text != "Ampel aus" {
		t.Errorf("reports %+v", r)
	}
}

// refusingMedia refuses every attachment as a type not allowed (an
// iPhone's video/quicktime, say).
type refusingMedia struct{ noMedia }

func (refusingMedia) PutHold(_ context.Context, r io.Reader, _ int64, _ func(media.Object, []byte)) (media.Object, error) {
	_, _ = io.Copy(io.Discard, r)
	return media.Object{}, &media.TypeNotAllowedError{Detected: "video/quicktime"}
}

// TestFailedFileOnlyMessage: a file shared without a body (XEP-0447, or
// OOB alone) that cannot be taken still makes a report that names where
// the file is, never an "empty report" refusal after "the text was
// accepted"; the sender is asked to send it again only when that can
// help (a download that failed), not for a type that is not allowed.
func TestFailedFileOnlyMessage(t *testing.T) {
	srv, entry := devServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/b/") {
			http.Error(w, "gone", http.StatusNotFound)
			return
		}
		w.Write([]byte("\x00\x00\x00\x14ftypqt  "))
	})
	sfs := func(url string) string {
		return `<message ` + fromPatrol + ` id="f1" type="chat"><file-sharing xmlns="urn:xmpp:sfs:0"><file xmlns="urn:xmpp:file:metadata:0"><name>IMG_0001.MOV</name></file>` +
			`<sources><url-data xmlns="http://jabber.org/protocol/url-data" target="` + url + `"/></sources></file-sharing></message>`
	}
	for _, c := range []struct {
		name   string
		m      Media
		url    string
		resend bool
	}{
		{"type not allowed", refusingMedia{}, srv.URL + "/upload/a/IMG_0001.MOV", false},
		{"download failed", noMedia{}, srv.URL + "/upload/b/IMG_0002.jpg", true},
	} {
		g, d, w := newMessengerGatewayMedia(t, c.m, entry)
		deliver(t, g, sfs(c.url))
		r := d.got()
		if len(r) != 1 || r[0].Text != c.url || len(r[0].Media) != 0 {
			t.Errorf("%s: reports %+v", c.name, r)
		}
		replies := bodies(w.sent(t))
		if len(replies) != 1 || strings.Contains(replies[0], "erneut senden") != c.resend {
			t.Errorf("%s: replies %q, want one that asks to resend: %v", c.name, replies, c.resend)
		}
	}
}

// TestRetractionAndOtherFallbacks: an XEP-0424 retraction (v1, and v0 in
// an XEP-0422 fastening) carries a fallback sentence for old clients; it
// becomes no report, and the sender is told the report stays. Fallback
// text of any feature (an XEP-0447 share's URL, several ranges at once)
// is taken out of the report text.
func TestRetractionAndOtherFallbacks(t *testing.T) {
	fallback := "This person attempted to retract a previous message, but it's unsupported by your client."
	for name, raw := range map[string]string{
		"v1": `<message ` + fromPatrol + ` id="x1" type="chat"><body>` + fallback + `</body><retract xmlns="urn:xmpp:message-retract:1" id="txt1"/>` +
			`<fallback xmlns="urn:xmpp:fallback:0" for="urn:xmpp:message-retract:1"/><store xmlns="urn:xmpp:hints"/><request xmlns="urn:xmpp:receipts"/></message>`,
		"v0": `<message ` + fromPatrol + ` id="x2" type="chat"><body>` + fallback + `</body><apply-to xmlns="urn:xmpp:fasten:0" id="txt1"><retract xmlns="urn:xmpp:message-retract:0"/></apply-to>` +
			`<fallback xmlns="urn:xmpp:fallback:0"/></message>`,
		"v1 without fallback markup": `<message ` + fromPatrol + ` id="x3" type="chat"><body>` + fallback + `</body><retract xmlns="urn:xmpp:message-retract:1" id="txt1"/></message>`,
	} {
		g, d, w := newMessengerGateway(t)
		deliver(t, g, raw)
		if r := d.got(); len(r) != 0 {
			t.Errorf("%s: the retraction became a report: %+v", name, r)
		}
		if replies := bodies(w.sent(t)); len(replies) != 1 || !strings.Contains(replies[0], "bleibt bestehen") {
			t.Errorf("%s: replies %q", name, replies)
		}
	}
	g, d, _ := newMessengerGateway(t)
	url := "https://upload.elsewhere.example/f/a.jpg"
	body := "> Meldung 1\nBitte schnell " + url
	deliver(t, g, `<message `+fromPatrol+` id="x4" type="chat"><body>`+body+`</body>`+
		`<reply xmlns="urn:xmpp:reply:0" id="fg-1"/><fallback xmlns="urn:xmpp:fallback:0" for="urn:xmpp:reply:0"><body start="0" end="12"/></fallback>`+
		`<fallback xmlns="urn:xmpp:fallback:0" for="urn:xmpp:sfs:0"><body start="26" end="`+strconv.Itoa(26+len(url))+`"/></fallback>`+
		`<file-sharing xmlns="urn:xmpp:sfs:0"><sources><url-data xmlns="http://jabber.org/protocol/url-data" target="`+url+`"/></sources></file-sharing></message>`)
	if r := d.got(); len(r) != 1 || strings.TrimSpace(strings.ReplaceAll(r[0].Text, url, "")) != "Bitte schnell" || strings.Count(r[0].Text, url) != 1 {
		t.Errorf("reports %+v", r)
	}
}

// TestFallbackOnlyToEncryptedAddress: a reaction or a retraction sent in
// plaintext to an address that requires OMEMO carries only a fallback
// body; it is not answered with "please encrypt", and the retraction gets
// its own answer.
func TestFallbackOnlyToEncryptedAddress(t *testing.T) {
	to := `from="streife1@stadt.example/phone" to="geheim@reports.stadt.example"`
	g, d, w := newMessengerGateway(t)
	deliver(t, g, `<message `+to+` id="e1" type="chat"><body>👍</body><reactions xmlns="urn:xmpp:reactions:0" id="fg-1"><reaction>👍</reaction></reactions></message>`)
	if s := w.sent(t); len(s) != 0 {
		t.Errorf("a reaction was answered: %+v", s)
	}
	deliver(t, g, `<message `+to+` id="e2" type="chat"><body>This person attempted to retract a previous message, but it's unsupported by your client.</body><retract xmlns="urn:xmpp:message-retract:1" id="x"/><fallback xmlns="urn:xmpp:fallback:0" for="urn:xmpp:message-retract:1"/></message>`)
	if replies := bodies(w.sent(t)); len(replies) != 1 || !strings.Contains(replies[0], "bleibt bestehen") {
		t.Errorf("retraction: replies %q", replies)
	}
	deliver(t, g, `<message `+to+` id="e3" type="chat"><body>Klartext</body></message>`)
	if replies := bodies(w.sent(t)); len(replies) != 2 || strings.Contains(replies[1], "bleibt bestehen") {
		t.Errorf("plaintext to a required address: replies %q, want the OMEMO hint", replies)
	}
	if r := d.got(); len(r) != 0 {
		t.Errorf("stored: %+v", r)
	}
}

// TestReplyOkToAlert: "ok" sent as an XEP-0461 reply (Conversations'
// swipe) to a 1:1 alert takes the alert's incident, named by the alert's
// message id, instead of becoming a report "ok"; a reply "ok" to any
// other message stays text.
func TestReplyOkToAlert(t *testing.T) {
	const inc = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	g, d, w := newMessengerGateway(t)
	deliver(t, g, `<message `+fromPatrol+` id="o1" type="chat"><body>&gt; 🚨 Meldung 2026-000042
ok</body><reply xmlns="urn:xmpp:reply:0" to="tiefbau@reports.stadt.example" id="fgi-`+inc+`-17"/>`+
		`<fallback xmlns="urn:xmpp:fallback:0" for="urn:xmpp:reply:0"><body start="0" end="23"/></fallback></message>`)
	d.fakeDisp.mu.Lock()
	cmds := append([]dispatch.Command(nil), d.cmds...)
	d.fakeDisp.mu.Unlock()
	if len(cmds) != 1 || cmds[0].Ref != inc || cmds[0].Action != dispatch.ActionTake || cmds[0].Actor != "streife1@stadt.example" {
		t.Errorf("commands %+v, want a take of the alert's incident", cmds)
	}
	if r := d.got(); len(r) != 0 {
		t.Errorf("the answer to an alert became a report: %+v", r)
	}
	if replies := bodies(w.sent(t)); len(replies) != 1 {
		t.Errorf("replies %q", replies)
	}
	g, d, _ = newMessengerGateway(t)
	deliver(t, g, `<message `+fromPatrol+` id="o2" type="chat"><body>ok</body><reply xmlns="urn:xmpp:reply:0" id="fg-1"/></message>`)
	if r := d.got(); len(r) != 1 {
		t.Errorf("a reply 'ok' to a confirmation: reports %+v", r)
	}
}

// lostCommitDisp stores every report but answers its intake with an
// error, as when the database committed and the connection broke before
// the answer arrived (fail: with nothing stored either).
type lostCommitDisp struct {
	intakeDisp
	fail bool
}

func (d *lostCommitDisp) Intake(ctx context.Context, in dispatch.NewReport) (dispatch.Receipt, error) {
	if !d.fail {
		_, _ = d.intakeDisp.Intake(ctx, in)
	}
	return dispatch.Receipt{}, errors.New("intake: unexpected EOF")
}

func (d *lostCommitDisp) Replay(_ context.Context, _, sender, key string) (dispatch.Receipt, error) {
	for _, r := range d.got() {
		if r.Sender == sender && r.IdempotencyKey == key {
			return dispatch.Receipt{CaseNumber: "2026-000001"}, nil
		}
	}
	return dispatch.Receipt{}, dispatch.ErrNotFound
}

// TestLostCommitAnswerIsNoFailure: an intake whose answer was lost after
// the database committed it (the connection broke) is no failure: the
// report is stored and its acceptance reply queued, so the worker gets
// the receipt and is not asked to send it again (they would file it
// twice; found by the chaos helper, in the code). An intake that stored
// nothing still asks.
func TestLostCommitAnswerIsNoFailure(t *testing.T) {
	for _, c := range []struct {
		name string
		fail bool // nothing stored
	}{{"committed, answer lost", false}, {"nothing stored", true}} {
		g, w := newMessengerGatewayDisp(t, &lostCommitDisp{fail: c.fail})
		deliver(t, g, `<message `+fromPatrol+` id="lc1" type="chat"><body>Ampel ausgefallen geo:51.0251,7.5919</body><request xmlns="urn:xmpp:receipts"/></message>`)
		asked, receipt := false, false
		for _, m := range w.sent(t) {
			asked = asked || strings.Contains(m.Body, "erneut senden") || m.Error != nil && strings.Contains(m.Error.Text, "erneut senden")
			receipt = receipt || m.Received != nil
		}
		if asked != c.fail || receipt == c.fail {
			t.Errorf("%s: asked to send again %v, receipt %v; want %v, %v", c.name, asked, receipt, c.fail, !c.fail)
		}
	}
}
