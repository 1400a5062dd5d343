package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// CSVHeader is the first line of WriteCSV's output.
var CSVHeader = []string{"load", "kind", "seq", "start_ms", "accept_ms", "e2e_ms", "link_ms", "error"}

// WriteCSV writes one line per sample (times in milliseconds).
func WriteCSV(w io.Writer, samples []Sample) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	f := func(d time.Duration) string { return strconv.FormatFloat(ms(d), 'f', 3, 64) }
	for _, s := range samples {
		if err := cw.Write([]string{s.Load, s.Kind, strconv.Itoa(s.Seq), f(s.Start), f(s.Accept), f(s.E2E), f(s.Link), s.Err}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes one JSON object per load, one per line.
func WriteJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// WriteTable writes the figures for people, each as a ratio to the floor.
func WriteTable(w io.Writer, results []Result) {
	fmt.Fprintf(w, "%-14s %-5s %5s %4s  %-9s %9s %9s %9s %9s %8s   %s\n",
		"load", "mode", "n", "c", "", "accept50", "p50 ms", "p99 ms", "per s", "errors", "ratio to floor")
	for _, r := range results {
		for _, k := range []struct {
			name string
			s    Summary
		}{{KindFloor, r.Floor}, {KindFieldgate, r.Fieldgate}} {
			ratios := ""
			if k.name == KindFieldgate {
				ratios = fmt.Sprintf("p50 %.2f×  p99 %.2f×  throughput %.2f×", r.P50Ratio, ratio(r.Fieldgate.P99ms, r.Floor.P99ms), r.ThroughputRatio)
			}
			fmt.Fprintf(w, "%-14s %-5s %5d %4d  %-9s %9.1f %9.1f %9.1f %9.2f %8d   %s\n",
				r.Load, r.Mode, r.Count, r.Concurrency, k.name, k.s.AcceptP50ms, k.s.P50ms, k.s.P99ms, k.s.Throughput, k.s.Errors, ratios)
		}
		if r.Rate > 0 && r.Fieldgate.Throughput > 0 {
			fmt.Fprintf(w, "%-14s open loop at %g/s: fieldgate accepted p50 %.1f ms, p99 %.1f ms (floor %.1f / %.1f); all %d in the room %.1f s after the first was sent\n",
				"", r.Rate, r.Fieldgate.AcceptP50ms, r.Fieldgate.AcceptP99ms, r.Floor.AcceptP50ms, r.Floor.AcceptP99ms,
				r.Fieldgate.OK, float64(r.Fieldgate.OK)/r.Fieldgate.Throughput)
		}
		if r.PhotoBytes > 0 {
			fmt.Fprintf(w, "%-14s photo linked in the room: %d of %d, p50 %.1f ms, p99 %.1f ms; floor PUT encryption: %s\n",
				"", r.Fieldgate.Linked, r.Fieldgate.OK, r.Fieldgate.LinkP50ms, r.Fieldgate.LinkP99ms, r.FloorEncryption)
		}
		if len(r.CPU) > 0 {
			var parts []string
			for _, c := range r.CPU {
				parts = append(parts, fmt.Sprintf("%s %.2f / %.2f", c.Name, c.FloorMs, c.FieldgateMs))
			}
			fmt.Fprintf(w, "%-14s CPU-ms per operation, floor / fieldgate: %s\n", "", strings.Join(parts, ", "))
		}
		if r.TargetMet != nil {
			fmt.Fprintf(w, "%-14s target %s: %s (load average %.1f → %.1f)\n", "", r.Target, metText(*r.TargetMet), r.LoadAvg[0], r.LoadAvg[1])
		}
	}
}

func metText(met bool) string {
	if met {
		return "met"
	}
	return "NOT MET"
}

// WriteMarkdown writes the results as the table of deploy/SCALING.md:
// per load the floor's and fieldgate's figures, their ratios, the time
// until the photo's team copy was linked in the room, the machine's load
// average during the load, and the target with met or not met.
func WriteMarkdown(w io.Writer, results []Result) {
	fmt.Fprintln(w, "| load | floor p50 / p99 | floor per s | fieldgate accept p50 | fieldgate p50 / p99 (POST → post in room) | photo linked p50 / p99 | fieldgate per s | p50 ratio | throughput ratio | load avg | target |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range results {
		linked := "–"
		if r.PhotoBytes > 0 {
			linked = fmt.Sprintf("%s / %s (%d of %d)", msText(r.Fieldgate.LinkP50ms), msText(r.Fieldgate.LinkP99ms), r.Fieldgate.Linked, r.Fieldgate.OK)
		}
		target := "–"
		if r.TargetMet != nil {
			target = r.Target + " — **" + strings.ToLower(metText(*r.TargetMet)) + "**"
		}
		errs := ""
		if n := r.Fieldgate.Errors + r.Floor.Errors; n > 0 {
			errs = fmt.Sprintf(" (%d errors)", n)
		}
		fmt.Fprintf(w, "| %s, c=%d, n=%d%s | %s / %s | %.1f | %s | %s / %s | %s | %.2f | %.1f× | %.2f× | %.1f–%.1f | %s |\n",
			r.Load, r.Concurrency, r.Count, errs, msText(r.Floor.P50ms), msText(r.Floor.P99ms), r.Floor.Throughput,
			msText(r.Fieldgate.AcceptP50ms), msText(r.Fieldgate.P50ms), msText(r.Fieldgate.P99ms), linked,
			r.Fieldgate.Throughput, r.P50Ratio, r.ThroughputRatio, r.LoadAvg[0], r.LoadAvg[1], target)
	}
}

// msText prints milliseconds as people read them: 54.5 ms, 1.35 s.
func msText(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	}
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
}

// Plot colours: the floor grey, fieldgate blue, errors red.
var (
	colFloor = color.RGBA{150, 150, 150, 255}
	colFG    = color.RGBA{30, 90, 200, 255}
	colErr   = color.RGBA{210, 30, 30, 255}
	colAxis  = color.RGBA{60, 60, 60, 255}
)

// WritePlot draws end-to-end latency (y, ms) over the time each report was
// sent (x, s since its load began) for one load's samples: the floor grey,
// fieldgate blue, failures red on the top edge. The drawing is our own
// (image/png and a bitmap font): a scatter plot needs no plotting library.
func WritePlot(w io.Writer, title string, samples []Sample) error {
	const W, H, left, right, top, bottom = 900, 500, 70, 20, 40, 45
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	var maxX, maxY float64
	for _, s := range samples {
		maxX = max(maxX, s.Start.Seconds())
		if s.Err == "" {
			maxY = max(maxY, ms(s.E2E))
		}
	}
	maxX, maxY = niceCeil(max(maxX, 0.001)), niceCeil(max(maxY, 1))
	px := func(x float64) int { return left + int(x/maxX*float64(W-left-right)) }
	py := func(y float64) int { return H - bottom - int(y/maxY*float64(H-top-bottom)) }
	for x := left; x < W-right; x++ {
		img.Set(x, H-bottom, colAxis)
	}
	for y := top; y <= H-bottom; y++ {
		img.Set(left, y, colAxis)
	}
	for i := 0; i <= 4; i++ {
		yv, xv := maxY*float64(i)/4, maxX*float64(i)/4
		label(img, 4, py(yv)+4, strconv.FormatFloat(yv, 'g', 4, 64), colAxis)
		label(img, px(xv)-10, H-bottom+18, strconv.FormatFloat(xv, 'g', 4, 64), colAxis)
		for x := left; x < W-right; x += 4 {
			img.Set(x, py(yv), color.RGBA{225, 225, 225, 255})
		}
	}
	label(img, left, 20, title+": end-to-end latency (ms) over send time (s); grey floor, blue fieldgate, red failed", colAxis)
	label(img, W/2-40, H-8, "seconds since start", colAxis)
	for _, kind := range []string{KindFloor, KindFieldgate} {
		for _, s := range samples {
			if s.Kind != kind {
				continue
			}
			c, y := colFG, ms(s.E2E)
			if kind == KindFloor {
				c = colFloor
			}
			if s.Err != "" {
				c, y = colErr, maxY
			}
			dot(img, px(s.Start.Seconds()), py(y), c)
		}
	}
	return png.Encode(w, img)
}

func dot(img *image.RGBA, x, y int, c color.Color) {
	for dy := -2; dy <= 2; dy++ {
		for dx := -2; dx <= 2; dx++ {
			if dx*dx+dy*dy <= 5 {
				img.Set(x+dx, y+dy, c)
			}
		}
	}
}

func label(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}
