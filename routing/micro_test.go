package routing

import (
	"runtime"
	"testing"
)

func cpuLoop(b *testing.B, f func(i int)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0, n := threadCPU(), 0
	for i := 0; b.Loop(); i++ {
		f(i)
		n++
	}
	reportCPU(b, c0, n)
}

func BenchmarkMicroFold(b *testing.B) {
	_, inputs := benchSet(b)
	var buf []byte
	cpuLoop(b, func(i int) {
		buf = appendFolded(buf[:0], inputs[i%len(inputs)].Text)
	})
}

func BenchmarkMicroKeywords(b *testing.B) {
	rs, inputs := benchSet(b)
	s := rs.newScratch()
	cpuLoop(b, func(i int) {
		rs.matchKeywords(inputs[i%len(inputs)].Text, s)
	})
}

func BenchmarkMicroClock(b *testing.B) {
	rs, inputs := benchSet(b)
	cpuLoop(b, func(i int) {
		_ = rs.clockAt(inputs[i%len(inputs)].At)
	})
}

func BenchmarkMicroDistrict(b *testing.B) {
	rs, inputs := benchSet(b)
	s := rs.newScratch()
	cpuLoop(b, func(i int) {
		in := &inputs[i%len(inputs)]
		ev := rs.newEval(in, s)
		_ = ev.district()
		s.reset()
	})
}

func BenchmarkMicroPool(b *testing.B) {
	rs, _ := benchSet(b)
	cpuLoop(b, func(int) {
		s := rs.pool.Get().(*scratch)
		rs.pool.Put(s)
	})
}
