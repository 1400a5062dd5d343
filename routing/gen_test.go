package routing

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Generated rule sets for the benchmark and the Decide-vs-Explain test.

// starRings returns a star-shaped (hence simple) ring of n vertices
// around c with a radius of about rad degrees of latitude, and optionally
// a hole.
func starRings(r *rand.Rand, c pt, rad float64, n int, hole bool) [][]pt {
	kx := 1 / math.Cos(c.y*math.Pi/180)
	ring := make([]pt, 0, n+1)
	for i := 0; i < n; i++ {
		a := 2 * math.Pi * (float64(i) + 0.8*r.Float64()) / float64(n)
		d := rad * (0.6 + 0.4*r.Float64())
		ring = append(ring, pt{c.x + d*kx*math.Cos(a), c.y + d*math.Sin(a)})
	}
	ring = append(ring, ring[0])
	rings := [][]pt{ring}
	if hole {
		h := make([]pt, 0, 9)
		for i := 0; i < 8; i++ {
			a := 2 * math.Pi * float64(i) / 8
			h = append(h, pt{c.x + 0.2*rad*kx*math.Cos(a), c.y + 0.2*rad*math.Sin(a)})
		}
		rings = append(rings, append(h, h[0]))
	}
	return rings
}

func areaFromRings(name string, rings [][]pt) area {
	p := newPolygon(rings)
	return area{name: name, polys: []polygon{p}, box: p.box, cosLat: cosDeg((p.box.minY + p.box.maxY) / 2)}
}

func starArea(r *rand.Rand, c pt, rad float64, n int, hole bool) area {
	return areaFromRings("star", starRings(r, c, rad, n, hole))
}

// genConfig sizes a generated rule set.
type genConfig struct {
	rules, polygons, minVerts, maxVerts, addresses, inputs int
	seed                                                   uint64
}

// town box of the generated sets
const (
	genMinX, genMaxX = 7.30, 7.90
	genMinY, genMaxY = 50.85, 51.20
)

var unreachableRe = regexp.MustCompile(`rule "([^"]+)" is unreachable`)

// genRuleSet writes and loads a generated rule set and returns it with
// generated inputs. Rules an earlier rule shadows (rare, by chance) are
// dropped and the file written again.
func genRuleSet(tb testing.TB, cfg genConfig) (*RuleSet, []Input) {
	tb.Helper()
	r := rand.New(rand.NewPCG(cfg.seed, 7))
	// areas on a grid
	cols := int(math.Ceil(math.Sqrt(float64(cfg.polygons) * 1.25)))
	rows := (cfg.polygons + cols - 1) / cols
	cw, ch := (genMaxX-genMinX)/float64(cols), (genMaxY-genMinY)/float64(rows)
	var feats []string
	for i := 0; i < cfg.polygons; i++ {
		cx := genMinX + (float64(i%cols)+0.5)*cw
		cy := genMinY + (float64(i/cols)+0.5)*ch
		n := cfg.minVerts + r.IntN(cfg.maxVerts-cfg.minVerts+1)
		rings := starRings(r, pt{cx, cy}, ch*0.6, n, i%5 == 0)
		coords := make([][][2]float64, len(rings))
		for k, ring := range rings {
			for _, p := range ring {
				coords[k] = append(coords[k], [2]float64{p.x, p.y})
			}
		}
		g, _ := json.Marshal(map[string]any{"type": "Feature", "properties": map[string]string{"name": fmt.Sprintf("area%03d", i)},
			"geometry": map[string]any{"type": "Polygon", "coordinates": coords}})
		feats = append(feats, string(g))
	}
	geo := `{"type": "FeatureCollection", "features": [` + "\n" + strings.Join(feats, ",\n") + "\n]}\n"

	vocab := make([]string, 2000)
	for i := range vocab {
		n := 5 + r.IntN(6)
		b := make([]byte, n)
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		vocab[i] = string(b)
	}
	var head strings.Builder
	head.WriteString("timezone: Europe/Berlin\nholidays: [2026-12-25, 2026-12-26, 2027-01-01]\n")
	head.WriteString("groups:\n  streife: [streife1@stadt.localhost, streife2@stadt.localhost]\n")
	head.WriteString("areas: {file: districts.geojson}\nteams:\n")
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&head, "  t%02d: {room: t%02d@conference.stadt.localhost}\n", i, i)
	}
	head.WriteString("addresses:\n")
	for i := 0; i < cfg.addresses; i++ {
		fmt.Fprintf(&head, "  addr%02d: {allow: [public]}\n", i)
	}
	areaList := func(k int) string {
		names := make([]string, k)
		for i := range names {
			names[i] = fmt.Sprintf("area%03d", r.IntN(cfg.polygons))
		}
		return "[" + strings.Join(names, ", ") + "]"
	}
	words := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = vocab[r.IntN(len(vocab))]
		}
		return "[" + strings.Join(w, ", ") + "]"
	}
	days := []string{"mon-fri", "sat, sun", "holiday", "mon, wed", "fri"}
	type genRule struct{ name, body string }
	var rules []genRule
	for i := 0; i < cfg.rules; i++ {
		addr := fmt.Sprintf("addr%02d", r.IntN(cfg.addresses))
		team := fmt.Sprintf("t%02d", r.IntN(20))
		var m string
		switch k := r.IntN(100); {
		case k < 40:
			m = fmt.Sprintf("{address: %s, area: %s}", addr, areaList(1+r.IntN(3)))
		case k < 60:
			m = fmt.Sprintf("{address: %s, keywords: %s}", addr, words(2+r.IntN(4)))
		case k < 70:
			m = fmt.Sprintf("{address: %s, keywords: %s, area: %s}", addr, words(2+r.IntN(3)), areaList(1+r.IntN(2)))
		case k < 80:
			h := r.IntN(24)
			m = fmt.Sprintf("{address: %s, time: [{days: [%s], hours: \"%02d:00-%02d:30\"}]}", addr, days[r.IntN(len(days))], h, (h+1+r.IntN(8))%24)
		case k < 85:
			m = fmt.Sprintf("{address: %s, near: {areas: %s, within: %dm}}", addr, areaList(1), 100+r.IntN(400))
		case k < 90:
			m = fmt.Sprintf("{address: %s, sender: [streife], keywords: %s}", addr, words(2))
		case k < 95:
			m = fmt.Sprintf("{address: %s, urgent: true, area: %s}", addr, areaList(1))
		default:
			m = fmt.Sprintf("{keywords: %s, position: true}", words(2))
		}
		rules = append(rules, genRule{fmt.Sprintf("r%04d", i), fmt.Sprintf("  - {name: r%04d, match: %s, team: %s}\n", i, m, team)})
	}
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "districts.geojson"), []byte(geo), 0o644); err != nil {
		tb.Fatal(err)
	}
	var rs *RuleSet
	for attempt := 0; ; attempt++ {
		var b strings.Builder
		b.WriteString(head.String())
		b.WriteString("rules:\n")
		for _, gr := range rules {
			b.WriteString(gr.body)
		}
		b.WriteString("default: {team: t00}\n")
		p := filepath.Join(dir, "rules.yaml")
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
		var err error
		rs, err = Load(p)
		if err == nil {
			break
		}
		drop := map[string]bool{}
		for _, m := range unreachableRe.FindAllStringSubmatch(err.Error(), -1) {
			drop[m[1]] = true
		}
		if len(drop) == 0 || attempt > 3 {
			tb.Fatalf("generated rules: %v", err)
		}
		kept := rules[:0]
		for _, gr := range rules {
			if !drop[gr.name] {
				kept = append(kept, gr)
			}
		}
		rules = kept
	}
	// inputs
	filler := strings.Fields("bitte schnell kommen da ist vor dem haus an der ecke seit gestern gefährlich kaputt")
	inputs := make([]Input, cfg.inputs)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range inputs {
		in := &inputs[i]
		in.Address = fmt.Sprintf("addr%02d", r.IntN(cfg.addresses))
		if r.IntN(20) == 0 {
			in.Address = "unbekannt"
		}
		var text []string
		for j, n := 0, 6+r.IntN(12); j < n; j++ {
			if r.IntN(4) == 0 {
				text = append(text, strings.ToUpper(vocab[r.IntN(len(vocab))][:1])+vocab[r.IntN(len(vocab))][1:])
			} else {
				text = append(text, filler[r.IntN(len(filler))])
			}
		}
		in.Text = strings.Join(text, " ")
		if r.IntN(10) != 0 {
			in.Position = &Point{Lat: genMinY + r.Float64()*(genMaxY-genMinY), Lon: genMinX + r.Float64()*(genMaxX-genMinX)}
		}
		in.At = base.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
		switch r.IntN(4) {
		case 0:
			in.Sender = "streife1@stadt.localhost"
		case 1:
			in.Sender = fmt.Sprintf("user%d@example.org", r.IntN(100))
		}
		in.Urgent = r.IntN(10) == 0
	}
	return rs, inputs
}

