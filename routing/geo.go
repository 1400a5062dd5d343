package routing

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Areas are polygons in longitude (x) / latitude (y) degrees. Point in
// polygon uses the even-odd rule over all rings, so holes work; a point on
// any ring's boundary (within about 0.1 mm) counts as inside.

type pt struct{ x, y float64 }

type bbox struct{ minX, minY, maxX, maxY float64 }

func emptyBBox() bbox {
	return bbox{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
}

func (b *bbox) extend(p pt) {
	b.minX, b.minY = min(b.minX, p.x), min(b.minY, p.y)
	b.maxX, b.maxY = max(b.maxX, p.x), max(b.maxY, p.y)
}

func (b *bbox) union(o bbox) {
	b.minX, b.minY = min(b.minX, o.minX), min(b.minY, o.minY)
	b.maxX, b.maxY = max(b.maxX, o.maxX), max(b.maxY, o.maxY)
}

func (b bbox) contains(p pt) bool {
	return p.x >= b.minX && p.x <= b.maxX && p.y >= b.minY && p.y <= b.maxY
}

// grow widens the box by m metres in every direction.
func (b bbox) grow(m float64) bbox {
	if m <= 0 {
		return b
	}
	dy := m / metresPerDegree
	c := math.Cos(math.Max(math.Abs(b.minY), math.Abs(b.maxY)) * math.Pi / 180)
	dx := 360.0
	if c > 1e-9 {
		dx = min(m/(metresPerDegree*c), 360)
	}
	return bbox{b.minX - dx, b.minY - dy, b.maxX + dx, b.maxY + dy}
}

// metresPerDegree of latitude (mean Earth radius 6371008.8 m).
const metresPerDegree = 6371008.8 * math.Pi / 180

// onEdgeEps is the distance (degrees, about 0.1 mm) within which a point
// counts as on a ring.
const onEdgeEps = 1e-9

// edge is a ring segment; k is dx/dy (0 for horizontal edges), so the
// crossing test needs no division.
type edge struct{ x1, y1, x2, y2, k float64 }

func newEdge(a, b pt) edge {
	e := edge{x1: a.x, y1: a.y, x2: b.x, y2: b.y}
	if b.y != a.y {
		e.k = (b.x - a.x) / (b.y - a.y)
	}
	return e
}

// polygon is one polygon of an area: an outer ring and its holes, with
// the edges of all rings bucketed into horizontal bands so that a point
// test only looks at the edges near the point's latitude.
type polygon struct {
	rings [][]pt // closed rings, outer first
	box   bbox
	edges []edge
	// bands
	bandMinY, bandH float64
	bandStart       []int32 // len nb+1
	bandEdges       []int32
	// cells classifies a g×g grid over the box: cells no edge touches are
	// wholly inside or outside, so most points need no edge test.
	g     int
	cellW float64
	cellH float64
	cells []uint8 // cellIn, cellOut or cellEdge
}

const (
	cellEdge uint8 = iota
	cellIn
	cellOut
)

func newPolygon(rings [][]pt) polygon {
	p := polygon{rings: rings, box: emptyBBox()}
	for _, r := range rings {
		for i := 0; i+1 < len(r); i++ {
			p.edges = append(p.edges, newEdge(r[i], r[i+1]))
			p.box.extend(r[i])
		}
	}
	nb := min(max(2*len(p.edges), 1), 8192)
	p.bandMinY = p.box.minY
	p.bandH = (p.box.maxY - p.box.minY) / float64(nb)
	if p.bandH <= 0 {
		nb, p.bandH = 1, 1
	}
	// Edges spanning many bands (a comb of long north-south edges) would
	// make the index grow with edges × bands; fewer, taller bands keep it
	// within maxBandEntries per edge, at the cost of slower tests.
	for nb > 1 && p.bandEntries(nb) > maxBandEntries*len(p.edges) {
		nb = max(nb/4, 1)
		p.bandH = (p.box.maxY - p.box.minY) / float64(nb)
	}
	counts := make([]int32, nb+1)
	for _, e := range p.edges {
		a, b := p.band(min(e.y1, e.y2), nb), p.band(max(e.y1, e.y2), nb)
		for k := a; k <= b; k++ {
			counts[k+1]++
		}
	}
	for k := 1; k <= nb; k++ {
		counts[k] += counts[k-1]
	}
	p.bandStart = counts
	p.bandEdges = make([]int32, counts[nb])
	fill := append([]int32(nil), counts[:nb]...)
	for i, e := range p.edges {
		a, b := p.band(min(e.y1, e.y2), nb), p.band(max(e.y1, e.y2), nb)
		for k := a; k <= b; k++ {
			p.bandEdges[fill[k]] = int32(i)
			fill[k]++
		}
	}
	p.classifyCells()
	return p
}

// maxBandEntries bounds the band index to this many entries per edge.
const maxBandEntries = 16

// bandEntries is the size of the band index with nb bands.
func (p *polygon) bandEntries(nb int) int {
	n := 0
	for _, e := range p.edges {
		n += p.band(max(e.y1, e.y2), nb) - p.band(min(e.y1, e.y2), nb) + 1
	}
	return n
}

// classifyCells builds the cell grid: a cell an edge's box (grown by
// onEdgeEps) touches is cellEdge; any other cell has no boundary in it, so
// its centre decides for all of it.
func (p *polygon) classifyCells() {
	g := min(max(int(2*math.Sqrt(float64(len(p.edges)))), 4), 64)
	w, h := (p.box.maxX-p.box.minX)/float64(g), (p.box.maxY-p.box.minY)/float64(g)
	if w <= 0 || h <= 0 {
		return // degenerate: no grid, every test uses the edges
	}
	p.g, p.cellW, p.cellH = g, w, h
	p.cells = make([]uint8, g*g)
	for i := range p.cells {
		p.cells[i] = cellOut // placeholder until classified
	}
	edgeCells := make([]bool, g*g)
	for i := range p.edges {
		e := &p.edges[i]
		x0, y0 := p.cellOf(min(e.x1, e.x2)-onEdgeEps, min(e.y1, e.y2)-onEdgeEps)
		x1, y1 := p.cellOf(max(e.x1, e.x2)+onEdgeEps, max(e.y1, e.y2)+onEdgeEps)
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				edgeCells[y*g+x] = true
			}
		}
	}
	for y := 0; y < g; y++ {
		for x := 0; x < g; x++ {
			i := y*g + x
			switch {
			case edgeCells[i]:
				p.cells[i] = cellEdge
			case p.containsBanded(pt{p.box.minX + (float64(x)+0.5)*w, p.box.minY + (float64(y)+0.5)*h}):
				p.cells[i] = cellIn
			default:
				p.cells[i] = cellOut
			}
		}
	}
}

