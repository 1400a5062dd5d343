package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media/internal/vips"
)

func TestStorePhotosRoundTrip(t *testing.T) {
	s := newTestStore(t, nil)
	ctx := context.Background()
	for _, e := range loadExpected(t) {
		t.Run(e.File, func(t *testing.T) {
			data, err := os.ReadFile(e.Path)
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
			if strings.Contains(obj.Key, strings.TrimSuffix(e.File, filepath.Ext(e.File))) {
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

// TestPutCheckedRefusesWrongChecksum shows that the server checks the
// body of a one-PUT upload (originals, team copies, thumbnails) against
// the signed x-amz-checksum-sha256 header: bytes changed on the way are
// refused and nothing is stored. The payload itself is unsigned, so this
// header is what protects it over plain HTTP.
func TestPutCheckedRefusesWrongChecksum(t *testing.T) {
	s := newTestStore(t, nil)
	ctx := context.Background()
	body := []byte("team copy bytes as encoded")
	sent := []byte("team copy bytes as changed")
	sum := sha256.Sum256(body)
	key := func() string {
		return PrefixTeam + strings.TrimPrefix(newKey(PrefixOriginal, time.Now()), PrefixOriginal) + ".jpg"
	}
	err := s.putChecked(ctx, key(), bytes.NewReader(sent), int64(len(sent)), sum[:], minio.PutObjectOptions{ContentType: TypeJPEG})
	if err == nil {
		t.Fatal("a body that does not match its checksum was stored")
	}
	t.Logf("refused: %v", err)
	if keys := listKeys(t, s); len(keys) != 0 {
		t.Errorf("objects left: %v", keys)
	}
	right := key()
	if err := s.putChecked(ctx, right, bytes.NewReader(body), int64(len(body)), sum[:], minio.PutObjectOptions{ContentType: TypeJPEG}); err != nil {
		t.Fatalf("matching checksum refused: %v", err)
	}
	if got := readObject(t, s, right); !bytes.Equal(got, body) {
		t.Errorf("stored %q, want %q", got, body)
	}
}

// TestPutHold checks that PutHold hands over the object and a copy of its
// bytes before the PUT (the object is not in S3 yet when hold runs) with
// the key, size and SHA-256 it is then stored under; that bodies over
// keep or over one part are not handed over; and that a PUT failing after
// hold leaves nothing and returns the error (the caller then discards
// what it made from the bytes).
func TestPutHold(t *testing.T) {
	s := newTestStore(t, func(c *Config) { c.PartSize = 5 << 20 })
	ctx := context.Background()
	photo, err := os.ReadFile(testsvc.Photo(t, "phone_12mp.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	var held []Object
	var heldBody []byte
	obj, err := s.PutHold(ctx, bytes.NewReader(photo), int64(len(photo)), func(o Object, b []byte) {
		if _, err := s.client.StatObject(ctx, s.cfg.Bucket, o.Key, minio.StatObjectOptions{}); err == nil {
			t.Error("object already stored when hold runs")
		}
		held, heldBody = append(held, o), b
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(photo)
	switch {
	case len(held) != 1:
		t.Fatalf("hold called %d times, want 1", len(held))
	case held[0] != obj:
		t.Errorf("held %+v, stored %+v", held[0], obj)
	case obj.SHA256 != hex.EncodeToString(sum[:]) || obj.Size != int64(len(photo)) || obj.ContentType != TypeJPEG:
		t.Errorf("stored %+v, want SHA-256 %x, %d bytes, %s", obj, sum, len(photo), TypeJPEG)
	case !bytes.Equal(heldBody, photo):
		t.Error("held bytes differ from the body")
	}
	if got := readObject(t, s, obj.Key); !bytes.Equal(got, photo) {
		t.Error("stored object differs from the body")
	}

	calls := 0
	count := func(Object, []byte) { calls++ }
	if _, err := s.PutHold(ctx, bytes.NewReader(photo), int64(len(photo))-1, count); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutHold(ctx, bigJPEG(6<<20), 16<<20, count); err != nil { // two parts
		t.Fatal(err)
	}
	if calls != 0 {
		t.Errorf("hold called %d times for bodies over keep or one part", calls)
	}

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	before := len(listKeys(t, s))
	var key string
	_, err = s.PutHold(cctx, bytes.NewReader(photo), int64(len(photo)), func(o Object, _ []byte) { key = o.Key; cancel() })
	if err == nil {
		t.Fatal("PutHold succeeded although its context ended before the PUT")
	}
	if keys := listKeys(t, s); len(keys) != before || slices.Contains(keys, key) {
		t.Errorf("a failed PutHold left objects: %v", keys)
	}
}

// TestStoreDerivativeCanceledLeavesNothing: a team copy whose context
// ends (its report was not accepted) is stored to the end and then
// deleted, rather than its PUTs being abandoned in flight, where the
// server could complete one after the delete.
func TestStoreDerivativeCanceledLeavesNothing(t *testing.T) {
	s := newTestStore(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	obj := Object{Key: newKey(PrefixOriginal, time.Now()), ContentType: TypeJPEG}
	_, err := s.storeDerivative(ctx, obj, vips.Result{Full: []byte("team copy"), Thumb: []byte("thumb")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("storeDerivative = %v, want context.Canceled", err)
	}
	if keys := listKeys(t, s); len(keys) != 0 {
		t.Errorf("objects left: %v", keys)
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
		obj, data := putPhoto(t, s, name)
		md, err := s.ReadMetadata(ctx, obj)
		if err != nil {
			t.Fatal(err)
		}
		return obj, md, data
	}

	t.Run("serial_owner.jpg has no serial or owner", func(t *testing.T) {
		want := testsvc.PhotoExpected(t, "serial_owner.jpg")
		obj, md, orig := put(want.File)
		private := [][]byte{[]byte(want.Serial), []byte(want.Owner)}
		for _, p := range private {
			if len(p) == 0 || !bytes.Contains(orig, p) {
				t.Fatalf("test premise: original should contain %q", p)
			}
		}
		d, err := s.MakeDerivative(ctx, obj, md)
		if err != nil {
			t.Fatalf("MakeDerivative: %v", err)
		}
		for _, key := range []string{d.Key, d.ThumbKey} {
			b := fetchPresigned(t, s, key)
			for _, p := range private {
				if bytes.Contains(b, p) {
					t.Errorf("%s contains %q", key, p)
				}
			}
			for _, marker := range [][]byte{[]byte("Exif\x00\x00"), []byte(want.Make), []byte("http://ns.adobe.com")} {
				if bytes.Contains(b, marker) {
					t.Errorf("%s contains metadata %q", key, marker)
				}
			}
			if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s does not decode: %v", key, err)
			}
		}
	})

	// orientation_N.jpg are drawn so that applying orientation N shows a
	// landscape picture with a red top edge and a green left edge.
	for o := 1; o <= 8; o++ {
		name := fmt.Sprintf("orientation_%d.jpg", o)
		t.Run(name+" upright", func(t *testing.T) {
			obj, md, _ := put(name)
			if md.Orientation != o {
				t.Fatalf("orientation %d, want %d", md.Orientation, o)
			}
			d, err := s.MakeDerivative(ctx, obj, md)
			if err != nil {
				t.Fatalf("MakeDerivative: %v", err)
			}
			img, err := jpeg.Decode(bytes.NewReader(fetchPresigned(t, s, d.Key)))
			if err != nil {
				t.Fatal(err)
			}
			checkUpright(t, img)
		})
	}

	t.Run("HEIC gets an upright team copy without metadata", func(t *testing.T) {
		obj, md, orig := put("gps.heic")
		if !bytes.Contains(orig, []byte("iPhone Test")) {
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
		if got := img.Bounds().Size(); got != image.Pt(320, 240) {
			t.Errorf("team copy %v, want 320×240", got)
		}
		checkUpright(t, img)
	})

	t.Run("damaged JPEG gets a team copy", func(t *testing.T) {
		obj, md, _ := put(damagedJPEG)
		d, err := s.MakeDerivative(ctx, obj, md)
		if err != nil {
			t.Fatalf("MakeDerivative(%s): %v", damagedJPEG, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(fetchPresigned(t, s, d.Key)))
		if err != nil {
			t.Fatal(err)
		}
		if got := img.Bounds().Size(); got != image.Pt(1024, 768) {
			t.Errorf("team copy %v, want 1024×768", got)
		}
	})
}

// checkUpright checks that img shows the test drawing of testdata/photos
// upright: landscape, red along the top edge, green along the left edge,
// neither along the bottom or right edge.
func checkUpright(t *testing.T, img image.Image) {
	t.Helper()
	b := img.Bounds()
	if b.Dx() <= b.Dy() {
		t.Fatalf("size %v, want landscape", b.Size())
	}
	mid := func(x0, y0, x1, y1 int) string { // dominant colour of a patch
		var r, g, bl, n int
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				r, g, bl, n = r+int(cr>>8), g+int(cg>>8), bl+int(cb>>8), n+1
			}
		}
		r, g, bl = r/n, g/n, bl/n
		switch {
		case r > 150 && g < 90 && bl < 90:
			return "red"
		case g > 120 && r < 90 && bl < 90:
			return "green"
		}
		return "grey"
	}
	w, h := b.Dx(), b.Dy()
	d := max(2, h/40) // patch half-size, well inside the 1/8 bands
	edges := []struct{ name, want, got string }{
		{"top", "red", mid(b.Min.X+w/2-d, b.Min.Y+1, b.Min.X+w/2+d, b.Min.Y+1+2*d)},
		{"left", "green", mid(b.Min.X+1, b.Min.Y+h/2-d, b.Min.X+1+2*d, b.Min.Y+h/2+d)},
		{"bottom", "grey", mid(b.Min.X+w/2-d, b.Max.Y-1-2*d, b.Min.X+w/2+d, b.Max.Y-1)},
		{"right", "grey", mid(b.Max.X-1-2*d, b.Min.Y+h/2-d, b.Max.X-1, b.Min.Y+h/2+d)},
	}
	for _, e := range edges {
		if e.got != e.want {
			t.Errorf("%s edge is %s, want %s: orientation not applied as the tag says", e.name, e.got, e.want)
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
	data, _ := os.ReadFile(testsvc.Photo(t, "gps_ne.jpg"))
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
