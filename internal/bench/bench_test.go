package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"
)

func TestParseLoad(t *testing.T) {
	l, err := ParseLoad("name=x,mode=xmpp,c=8,rate=2.5,n=40,duration=90s")
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "x" || l.Mode != ModeXMPP || l.Concurrency != 8 || l.Rate != 2.5 || l.Count != 40 || l.Duration != 90*time.Second {
		t.Errorf("ParseLoad = %+v", l)
	}
	for _, bad := range []string{"c=0", "n=0", "n=1000000", "mode=smtp", "duration=0s", "duration=2h", "c", "colour=red", "photos=/nonexistent"} {
		if _, err := ParseLoad(bad); err == nil {
			t.Errorf("ParseLoad(%q) accepted", bad)
		}
	}
}

func TestTargetsOnlyLoopbackOrAllowed(t *testing.T) {
	l, _ := ParseLoad("n=1")
	base := Config{URL: "http://127.0.0.1:8080", Token: "t", To: "tiefbau", Room: "r@conference.x", Member: Account{"a@x", "p"},
		C2SAddr: "127.0.0.1:5222", S3Endpoint: "localhost:9000", DatabaseURL: "postgres://u@[::1]:5432/db",
		ComponentAddr: "127.0.0.2:5347", ComponentDomain: "bench.x", S3Bucket: "b", Loads: []Load{l}}
	if err := base.Validate(); err != nil {
		t.Fatalf("loopback config refused: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"public URL":  func(c *Config) { c.URL = "http://203.0.113.5:8080" },
		"private c2s": func(c *Config) { c.C2SAddr = "192.168.1.10:5222" },
		"name for S3": func(c *Config) { c.S3Endpoint = "s3.example.org:443" },
		"database":    func(c *Config) { c.DatabaseURL = "postgres://u@10.0.0.5/db" },
		"component":   func(c *Config) { c.ComponentAddr = "172.16.0.1:5347" },
		"no token":    func(c *Config) { c.Token = "" },
		"xmpp needs worker": func(c *Config) {
			c.Loads = []Load{{Name: "x", Mode: ModeXMPP, Concurrency: 1, Count: 1, Duration: time.Second}}
		},
	} {
		c := base
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c := base
	c.URL, c.AllowHosts = "http://10.99.0.2:8080", []string{"10.99.0.2"}
	if err := c.Validate(); err != nil {
		t.Errorf("allowed test host refused: %v", err)
	}
}

func TestSummarizeAndRatios(t *testing.T) {
	var s []Sample
	for i := 1; i <= 100; i++ {
		s = append(s, Sample{Kind: KindFieldgate, Start: time.Duration(i-1) * 10 * time.Millisecond, E2E: time.Duration(i) * time.Millisecond, Accept: time.Millisecond})
	}
	s = append(s, Sample{Kind: KindFieldgate, Err: "POST: 503"})
	got := summarize(s)
	if got.OK != 100 || got.Errors != 1 || got.P50ms != 50 || got.P99ms != 99 || got.AcceptP50ms != 1 {
		t.Errorf("summarize = %+v", got)
	}
	// 100 reports from t=0 to the last reflection at 990ms + 100ms.
	if want := round3(100 / 1.09); got.Throughput != want {
		t.Errorf("throughput %v, want %v", got.Throughput, want)
	}
	if r := ratio(10, 4); r != 2.5 {
		t.Errorf("ratio = %v", r)
	}
	if r := ratio(1, 0); r != 0 {
		t.Errorf("ratio by zero = %v", r)
	}
	if z := summarize([]Sample{{Err: "x"}}); z.OK != 0 || z.P50ms != 0 {
		t.Errorf("all failed: %+v", z)
	}
}

func TestOutputsWellFormed(t *testing.T) {
	samples := []Sample{
		{Load: "l", Kind: KindFloor, Seq: 0, Start: 0, Accept: time.Millisecond, E2E: 5 * time.Millisecond},
		{Load: "l", Kind: KindFieldgate, Seq: 0, Start: time.Millisecond, Accept: 2 * time.Millisecond, E2E: 40 * time.Millisecond},
		{Load: "l", Kind: KindFieldgate, Seq: 1, Start: 3 * time.Millisecond, Err: "timeout, \"quoted\""},
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, samples); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") || rows[2][5] != "40.000" || rows[3][7] != "timeout, \"quoted\"" {
		t.Errorf("CSV %q, %v", rows, err)
	}
	b.Reset()
	if err := WritePlot(&b, "l", samples); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil || img.Bounds().Dx() != 900 {
		t.Fatalf("plot: %v", err)
	}
	b.Reset()
	res := []Result{{Load: "l", Fieldgate: summarize(samples[1:]), Floor: summarize(samples[:1])}, {Load: "m"}}
	if err := WriteJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("JSON lines %q", lines)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"p50_ratio", "throughput_ratio"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %s: %s", k, lines[0])
		}
	}
	for _, kind := range []string{"fieldgate", "floor"} {
		sub, _ := m[kind].(map[string]any)
		for _, k := range []string{"p50_ms", "p99_ms", "throughput_per_s"} {
			if _, ok := sub[k]; !ok {
				t.Errorf("JSON %s lacks %s: %s", kind, k, lines[0])
			}
		}
	}
}