// cellOf is the grid cell of a point, clamped to the grid. Because a cell
// is found by flooring, a point on a border between two cells belongs to
// the upper one, and cells are marked from the edges' closed boxes.
func (p *polygon) cellOf(x, y float64) (int, int) {
	cx := int((x - p.box.minX) / p.cellW)
	cy := int((y - p.box.minY) / p.cellH)
	return min(max(cx, 0), p.g-1), min(max(cy, 0), p.g-1)
}

func (p *polygon) band(y float64, nb int) int {
	k := int((y - p.bandMinY) / p.bandH)
	return min(max(k, 0), nb-1)
}

// contains is the indexed point-in-polygon test.
func (p *polygon) contains(q pt) bool {
	if !p.box.contains(q) {
		return false
	}
	if p.cells != nil {
		x, y := p.cellOf(q.x, q.y)
		switch p.cells[y*p.g+x] {
		case cellIn:
			return true
		case cellOut:
			return false
		}
	}
	return p.containsBanded(q)
}

// containsBanded tests the edges in q's band.
func (p *polygon) containsBanded(q pt) bool {
	nb := len(p.bandStart) - 1
	k := p.band(q.y, nb)
	inside := false
	for _, ei := range p.bandEdges[p.bandStart[k]:p.bandStart[k+1]] {
		on, cross := edgeTest(&p.edges[ei], q)
		if on {
			return true
		}
		inside = inside != cross
	}
	return inside
}

