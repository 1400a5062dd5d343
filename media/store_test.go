package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStorePhotosRoundTrip(t *testing.T) {
	s := newTestStore(t, nil)
	ctx := context.Background()
	for _, e := range loadExpected(t) {
		t.Run(e.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(sharedPhotos, e.file))
			if err != nil {
				t.Fatal(err)
			}
			obj, err := s.Put(ctx, bytes.NewReader(data))
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			sum := sha256.Sum256(data)
			if obj.SHA256 != hex.EncodeToString(sum[:]) || obj.Size != int64(len(data)) {
				t.Errorf("Put: sha %s size %d, want %x %d", obj.SHA256, obj.Size, sum, len(data))
			}
			if err := validKey(obj.Key); err != nil || !strings.HasPrefix(obj.Key, PrefixOriginal) {
				t.Errorf("key %q: %v", obj.Key, err)
			}
			if strings.Contains(obj.Key, strings.TrimSuffix(e.file, filepath.Ext(e.file))) {
				t.Errorf("key %q contains the file name", obj.Key)
			}
			got := readObject(t, s, obj.Key)
			if !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, differ from the %d stored", len(got), len(data))
			}
			md, err := s.ReadMetadata(ctx, obj)
			if err != nil {
				t.Fatalf("ReadMetadata: %v", err)
			}
			checkExpected(t, e, md)
			// With only the key, as a later job might have it.
			md2, err := s.ReadMetadata(ctx, Object{Key: obj.Key})
			if err != nil {
				t.Fatalf("ReadMetadata(key only): %v", err)
			}
			checkExpected(t, e, md2)
		})
	}
}

func readObject(t testing.TB, s *Store, key string) []byte {
	t.Helper()
	u, err := s.PresignOriginal(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", key, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPutRefusesRenamedExecutable(t *testing.T) {
	s := newTestStore(t, nil)
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), bytes.Repeat([]byte{0}, 1000)...)
	copy(exe[0x80:], "PE\x00\x00")
	_, err := s.Put(context.Background(), bytes.NewReader(exe)) // a client would call it "photo.jpg"
	if !errors.Is(err, ErrTypeNotAllowed) {
		t.Fatalf("Put(exe) = %v, want ErrTypeNotAllowed", err)
	}
	if keys := listKeys(t, s); len(keys) != 0 {
		t.Fatalf("bucket not empty after refusal: %v", keys)
	}
}

// bigJPEG returns a reader of n bytes that sniffs as JPEG.
func bigJPEG(n int64) io.Reader {
	return io.MultiReader(bytes.NewReader([]byte{0xFF, 0xD8, 0xFF, 0xE0}), io.LimitReader(zeros{}, n-4))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestPutOversizedAbortedLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int64
		size  int64
	}{
		{"single part", 1 << 20, 1<<20 + 1},
		{"multipart", 12 << 20, 20 << 20}, // fails after uploading one 5 MiB part
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t, func(c *Config) {
				c.PartSize = 5 << 20
				c.Types = []TypeRule{{TypeJPEG, tc.limit}}
			})
			var key string
			s.keyHook = func(k string) { key = k }
			_, err := s.Put(context.Background(), bigJPEG(tc.size))
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Put = %v, want ErrTooLarge", err)
			}
			if keys := listKeys(t, s); len(keys) != 0 {
				t.Errorf("objects left: %v", keys)
			}
			if ups := listUploads(t, s, key); len(ups) != 0 {
				t.Errorf("multipart uploads left: %v", ups)
			}
			// Exactly at the limit is fine.
			obj, err := s.Put(context.Background(), bigJPEG(tc.limit))
			if err != nil || obj.Size != tc.limit {
				t.Fatalf("Put at limit = %+v, %v", obj, err)
			}
		})
	}
}

