package routing

import (
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// The benchmark set: 1,000 rules and 500 polygons of 50-500 vertices.
var benchCfg = genConfig{rules: 1000, polygons: 500, minVerts: 50, maxVerts: 500, addresses: 50, inputs: 4096, seed: 42}

var bench struct {
	sync.Mutex
	rs     *RuleSet
	inputs []Input
}

// benchSet generates the benchmark set once per process.
func benchSet(b *testing.B) (*RuleSet, []Input) {
	bench.Lock()
	defer bench.Unlock()
	if bench.rs == nil {
		bench.rs, bench.inputs = genRuleSet(b, benchCfg)
	}
	return bench.rs, bench.inputs
}

// BenchmarkDecide is the indexed hot path.
func BenchmarkDecide(b *testing.B) {
	rs, inputs := benchSet(b)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, n := threadCPU(), 0
	for i := 0; b.Loop(); i++ {
		_ = rs.Decide(&inputs[i%len(inputs)])
		n++
	}
	reportCPU(b, cpu0, n)
}

// reportCPU adds the thread's CPU time per operation.
func reportCPU(b *testing.B, cpu0 int64, n int) {
	if cpu := threadCPU(); cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu-cpu0)/float64(n), "cpu-ns/op")
	}
}

// BenchmarkDecideLatency times every decision and reports the median and
// tail (time.Now adds some tens of nanoseconds to each).
func BenchmarkDecideLatency(b *testing.B) {
	rs, inputs := benchSet(b)
	lat := make([]time.Duration, 0, 1<<16)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		_ = rs.Decide(&inputs[i%len(inputs)])
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(t0))
		}
	}
	reportPercentiles(b, lat)
}

// BenchmarkLinearBaseline is the naive scan: every rule in order, every
// condition checked directly (bounding box then all edges for areas,
// folded-text search per keyword).
func BenchmarkLinearBaseline(b *testing.B) {
	rs, inputs := benchSet(b)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, n := threadCPU(), 0
	for i := 0; b.Loop(); i++ {
		_ = rs.linear(&inputs[i%len(inputs)], false)
		n++
	}
	reportCPU(b, cpu0, n)
}

func BenchmarkLinearBaselineLatency(b *testing.B) {
	rs, inputs := benchSet(b)
	lat := make([]time.Duration, 0, 1<<14)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		_ = rs.linear(&inputs[i%len(inputs)], false)
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(t0))
		}
	}
	reportPercentiles(b, lat)
}

// BenchmarkExplain includes building the trail.
func BenchmarkExplain(b *testing.B) {
	rs, inputs := benchSet(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_ = rs.Explain(&inputs[i%len(inputs)])
	}
}

func BenchmarkDecideParallel(b *testing.B) {
	rs, inputs := benchSet(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_ = rs.Decide(&inputs[i%len(inputs)])
			i++
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	rs, _ := genRuleSet(b, benchCfg)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(rs.Path()); err != nil {
			b.Fatal(err)
		}
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Nanoseconds()) }
	b.ReportMetric(p(0.5), "p50-ns")
	b.ReportMetric(p(0.9), "p90-ns")
	b.ReportMetric(p(0.99), "p99-ns")
}