// containsNaive tests every edge; Explain and the baseline use it.
func (p *polygon) containsNaive(q pt) bool {
	inside := false
	for i := range p.edges {
		on, cross := edgeTest(&p.edges[i], q)
		if on {
			return true
		}
		inside = inside != cross
	}
	return inside
}

// edgeTest reports whether q lies on e (within onEdgeEps) and, if not,
// whether a ray from q towards +x crosses e (half-open in y, so a vertex
// is counted once).
func edgeTest(e *edge, q pt) (on, cross bool) {
	if (e.y1 > q.y) != (e.y2 > q.y) {
		d := q.x - (e.x1 + (q.y-e.y1)*e.k)
		if d <= onEdgeEps && d >= -onEdgeEps {
			return true, false
		}
		return false, d < 0
	}
	// e does not span q.y: q can only be on it at its start point or, for
	// a horizontal e, along it. (Its end point is the next edge's start.)
	if dy := e.y1 - q.y; dy <= onEdgeEps && dy >= -onEdgeEps {
		if dx := e.x1 - q.x; dx <= onEdgeEps && dx >= -onEdgeEps {
			return true, false
		}
		if dy2 := e.y2 - q.y; dy2 <= onEdgeEps && dy2 >= -onEdgeEps &&
			q.x >= min(e.x1, e.x2)-onEdgeEps && q.x <= max(e.x1, e.x2)+onEdgeEps {
			return true, false
		}
	}
	return false, false
}

// area is a named district: one or more polygons.
type area struct {
	name   string
	line   int // line of the feature in the GeoJSON file
	polys  []polygon
	box    bbox
	cosLat float64 // for the local metric projection
}

func (a *area) contains(q pt) bool {
	if !a.box.contains(q) {
		return false
	}
	for i := range a.polys {
		if a.polys[i].contains(q) {
			return true
		}
	}
	return false
}

// containsNaive checks the bounding box, then every edge.
func (a *area) containsNaive(q pt) bool {
	if !a.box.contains(q) {
		return false
	}
	for i := range a.polys {
		if a.polys[i].containsNaive(q) {
			return true
		}
	}
	return false
}

// within reports whether q is inside the area or at most m metres from
// it. Distances use a local equirectangular projection, which is exact to
// well under a metre at town scale.
func (a *area) within(q pt, m float64, naive bool) bool {
	if !naive && !a.box.grow(m).contains(q) {
		return false
	}
	if naive {
		if a.containsNaive(q) {
			return true
		}
	} else if a.contains(q) {
		return true
	}
	lim := m * m
	dy := m / metresPerDegree
	for i := range a.polys {
		p := &a.polys[i]
		if naive {
			for j := range p.edges {
				if a.segDist2(&p.edges[j], q) <= lim {
					return true
				}
			}
			continue
		}
		// only edges in the bands within m of q's latitude can be that close
		nb := len(p.bandStart) - 1
		for k, kEnd := p.band(q.y-dy, nb), p.band(q.y+dy, nb); k <= kEnd; k++ {
			for _, ei := range p.bandEdges[p.bandStart[k]:p.bandStart[k+1]] {
				if a.segDist2(&p.edges[ei], q) <= lim {
					return true
				}
			}
		}
	}
	return false
}

// segDist2 is the squared distance in metres from q to e.
func (a *area) segDist2(e *edge, q pt) float64 {
	kx := metresPerDegree * a.cosLat
	ax, ay := (e.x1-q.x)*kx, (e.y1-q.y)*metresPerDegree
	bx, by := (e.x2-q.x)*kx, (e.y2-q.y)*metresPerDegree
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = min(max(-(ax*dx+ay*dy)/l2, 0), 1)
	}
	px, py := ax+t*dx, ay+t*dy
	return px*px + py*py
}

func cosDeg(d float64) float64 { return math.Cos(d * math.Pi / 180) }

// farAwayKm: an area whose centre lies farther than this from the median
// centre of all areas is almost always a [lat, lon] mix-up.
const farAwayKm = 200