func TestRoomMarkers(t *testing.T) {
	got := roomMarkers(&inMessage{Type: "groupchat", Body: "🆕 Meldung 2026-000042 · Tiefbau"})
	if len(got) != 1 || got[0] != "2026-000042" {
		t.Errorf("case marker %v", got)
	}
	got = roomMarkers(&inMessage{Type: "groupchat", Body: floorPrefix + "ab12-x-3"})
	if len(got) != 1 || got[0] != floorPrefix+"ab12-x-3" {
		t.Errorf("floor marker %v", got)
	}
	if got := roomMarkers(&inMessage{Type: "chat", Body: "Meldung 2026-000042"}); got != nil {
		t.Errorf("chat counted as room post: %v", got)
	}
	// A reply that says why the message did not join the worker's
	// previous case names that case first: the worker's new case is the
	// first one it has not seen.
	got = replyMarkers(&inMessage{Type: "chat", Body: "Ihre Nachricht liegt 900 m von Meldung 2026-000042 entfernt und ist daher die neue Meldung 2026-000043.\nMeldung 2026-000043 angenommen – weitergeleitet an Tiefbau."})
	if fmt.Sprint(got) != "[2026-000042 2026-000043 2026-000043]" {
		t.Errorf("reply markers %v", got)
	}
	s := newSeen(replyMarkers)
	s.add(&inMessage{Type: "chat", Body: "Meldung 2026-000042 angenommen"}, time.Now())
	s.add(&inMessage{Type: "chat", Body: "Ihre Nachricht liegt 900 m von Meldung 2026-000042 entfernt und ist daher die neue Meldung 2026-000043.\nMeldung 2026-000043 angenommen – weitergeleitet an Tiefbau."}, time.Now())
	if key, _, err := s.next(context.Background(), 1); err != nil || key != "2026-000043" {
		t.Errorf("second case seen %q (%v), want 2026-000043", key, err)
	}
}

func TestRoomMarkersLink(t *testing.T) {
	got := roomMarkers(&inMessage{Type: "groupchat", Body: "🆕 Meldung 2026-000042\n📷 http://s3/x", OOB: []oobX{{URL: "http://s3/x"}}})
	if len(got) != 2 || got[0] != "2026-000042" || got[1] != linkKey("2026-000042") {
		t.Errorf("post with a photo link: %v", got)
	}
	got = roomMarkers(&inMessage{Type: "groupchat", Body: "🆕 Meldung 2026-000043\n📎 Anhang image/heic – keine Vorschau"})
	if len(got) != 1 {
		t.Errorf("post without a link counted as linked: %v", got)
	}
}

func TestTargets(t *testing.T) {
	tg, err := ParseTarget("throughput>=0.5+p50<=3")
	if err != nil || tg.MinThroughputRate != 0.5 || tg.MaxP50Ratio != 3 || tg.Links {
		t.Fatalf("ParseTarget = %+v, %v", tg, err)
	}
	for _, bad := range []string{"", "p50<3", "throughput>=x", "p50<=-1", "fast"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) accepted", bad)
		}
	}
	ok := Result{Fieldgate: Summary{OK: 10, Linked: 10}, P50Ratio: 2.9, ThroughputRatio: 0.5}
	if !tg.Met(ok) {
		t.Errorf("%+v should meet %s", ok, tg)
	}
	for name, r := range map[string]Result{
		"slow p50":   {Fieldgate: Summary{OK: 10}, P50Ratio: 3.1, ThroughputRatio: 0.9},
		"throughput": {Fieldgate: Summary{OK: 10}, P50Ratio: 1, ThroughputRatio: 0.49},
		"errors":     {Fieldgate: Summary{OK: 10, Errors: 1}, P50Ratio: 1, ThroughputRatio: 1},
		"nothing":    {},
	} {
		if tg.Met(r) {
			t.Errorf("%s: %+v meets %s", name, r, tg)
		}
	}
	links, _ := ParseTarget("links")
	if links.Met(Result{Fieldgate: Summary{OK: 3, Linked: 2}}) || !links.Met(Result{Fieldgate: Summary{OK: 3, Linked: 3}}) {
		t.Error("links target: every post must carry its link")
	}
	l, err := ParseLoad("name=x,n=2,target=p50<=5")
	if err != nil || l.Target.MaxP50Ratio != 5 {
		t.Errorf("ParseLoad target: %+v %v", l, err)
	}
}