func TestPutMultipartHash(t *testing.T) {
	s := newTestStore(t, func(c *Config) { c.PartSize = 5 << 20 })
	data := make([]byte, 11<<20+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	copy(data, []byte{0xFF, 0xD8, 0xFF, 0xE0})
	obj, err := s.Put(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if obj.SHA256 != hex.EncodeToString(sum[:]) || obj.Size != int64(len(data)) {
		t.Errorf("got %s/%d, want %x/%d", obj.SHA256, obj.Size, sum, len(data))
	}
	if got := readObject(t, s, obj.Key); !bytes.Equal(got, data) {
		t.Error("multipart object differs from input")
	}
}

// failingReader returns data, then an error.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestPutReaderErrorLeavesNothing(t *testing.T) {
	s := newTestStore(t, func(c *Config) { c.PartSize = 5 << 20 })
	boom := errors.New("client went away")
	var key string
	s.keyHook = func(k string) { key = k }
	_, err := s.Put(context.Background(), &failingReader{bigJPEG(12 << 20), boom})
	if !errors.Is(err, boom) {
		t.Fatalf("Put = %v, want %v", err, boom)
	}
	if keys := listKeys(t, s); len(keys) != 0 {
		t.Errorf("objects left: %v", keys)
	}
	if ups := listUploads(t, s, key); len(ups) != 0 {
		t.Errorf("multipart uploads left: %v", ups)
	}
}

func TestDerivatives(t *testing.T) {
	s := newTestStore(t, nil)
	ctx := context.Background()
	put := func(name string) (Object, Metadata, []byte) {
		data, err := os.ReadFile(filepath.Join(sharedPhotos, name))
		if err != nil {
			t.Fatal(err)
		}
		obj, err := s.Put(ctx, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		md, err := s.ReadMetadata(ctx, obj)
		if err != nil {
			t.Fatal(err)
		}
		return obj, md, data
	}

	t.Run("corrupted.jpg has no serial", func(t *testing.T) {
		obj, md, orig := put("corrupted.jpg")
		if !bytes.Contains(orig, []byte("F70501740")) {
			t.Fatal("test premise: original should contain the serial number")
		}
		d, err := s.MakeDerivative(ctx, obj, md)
		if err != nil {
			t.Fatalf("MakeDerivative: %v", err)
		}
		for _, key := range []string{d.Key, d.ThumbKey} {
			b := fetchPresigned(t, s, key)
			if bytes.Contains(b, []byte("F70501740")) {
				t.Errorf("%s contains the serial number", key)
			}
			for _, marker := range [][]byte{[]byte("Exif\x00\x00"), []byte("OLYMPUS"), []byte("http://ns.adobe.com")} {
				if bytes.Contains(b, marker) {
					t.Errorf("%s contains metadata %q", key, marker)
				}
			}
			if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s does not decode: %v", key, err)
			}
		}
	})

	t.Run("landscape_6.jpg upright", func(t *testing.T) {
		obj, md, orig := put("landscape_6.jpg")
		if md.Orientation != 6 {
			t.Fatalf("orientation %d, want 6", md.Orientation)
		}
		src, err := jpeg.Decode(bytes.NewReader(orig))
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.MakeDerivative(ctx, obj, md)
		if err != nil {
			t.Fatalf("MakeDerivative: %v", err)
		}
		img, err := jpeg.Decode(bytes.NewReader(fetchPresigned(t, s, d.Key)))
		if err != nil {
			t.Fatal(err)
		}
		sb, db := src.Bounds(), img.Bounds()
		// Orientation 6: stored as portrait, displayed rotated 90° clockwise
		// as landscape (hence the file's name).
		if sb.Dx() >= sb.Dy() || db.Dx() <= db.Dy() {
			t.Fatalf("stored %v, derivative %v: want stored portrait, derivative landscape", sb.Size(), db.Size())
		}
		// The stored top-left corner must appear at the derivative's top-right.
		checkCorner(t, src, image.Pt(sb.Min.X, sb.Min.Y), img, image.Pt(db.Max.X-1, db.Min.Y))
	})

	t.Run("HEIC gets an upright team copy without metadata", func(t *testing.T) {
		obj, md, orig := put("IMG_5195.HEIC")
		if !bytes.Contains(orig, []byte("iPhone 11 Pro Max")) {
			t.Fatal("test premise: the original names the phone")
		}
		d, err := s.MakeDerivative(ctx, obj, md)
		if err != nil {
			t.Fatalf("MakeDerivative(HEIC): %v", err)
		}
		if d.ContentType != TypeJPEG {
			t.Errorf("content type %q, want JPEG", d.ContentType)
		}
		b := fetchPresigned(t, s, d.Key)
		checkNoMetadata(t, "HEIC team copy", b, "iPhone")
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		// 2566×3313 as the HEIF container displays it, scaled to 1600 px.
		if got := img.Bounds().Size(); got != image.Pt(1239, 1600) {
			t.Errorf("team copy %v, want 1239×1600 (upright portrait)", got)
		}
	})

}

// checkCorner compares the average colour of 16×16 patches at two corners.
func checkCorner(t *testing.T, a image.Image, pa image.Point, b image.Image, pb image.Point) {
	t.Helper()
	avg := func(img image.Image, p image.Point, scale int) [3]int {
		var s [3]int
		n := 0
		r := image.Rect(p.X-8*scale, p.Y-8*scale, p.X+8*scale, p.Y+8*scale).Intersect(img.Bounds())
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				s[0] += int(cr >> 8)
				s[1] += int(cg >> 8)
				s[2] += int(cb >> 8)
				n++
			}
		}
		for i := range s {
			s[i] /= max(n, 1)
		}
		return s
	}
	scale := max(1, a.Bounds().Dx()/max(b.Bounds().Dy(), 1))
	ca, cb := avg(a, pa, scale), avg(b, pb, 1)
	for i := range ca {
		if d := ca[i] - cb[i]; d > 40 || d < -40 {
			t.Errorf("corner colour %v vs %v: orientation not applied as expected", ca, cb)
			return
		}
	}
}

