package media

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/minio/minio-go/v7"
)

// benchBody returns n pseudo-random bytes that sniff as JPEG (random, so
// no layer can compress them).
func benchBody(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(b)
	copy(b, []byte{0xFF, 0xD8, 0xFF, 0xE0})
	return b
}

// BenchmarkPut compares Put with a raw minio-go PutObject of the same bytes
// in the same run: "raw-sized" gives minio-go the length (it then uploads
// parts in parallel from the ReaderAt), "raw-stream" passes size -1 with
// the same part size, as Put must for a body of unknown length.
//
//	go test -run '^$' -bench BenchmarkPut -benchtime 5x ./media/
func BenchmarkPut(b *testing.B) {
	s := newTestStore(b, func(c *Config) { c.Types = []TypeRule{{TypeJPEG, 1 << 30}} })
	ctx := context.Background()
	for _, size := range benchSizes() {
		body := benchBody(size)
		name := fmt.Sprintf("%dMB", size>>20)
		var keys []string
		b.Run(name+"/media", func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				obj, err := s.Put(ctx, bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				keys = append(keys, obj.Key)
			}
		})
		for _, mode := range []string{"raw-sized", "raw-stream"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				b.SetBytes(int64(size))
				n := int64(size)
				if mode == "raw-stream" {
					n = -1
				}
				for b.Loop() {
					key := newKey(PrefixOriginal, time.Now())
					_, err := s.client.PutObject(ctx, s.cfg.Bucket, key, bytes.NewReader(body), n,
						minio.PutObjectOptions{ContentType: TypeJPEG, PartSize: uint64(s.cfg.PartSize)})
					if err != nil {
						b.Fatal(err)
					}
					keys = append(keys, key)
				}
			})
		}
		if err := s.Delete(ctx, keys...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtract measures Extract per test photo (from memory).
func BenchmarkExtract(b *testing.B) {
	for _, ph := range testsvc.Photos(b) {
		p := ph.Path
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		ct := Sniff(data)
		b.Run(filepath.Base(p), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Extract(bytes.NewReader(data), int64(len(data)), ct); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadMetadata measures ReadMetadata (ranged GETs from S3) per
// photo, and ReadMetadataFrom on the same bytes in memory ("from-bytes").
func BenchmarkReadMetadata(b *testing.B) {
	s := newTestStore(b, nil)
	ctx := context.Background()
	for _, name := range []string{"gps_ne.jpg", "gps.heic", "serial_owner.jpg", "phone_12mp.jpg"} {
		data, err := os.ReadFile(testsvc.Photo(b, name))
		if err != nil {
			b.Fatal(err)
		}
		obj, err := s.Put(ctx, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.ReadMetadata(ctx, obj); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/from-bytes", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.ReadMetadataFrom(ctx, obj, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMakeDerivative measures the whole team copy of the 12 MP photo
// as the gateway makes it, with the original read from S3 (MakeDerivative)
// and from the bytes the intake still holds (MakeDerivativeFrom), both
// storing the copy and thumbnail in S3; cpu-ms/op is this process only
// (not MinIO's).
//
//	go test -run '^$' -bench BenchmarkMakeDerivative -benchtime 20x ./media/
func BenchmarkMakeDerivative(b *testing.B) {
	s := newTestStore(b, nil)
	ctx := context.Background()
	data, err := os.ReadFile(testsvc.Photo(b, "phone_12mp.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	obj, err := s.Put(ctx, bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	md := Metadata{Orientation: 6}
	for _, from := range []string{"s3", "bytes"} {
		b.Run("from-"+from, func(b *testing.B) {
			c0 := cpuTime(b)
			for b.Loop() {
				var err error
				if from == "s3" {
					_, err = s.MakeDerivative(ctx, obj, md)
				} else {
					_, err = s.MakeDerivativeFrom(ctx, obj, md, data)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-c0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}

// streamBody generates n bytes on the fly (constant memory), sniffing as MP4.
type streamBody struct {
	n, off int64
	seed   *rand.ChaCha8
}

func (r *streamBody) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	_, _ = r.seed.Read(p)
	if r.off == 0 && len(p) >= 24 {
		copy(p, "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")
	}
	r.off += int64(len(p))
	return len(p), nil
}

func vmKiB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return -1
}

// TestPutStreamRSS streams a generated 2 GiB body through Put and samples
// VmRSS every 50 ms. It reports the peak above idle and asserts only that
// the whole body arrived; set MEDIA_RSS_GIB to change the size.
//
//	MEDIA_RSS=1 go test -run TestPutStreamRSS -v ./media/
func TestPutStreamRSS(t *testing.T) {
	if os.Getenv("MEDIA_RSS") == "" {
		t.Skip("set MEDIA_RSS=1 to stream 2 GiB through Put and report peak RSS")
	}
	gib := int64(2)
	if v, err := strconv.ParseInt(os.Getenv("MEDIA_RSS_GIB"), 10, 64); err == nil && v > 0 {
		gib = v
	}
	s := newTestStore(t, nil)
	runtime.GC()
	idle := vmKiB("VmRSS")
	var peak atomic.Int64
	var samples []int64 // VmRSS KiB, every 50 ms; read after done
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				v := vmKiB("VmRSS")
				samples = append(samples, v)
				if v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	start := time.Now()
	obj, err := s.Put(context.Background(), &streamBody{n: gib << 30, seed: rand.NewChaCha8([32]byte{2})})
	close(done)
	<-stopped
	el := time.Since(start)
	quarter := func(q int) int64 { // peak VmRSS in quarter q of the run
		var m int64
		for _, v := range samples[q*len(samples)/4 : (q+1)*len(samples)/4] {
			m = max(m, v)
		}
		return m >> 10
	}
	if err != nil {
		t.Fatal(err)
	}
	if obj.Size != gib<<30 || obj.ContentType != TypeMP4 {
		t.Fatalf("stored %d bytes as %s, want %d as %s", obj.Size, obj.ContentType, gib<<30, TypeMP4)
	}
	t.Logf("streamed %d GiB in %v (%.0f MB/s); VmRSS idle %d MiB, peak %d MiB (+%d MiB); VmHWM %d MiB; peak per quarter %d/%d/%d/%d MiB",
		gib, el.Round(time.Millisecond), float64(obj.Size)/el.Seconds()/1e6,
		idle>>10, peak.Load()>>10, (peak.Load()-idle)>>10, vmKiB("VmHWM")>>10,
		quarter(0), quarter(1), quarter(2), quarter(3))
	if err := s.Delete(context.Background(), obj.Key); err != nil {
		t.Fatal(err)
	}
}

// benchSizes is 3 MB and 200 MB, or MEDIA_BENCH_MB (comma-separated).
func benchSizes() []int {
	v := os.Getenv("MEDIA_BENCH_MB")
	if v == "" {
		return []int{3 << 20, 200 << 20}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n<<20)
		}
	}
	return out
}

// BenchmarkPutPaired alternates Put and a raw minio-go PutObject (known
// size) of the same bytes within each iteration, swapping which goes first,
// and reports both throughputs and their ratio: robust against the load
// drifting during the run, which separate sub-benchmarks are not.
//
//	go test -run '^$' -bench BenchmarkPutPaired -benchtime 20x ./media/
func BenchmarkPutPaired(b *testing.B) {
	s := newTestStore(b, func(c *Config) {
		c.Types = []TypeRule{{TypeJPEG, 1 << 30}}
		c.PartsInFlight, _ = strconv.Atoi(os.Getenv("MEDIA_BENCH_INFLIGHT")) // 0: default
	})
	ctx := context.Background()
	for _, size := range benchSizes() {
		body := benchBody(size)
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			var tMedia, tRaw time.Duration
			media := func() {
				start := time.Now()
				obj, err := s.Put(ctx, bytes.NewReader(body))
				tMedia += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				_ = s.Delete(ctx, obj.Key)
			}
			raw := func() {
				key := newKey(PrefixOriginal, time.Now())
				start := time.Now()
				_, err := s.client.PutObject(ctx, s.cfg.Bucket, key, bytes.NewReader(body), int64(size),
					minio.PutObjectOptions{ContentType: TypeJPEG, PartSize: uint64(s.cfg.PartSize)})
				tRaw += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				_ = s.Delete(ctx, key)
			}
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					media()
					raw()
				} else {
					raw()
					media()
				}
				i++
			}
			mb := float64(size) * float64(i) / 1e6
			b.ReportMetric(mb/tMedia.Seconds(), "media-MB/s")
			b.ReportMetric(mb/tRaw.Seconds(), "raw-MB/s")
			b.ReportMetric(tRaw.Seconds()/tMedia.Seconds(), "media/raw")
			b.ReportMetric(float64(tMedia.Milliseconds())/float64(i), "media-ms/op")
			b.ReportMetric(float64(tRaw.Milliseconds())/float64(i), "raw-ms/op")
		})
	}
}