func TestWriteMarkdown(t *testing.T) {
	met := false
	r := Result{Load: "12mp-c1", Count: 20, Concurrency: 1, PhotoBytes: 1,
		Floor:     Summary{OK: 20, P50ms: 54.5, P99ms: 155, Throughput: 14.2},
		Fieldgate: Summary{OK: 20, P50ms: 955, P99ms: 1350, Throughput: 1.08, Linked: 20, LinkP50ms: 955, LinkP99ms: 1350},
		P50Ratio:  17.5, ThroughputRatio: 0.08, Target: "p50 ≤ 5×", TargetMet: &met, LoadAvg: [2]float64{19, 21}}
	var b bytes.Buffer
	WriteMarkdown(&b, []Result{r})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want header, rule and one row: %q", lines)
	}
	row := lines[2]
	for _, want := range []string{"| 12mp-c1, c=1, n=20 |", "54.5 ms / 155 ms", "955 ms / 1.35 s", "(20 of 20)", "17.5×", "0.08×", "19.0–21.0", "p50 ≤ 5× — **not met**"} {
		if !strings.Contains(row, want) {
			t.Errorf("row lacks %q: %s", want, row)
		}
	}
	if strings.Count(lines[0], "|") != strings.Count(row, "|") {
		t.Errorf("header and row differ in columns:\n%s\n%s", lines[0], row)
	}
}

// TestPastRoomArchiveLimit: the bench warns from the load that brings a
// run's rooms past 9,000 messages (Prosody's file archive quota is 10,000
// per room), counting every load before it.
func TestPastRoomArchiveLimit(t *testing.T) {
	for _, c := range []struct {
		counts []int
		want   string
	}{
		{[]int{1000, 5000, 1000}, ""},
		{[]int{9000}, ""},
		{[]int{9001}, "l0"},
		{[]int{5000, 4000, 1, 20}, "l2"},
		{[]int{12000, 10}, "l0"},
	} {
		var loads []Load
		for i, n := range c.counts {
			loads = append(loads, Load{Name: fmt.Sprintf("l%d", i), Count: n})
		}
		if got := pastRoomArchiveLimit(loads); got != c.want {
			t.Errorf("counts %v: %q, want %q", c.counts, got, c.want)
		}
	}
}

// TestOpenLoopLine: an open-loop load (a storm) prints how long senders
// waited for their case numbers (p50 and p99) and when the last report
// was in the room; a closed-loop load does not.
func TestOpenLoopLine(t *testing.T) {
	storm := Result{Load: "storm-12mp", Mode: ModeHTTP, Count: 100, Rate: 25,
		Fieldgate: Summary{OK: 100, AcceptP50ms: 111, AcceptP99ms: 595, Throughput: 14.95},
		Floor:     Summary{OK: 100, AcceptP50ms: 18.4, AcceptP99ms: 40.2, Throughput: 25.1}}
	closed := Result{Load: "12mp-c8", Mode: ModeHTTP, Count: 40, Concurrency: 8,
		Fieldgate: Summary{OK: 40, AcceptP50ms: 90, AcceptP99ms: 300, Throughput: 11}}
	var b bytes.Buffer
	WriteTable(&b, []Result{storm, closed})
	want := "open loop at 25/s: fieldgate accepted p50 111.0 ms, p99 595.0 ms (floor 18.4 / 40.2); all 100 in the room 6.7 s after the first was sent"
	if got := b.String(); !strings.Contains(got, want) || strings.Count(got, "open loop") != 1 {
		t.Fatalf("table lacks %q once:\n%s", want, got)
	}
}