func fetchPresigned(t testing.TB, s *Store, key string) []byte {
	t.Helper()
	u, err := s.PresignGet(context.Background(), key)
	if err != nil {
		t.Fatalf("PresignGet(%s): %v", key, err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET presigned %s: %s", key, resp.Status)
	}
	return b
}

func TestPresignAndDelete(t *testing.T) {
	s := newTestStore(t, func(c *Config) { c.PresignTTL = 2 * time.Second })
	ctx := context.Background()
	data, _ := os.ReadFile(filepath.Join(sharedPhotos, "DSCN0010.jpg"))
	obj, err := s.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PresignGet(ctx, obj.Key); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("PresignGet(original) = %v, want ErrInvalidKey", err)
	}
	if _, err := s.PresignGet(ctx, "team/../orig/x"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("PresignGet(traversal) = %v, want ErrInvalidKey", err)
	}
	d, err := s.MakeDerivative(ctx, obj, Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.PresignGet(ctx, d.Key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "X-Amz-Expires=2") {
		t.Errorf("presigned URL %q does not carry the configured TTL", u)
	}
	// Unsigned access must fail: the bucket is not public.
	resp, err := http.Get("http://" + s.cfg.Endpoint + "/" + s.cfg.Bucket + "/" + d.Key)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous GET: %s, want 403", resp.Status)
	}

	if err := s.Delete(ctx, obj.Key, d.Key, d.ThumbKey); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, obj.Key, d.Key, d.ThumbKey); err != nil {
		t.Fatalf("second Delete (idempotent) = %v", err)
	}
	if keys := listKeys(t, s); len(keys) != 0 {
		t.Errorf("left after Delete: %v", keys)
	}

	old, _ := s.Put(ctx, bytes.NewReader(data))
	n, err := s.DeleteOlderThan(ctx, PrefixOriginal, time.Now().Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("DeleteOlderThan = %d, %v; want 1", n, err)
	}
	n, err = s.DeleteOlderThan(ctx, PrefixOriginal, time.Now().Add(time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("second DeleteOlderThan = %d, %v; want 0", n, err)
	}
	if keys := listKeys(t, s); len(keys) != 0 {
		t.Errorf("left after DeleteOlderThan (%s): %v", old.Key, keys)
	}
}

func TestNewErrors(t *testing.T) {
	env := testS3(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := New(ctx, Config{Endpoint: env.Endpoint, AccessKey: env.AccessKey, SecretKey: "wrong", Bucket: randomBucket()}, nil)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("wrong secret: %v, want ErrUnavailable mentioning credentials", err)
	}
	_, err = New(ctx, Config{Endpoint: "127.0.0.1:1", AccessKey: "a", SecretKey: "b", Bucket: randomBucket()}, nil)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("unreachable: %v, want ErrUnavailable mentioning reachability", err)
	}
}

// cancelAfter cancels a context once n bytes have been read through it.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	m, err := c.r.Read(p)
	c.n -= int64(m)
	if c.n <= 0 {
		c.cancel()
	}
	return m, err
}

func TestPutCanceledMidUploadLeavesNothing(t *testing.T) {
	s := newTestStore(t, func(c *Config) { c.PartSize = 5 << 20 })
	var key string
	s.keyHook = func(k string) { key = k }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := s.Put(ctx, &cancelAfter{r: bigJPEG(30 << 20), n: 12 << 20, cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v, want context.Canceled", err)
	}
	if keys := listKeys(t, s); len(keys) != 0 {
		t.Errorf("objects left: %v", keys)
	}
	if ups := listUploads(t, s, key); len(ups) != 0 {
		t.Errorf("multipart uploads left: %v", ups)
	}
}
