package routing

import "math"

// grid is a uniform grid over the areas' (grown) bounding boxes. Each cell
// lists, in ascending order, the areas whose box touches it.
type grid struct {
	box       bbox
	nx, ny    int
	cellW     float64
	cellH     float64
	cellStart []int32
	cellAreas []int32
	boxes     []bbox // per area, grown by the largest "near" distance used with it
}

func newGrid(boxes []bbox) *grid {
	g := &grid{box: emptyBBox(), boxes: boxes}
	if len(boxes) == 0 {
		g.nx, g.ny, g.cellW, g.cellH = 1, 1, 1, 1
		g.cellStart = []int32{0, 0}
		return g
	}
	for _, b := range boxes {
		g.box.union(b)
	}
	n := int(math.Ceil(math.Sqrt(float64(4 * len(boxes)))))
	n = min(max(n, 1), 512)
	g.nx, g.ny = n, n
	g.cellW = (g.box.maxX - g.box.minX) / float64(n)
	g.cellH = (g.box.maxY - g.box.minY) / float64(n)
	if g.cellW <= 0 {
		g.cellW = 1
	}
	if g.cellH <= 0 {
		g.cellH = 1
	}
	cells := make([][]int32, n*n)
	for i, b := range boxes {
		x0, y0 := g.cell(b.minX, b.minY)
		x1, y1 := g.cell(b.maxX, b.maxY)
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				cells[y*n+x] = append(cells[y*n+x], int32(i))
			}
		}
	}
	g.cellStart = make([]int32, n*n+1)
	for i, c := range cells {
		g.cellStart[i+1] = g.cellStart[i] + int32(len(c))
		g.cellAreas = append(g.cellAreas, c...)
	}
	return g
}

func (g *grid) cell(x, y float64) (int, int) {
	cx := int((x - g.box.minX) / g.cellW)
	cy := int((y - g.box.minY) / g.cellH)
	return min(max(cx, 0), g.nx-1), min(max(cy, 0), g.ny-1)
}

// query returns the areas whose grown box may contain q, in ascending
// order. Callers still check the box.
func (g *grid) query(q pt) []int32 {
	if !g.box.contains(q) {
		return nil
	}
	cx, cy := g.cell(q.x, q.y)
	c := cy*g.nx + cx
	return g.cellAreas[g.cellStart[c]:g.cellStart[c+1]]
}