// Decide (indexed) and Explain (linear, naive geometry) agree on every
// generated input.
func TestDecideMatchesExplainGenerated(t *testing.T) {
	for _, cfg := range []genConfig{
		{rules: 300, polygons: 100, minVerts: 50, maxVerts: 200, addresses: 10, inputs: 3000, seed: 1},
		{rules: 1000, polygons: 500, minVerts: 50, maxVerts: 500, addresses: 50, inputs: 600, seed: 2},
	} {
		rs, inputs := genRuleSet(t, cfg)
		matched := map[string]bool{}
		for i := range inputs {
			d, e := rs.Decide(&inputs[i]), rs.Explain(&inputs[i])
			if !sameDecision(d, e) {
				t.Fatalf("input %+v: Decide %+v, Explain %+v", inputs[i], d, e)
			}
			matched[d.Rule] = true
		}
		// the inputs exercise many rules, not just the default
		if len(matched) < 20 {
			t.Errorf("only %d distinct rules matched", len(matched))
		}
	}
}

func TestDemoDecideMatchesExplain(t *testing.T) {
	rs, err := Load("../deploy/demo/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	texts := []string{"", "Schlagloch", "Gasgeruch!", "Äste", "Lärm", "Falschparker", "Hallo", "Strasse kaputt"}
	addrs := []string{"tiefbau", "info", "jugendamt-bereitschaft", "x"}
	for i := 0; i < 5000; i++ {
		in := Input{Address: addrs[r.IntN(len(addrs))], Text: texts[r.IntN(len(texts))],
			At:     time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(730 * 24 * time.Hour)))),
			Urgent: r.IntN(5) == 0}
		if r.IntN(4) != 0 {
			in.Position = &Point{Lat: 50.99 + r.Float64()*0.07, Lon: 7.55 + r.Float64()*0.08}
		}
		if r.IntN(3) == 0 {
			in.Sender = "streife1@stadt.localhost"
		}
		if d, e := rs.Decide(&in), rs.Explain(&in); !sameDecision(d, e) {
			t.Fatalf("input %+v: Decide %+v, Explain %+v", in, d, e)
		}
	}
}
