package media

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media/internal/vips"
)

// cpuTime is the CPU time (user + system) this process has used: libvips
// works in threads of its own, so wall time per operation says little on
// a shared machine.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchTeamCopy runs TeamCopy on src and reports the CPU milliseconds per
// team copy (cpu-ms/op) and the team copy's size (KB).
func benchTeamCopy(b *testing.B, src []byte, opts vips.Options) {
	b.SetBytes(int64(len(src)))
	var size int
	c0 := cpuTime(b)
	for b.Loop() {
		tc, err := vips.TeamCopy(src, opts)
		if err != nil {
			b.Fatal(err)
		}
		size = len(tc.Full)
	}
	b.ReportMetric(float64(cpuTime(b)-c0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(size)/1000, "KB")
}

// BenchmarkTeamCopy12MP is the team copy of a 4032×3024 phone photo
// (orientation 6) from memory at the default long edge (1600 px: decoded
// at 1/2 scale, 2016 px, then resized) and at the edges that shrink-on-load
// reaches alone (1008 px at 1/4, 2016 px at 1/2): the trade-off between CPU
// and the size of what a team member downloads (deploy/SCALING.md).
func BenchmarkTeamCopy12MP(b *testing.B) {
	src, err := os.ReadFile(testsvc.Photo(b, "phone_12mp.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	for _, edge := range []int{DefaultDerivativeMaxEdge, 1008, 2016} {
		b.Run(fmt.Sprintf("edge=%d", edge), func(b *testing.B) {
			benchTeamCopy(b, src, vips.Options{MaxEdge: edge, ThumbEdge: DefaultThumbMaxEdge, MaxPixels: DefaultMaxDecodePixels, Orientation: 6})
		})
	}
}

// BenchmarkTeamCopyPhotos is the team copy of the other benchmark photos
// at the default edge: the 135 KB messenger photo and the HEIC (libheif
// decodes HEIC at full size: it has no shrink-on-load).
func BenchmarkTeamCopyPhotos(b *testing.B) {
	for _, name := range []string{"messenger_450x600.jpg", "gps.heic"} {
		src, err := os.ReadFile(testsvc.Photo(b, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			benchTeamCopy(b, src, vips.Options{MaxEdge: DefaultDerivativeMaxEdge, ThumbEdge: DefaultThumbMaxEdge, MaxPixels: DefaultMaxDecodePixels, Orientation: 6})
		})
	}
}

// BenchmarkTeamCopy12MPParallel makes team copies of the 12 MP photo from
// as many goroutines as there are CPUs: Config.MaxDerivatives' default,
// so what a busy gateway does (fieldgate bench's c=8 queues behind it).
// It reports CPU-ms per copy and the process's peak RSS (VmHWM: the
// peak of the whole benchmark binary so far, MB).
func BenchmarkTeamCopy12MPParallel(b *testing.B) {
	src, err := os.ReadFile(testsvc.Photo(b, "phone_12mp.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	opts := vips.Options{MaxEdge: DefaultDerivativeMaxEdge, ThumbEdge: DefaultThumbMaxEdge, MaxPixels: DefaultMaxDecodePixels, Orientation: 6}
	b.SetBytes(int64(len(src)))
	c0 := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := vips.TeamCopy(src, opts); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(cpuTime(b)-c0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	b.ReportMetric(peakRSSMB(b), "peak-RSS-MB")
}

// peakRSSMB is VmHWM of /proc/self/status in MB (0 where there is none).
func peakRSSMB(b *testing.B) float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var n float64
			if _, err := fmt.Sscanf(strings.TrimSpace(kb), "%f kB", &n); err != nil {
				b.Fatalf("VmHWM %q: %v", kb, err)
			}
			return n / 1000
		}
	}
	return 0
}

// BenchmarkTeamCopyLossless is the team copy of the upright messenger
// photo (450×600, orientation 1, quality 80, 44 KB) by the converting path (what
// every JPEG took before the lossless path) and by the lossless path
// (segment walk, sRGB check, DCT-scaled thumbnail), plus the walk alone.
// The stored benchmark photo messenger_450x600.jpg (orientation 6) takes
// the converting path either way: BenchmarkTeamCopyPhotos.
func BenchmarkTeamCopyLossless(b *testing.B) {
	src, err := os.ReadFile(messengerUprightJPEG)
	if err != nil {
		b.Fatal(err)
	}
	opts := vips.Options{MaxEdge: DefaultDerivativeMaxEdge, ThumbEdge: DefaultThumbMaxEdge, MaxPixels: DefaultMaxDecodePixels, Orientation: 1}
	for _, path := range []struct {
		name string
		copy func() (vips.Result, error)
	}{
		{"converting", func() (vips.Result, error) { return vips.TeamCopy(src, opts) }},
		{"lossless", func() (vips.Result, error) { return losslessTeamCopy(src, opts) }},
		{"walk-only", func() (vips.Result, error) {
			c, err := losslessJPEG(src, losslessLimits{maxEdge: opts.MaxEdge, maxPixels: opts.MaxPixels})
			return vips.Result{Full: c.data}, err
		}},
	} {
		b.Run(path.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			var size int
			c0 := cpuTime(b)
			for b.Loop() {
				tc, err := path.copy()
				if err != nil {
					b.Fatal(err)
				}
				size = len(tc.Full)
			}
			b.ReportMetric(float64(cpuTime(b)-c0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(size)/1000, "KB")
		})
	}
}
