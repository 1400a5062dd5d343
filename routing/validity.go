package routing

// Checks of district polygons that load but may not mean what they
// show: rings that cross themselves or each other.

// maxCrossingTests bounds the segment pairs checkCrossings tests per file.
const maxCrossingTests = 20_000_000

// checkCrossings warns, once per area, about two edges of one polygon
// that properly cross (a "bow-tie" ring, or a hole crossing its outer
// ring, as invalid digitising leaves them; OGC Simple Features calls
// such polygons invalid). Points in the crossed parts count as outside
// under the even-odd rule, which is rarely what the drawing meant.
// Edges are paired only within the polygon's bands, each pair once.
func checkCrossings(file string, areas []area, ps *problems) {
	budget := maxCrossingTests
	for ai := range areas {
		a := &areas[ai]
	polys:
		for pi := range a.polys {
			p := &a.polys[pi]
			nb := len(p.bandStart) - 1
			for k := 0; k < nb; k++ {
				band := p.bandEdges[p.bandStart[k]:p.bandStart[k+1]]
				for x := 0; x < len(band); x++ {
					e := &p.edges[band[x]]
					for y := x + 1; y < len(band); y++ {
						if budget--; budget < 0 {
							return
						}
						f := &p.edges[band[y]]
						// each pair once: in the first band holding both
						if p.band(max(min(e.y1, e.y2), min(f.y1, f.y2)), nb) != k {
							continue
						}
						if q, ok := properCrossing(e, f); ok {
							ps.warnIn(file, a.line, "area %q: its boundary crosses itself near [%.6f, %.6f]: positions in the crossed parts count as outside; repair the polygon (QGIS: Vector › Geometry Tools › Fix Geometries, or ogr2ogr -makevalid)", a.name, q.x, q.y)
							break polys
						}
					}
				}
			}
		}
	}
}

// properCrossing reports whether e and f cross at a point inside both
// (not merely touch or share an end point), and where.
func properCrossing(e, f *edge) (pt, bool) {
	orient := func(ax, ay, bx, by, cx, cy float64) float64 {
		return (bx-ax)*(cy-ay) - (by-ay)*(cx-ax)
	}
	d1 := orient(e.x1, e.y1, e.x2, e.y2, f.x1, f.y1)
	d2 := orient(e.x1, e.y1, e.x2, e.y2, f.x2, f.y2)
	d3 := orient(f.x1, f.y1, f.x2, f.y2, e.x1, e.y1)
	d4 := orient(f.x1, f.y1, f.x2, f.y2, e.x2, e.y2)
	if !((d1 > 0 && d2 < 0 || d1 < 0 && d2 > 0) && (d3 > 0 && d4 < 0 || d3 < 0 && d4 > 0)) {
		return pt{}, false
	}
	t := d3 / (d3 - d4)
	return pt{e.x1 + t*(e.x2-e.x1), e.y1 + t*(e.y2-e.y1)}, true
}
