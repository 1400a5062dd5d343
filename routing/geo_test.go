package routing

import (
	"math/rand/v2"
	"testing"
)

func TestPointInPolygonEdgesAndHoles(t *testing.T) {
	rs := mustLoad(t, `
teams: {a: {room: a@c.example}}
areas: {file: districts.geojson}
default: {team: a}
`, unitGeo)
	q, loch, drei, doppel := &rs.areas[0], &rs.areas[1], &rs.areas[2], &rs.areas[3]
	cases := []struct {
		name string
		a    *area
		p    pt
		want bool
	}{
		{"inside", q, pt{7.52, 51.02}, true},
		{"outside", q, pt{7.45, 51.02}, false},
		{"on the west edge", q, pt{7.50, 51.05}, true},
		{"on the south edge", q, pt{7.55, 51.00}, true},
		{"on a corner", q, pt{7.60, 51.10}, true},
		{"just outside the east edge", q, pt{7.6000001, 51.05}, false},
		{"in the hole", q, pt{7.55, 51.05}, false},
		{"on the hole's edge", q, pt{7.54, 51.05}, true},
		{"on the hole's corner", q, pt{7.56, 51.06}, true},
		{"hole filler: inside", loch, pt{7.55, 51.05}, true},
		{"hole filler: shared edge", loch, pt{7.56, 51.045}, true},
		{"triangle: midpoint of a slanted edge", drei, pt{(7.70 + 7.75) / 2, (51.00 + 51.10) / 2}, true},
		{"triangle: beside the slanted edge", drei, pt{7.72, 51.06}, false},
		{"triangle: apex", drei, pt{7.75, 51.10}, true},
		{"multipolygon: first part", doppel, pt{7.92, 51.02}, true},
		{"multipolygon: second part", doppel, pt{8.02, 51.02}, true},
		{"multipolygon: between the parts", doppel, pt{7.98, 51.02}, false},
	}
	for _, c := range cases {
		if got := c.a.contains(c.p); got != c.want {
			t.Errorf("%s: contains(%v) = %v, want %v", c.name, c.p, got, c.want)
		}
		if got := c.a.containsNaive(c.p); got != c.want {
			t.Errorf("%s: containsNaive(%v) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
	// District: the first area in file order; the hole belongs to Loch.
	for _, c := range []struct {
		p    *Point
		want string
	}{
		{pos(51.05, 7.55), "Loch"},
		{pos(51.05, 7.54), "Quadrat"}, // on the shared boundary: Quadrat comes first
		{pos(51.02, 7.52), "Quadrat"},
		{pos(51.02, 8.02), "Doppel"},
		{pos(43.467, 11.885), ""},
		{nil, ""},
	} {
		in := &Input{Position: c.p}
		if d := rs.Decide(in); d.District != c.want {
			t.Errorf("Decide district at %v = %q, want %q", c.p, d.District, c.want)
		}
		if d := rs.Explain(in); d.District != c.want {
			t.Errorf("Explain district at %v = %q, want %q", c.p, d.District, c.want)
		}
	}
}

// The banded test agrees with the plain ray cast on random polygons.
func TestBandedMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		a := starArea(r, pt{7.5 + r.Float64(), 51 + r.Float64()}, 0.01+r.Float64()*0.02, 50+r.IntN(450), i%3 == 0)
		for j := 0; j < 400; j++ {
			p := pt{a.box.minX - 0.005 + r.Float64()*(a.box.maxX-a.box.minX+0.01), a.box.minY - 0.005 + r.Float64()*(a.box.maxY-a.box.minY+0.01)}
			if j%10 == 0 { // a vertex
				e := a.polys[0].edges[r.IntN(len(a.polys[0].edges))]
				p = pt{e.x1, e.y1}
			}
			if a.contains(p) != a.containsNaive(p) {
				t.Fatalf("polygon %d point %v: banded %v, naive %v", i, p, a.contains(p), a.containsNaive(p))
			}
		}
	}
}

func TestNearDistance(t *testing.T) {
	rs := mustLoad(t, `
teams: {a: {room: a@c.example}}
areas: {file: districts.geojson}
default: {team: a}
`, unitGeo)
	q := &rs.areas[0] // Quadrat, west edge at lon 7.50
	m := metresPerDegree * q.cosLat
	for _, c := range []struct {
		dx   float64 // metres west of the west edge
		lim  float64
		want bool
	}{{90, 100, true}, {110, 100, false}, {0, 1, true}, {990, 1000, true}, {1010, 1000, false}} {
		p := pt{7.50 - c.dx/m, 51.05}
		if got := q.within(p, c.lim, false); got != c.want {
			t.Errorf("%gm away, within %gm: %v, want %v", c.dx, c.lim, got, c.want)
		}
		if got := q.within(p, c.lim, true); got != c.want {
			t.Errorf("naive: %gm away, within %gm: %v, want %v", c.dx, c.lim, got, c.want)
		}
	}
}