// checkFarAway reports areas far from all the others.
func checkFarAway(file string, areas []area, ps *problems) {
	if len(areas) < 2 {
		return
	}
	xs := make([]float64, len(areas))
	ys := make([]float64, len(areas))
	for i := range areas {
		xs[i] = (areas[i].box.minX + areas[i].box.maxX) / 2
		ys[i] = (areas[i].box.minY + areas[i].box.maxY) / 2
	}
	mx, my := median(xs), median(ys)
	for i := range areas {
		dx := (xs[i] - mx) * metresPerDegree * cosDeg(my)
		dy := (ys[i] - my) * metresPerDegree
		if d := math.Hypot(dx, dy) / 1000; d > farAwayKm {
			ps.addIn(file, areas[i].line, "area %q lies %.0f km from the other areas; are longitude and latitude swapped? (GeoJSON order is [longitude, latitude])", areas[i].name, d)
		}
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// classify reports whether q is on one of p's rings (within onEdgeEps)
// or else strictly inside p.
func (p *polygon) classify(q pt) (in, on bool) {
	if !p.box.contains(q) {
		return false, false
	}
	nb := len(p.bandStart) - 1
	k := p.band(q.y, nb)
	for _, ei := range p.bandEdges[p.bandStart[k]:p.bandStart[k+1]] {
		o, cross := edgeTest(&p.edges[ei], q)
		if o {
			return false, true
		}
		in = in != cross
	}
	return in, false
}

// strictlyContains reports whether q lies inside the area and on none of
// its boundaries.
func (a *area) strictlyContains(q pt) bool {
	if !a.box.contains(q) {
		return false
	}
	for i := range a.polys {
		if in, on := a.polys[i].classify(q); on {
			return false
		} else if in {
			return true
		}
	}
	return false
}

// checkEnclaves warns about a polygon of one area lying wholly inside
// another area that has no hole for it (an enclave district drawn on top
// of its surrounding district): positions there are in both areas, so
// the order of the rules decides silently. Shared borders are fine: a
// polygon counts as enclosed only when every vertex of its outer ring is
// strictly inside the other area. An area enclosing several others (the
// whole town, drawn as an area of its own) gets one warning.
func checkEnclaves(file string, areas []area, ps *problems) {
	enclosed := make([][]int, len(areas)) // per outer area, the areas inside it
	for bi := range areas {
		b := &areas[bi]
	polys:
		for pi := range b.polys {
			pb := &b.polys[pi]
			for ai := range areas {
				a := &areas[ai]
				if ai == bi || !a.box.contains(pt{pb.box.minX, pb.box.minY}) || !a.box.contains(pt{pb.box.maxX, pb.box.maxY}) {
					continue
				}
				inside := true
				for _, v := range pb.rings[0] {
					if !a.strictlyContains(v) {
						inside = false
						break
					}
				}
				if inside {
					enclosed[ai] = append(enclosed[ai], bi)
					break polys
				}
			}
		}
	}
	for ai, inner := range enclosed {
		a := &areas[ai]
		switch {
		case len(inner) == 1:
			b := &areas[inner[0]]
			ps.warnIn(file, b.line, "area %q lies inside area %q (line %d), which has no hole for it: a position there is in both areas, so the first matching rule decides and %q is named as the district; cut a hole into %q (a second ring, RFC 7946 §3.1.6; QGIS: Vector › Geoprocessing › Difference)",
				b.name, a.name, a.line, areas[min(ai, inner[0])].name, a.name)
		case len(inner) > 1:
			names := make([]string, 0, 5)
			for _, bi := range inner[:min(len(inner), 5)] {
				names = append(names, fmt.Sprintf("%q", areas[bi].name))
			}
			more := ""
			if len(inner) > 5 {
				more = fmt.Sprintf(" and %d more", len(inner)-5)
			}
			ps.warnIn(file, a.line, "area %q wholly contains areas %s%s: a position there is in both, so the first matching rule decides; if %q is meant to cover them (the whole town), put the rules of the inner areas first; if they are enclaves, cut holes into %q",
				a.name, strings.Join(names, ", "), more, a.name, a.name)
		}
	}
}
