package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// sofOffset is the offset of the first SOFn marker (FFC0..FFCF except
// DHT C4, JPG C8, DAC CC) of a JPEG, -1 if there is none.
func sofOffset(b []byte) int {
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return -1
		}
		m := b[i+1]
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
			return i
		}
		if m == 0xDA {
			return -1
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	return -1
}

// withSOF returns a copy of b with its frame header changed by edit (sof
// starts at the FF of the SOFn marker: marker, length, precision, height,
// width, components, then 3 bytes per component).
func withSOF(t *testing.T, b []byte, edit func(sof []byte)) []byte {
	t.Helper()
	out := bytes.Clone(b)
	i := sofOffset(out)
	if i < 0 {
		t.Fatal("no SOF marker in the test photo")
	}
	edit(out[i:])
	return out
}

// exifOrientation returns a JPEG of w×h pixels (grey or colour) with an
// EXIF APP1 segment that says orientation o.
func exifOrientation(t *testing.T, w, h, o int, grey bool) []byte {
	t.Helper()
	var img image.Image
	if grey {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = uint8(i * 7)
		}
		img = g
	} else {
		c := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				c.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x + y), 255})
			}
		}
		img = c
	}
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00")
	tiff[19] = byte(o)
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	seg := append([]byte{0xFF, 0xE1, byte((len(app1) + 2) >> 8), byte(len(app1) + 2)}, app1...)
	b := enc.Bytes()
	return append(append(bytes.Clone(b[:2]), seg...), b[2:]...)
}

// TestHostileJPEGsThroughTheAPI: crafted, truncated and huge-dimension
// JPEGs (the libjpeg/libyuv team-copy path and its libvips fallback) sent
// as reports over HTTP: each is accepted (202), stored, and processed to a
// clear outcome (routed, its photo's metadata saved, with or without a
// team copy); the process keeps serving, and a normal photo sent after
// them all still gets its team copy (no decode slot or budget leaked).
func TestHostileJPEGsThroughTheAPI(t *testing.T) {
	s := startStack(t, map[string]string{"FIELDGATE_HTTP_MAX_BODY_BYTES": "20000000"})
	small, err := os.ReadFile(testsvc.Photo(t, "messenger_450x600.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	be16 := func(b []byte, v int) { binary.BigEndian.PutUint16(b, uint16(v)) }
	inputs := map[string][]byte{
		"truncated at 30%":     small[:len(small)*3/10],
		"truncated after SOF":  small[:sofOffset(small)+19],
		"SOI EOI only":         {0xFF, 0xD8, 0xFF, 0xD9},
		"65535x65535":          withSOF(t, small, func(f []byte) { be16(f[5:], 65535); be16(f[7:], 65535) }),
		"1x65535":              withSOF(t, small, func(f []byte) { be16(f[5:], 65535); be16(f[7:], 1) }),
		"65535x1":              withSOF(t, small, func(f []byte) { be16(f[5:], 1); be16(f[7:], 65535) }),
		"height 0 (DNL)":       withSOF(t, small, func(f []byte) { be16(f[5:], 0) }),
		"width 0":              withSOF(t, small, func(f []byte) { be16(f[7:], 0) }),
		"9000x9000 declared":   withSOF(t, small, func(f []byte) { be16(f[5:], 9000); be16(f[7:], 9000) }),
		"12-bit precision":     withSOF(t, small, func(f []byte) { f[4] = 12 }),
		"lossless SOF3":        withSOF(t, small, func(f []byte) { f[1] = 0xC3 }),
		"arithmetic SOF9":      withSOF(t, small, func(f []byte) { f[1] = 0xC9 }),
		"progressive SOF2":     withSOF(t, small, func(f []byte) { f[1] = 0xC2 }),
		"sampling 4x4 luma":    withSOF(t, small, func(f []byte) { f[11] = 0x44 }),
		"sampling 0 luma":      withSOF(t, small, func(f []byte) { f[11] = 0x00 }),
		"sampling 3x1 chroma":  withSOF(t, small, func(f []byte) { f[14] = 0x31 }),
		"quant table 3 chroma": withSOF(t, small, func(f []byte) { f[15] = 3 }),
		"1x1 orientation 6":    exifOrientation(t, 1, 1, 6, false),
		"3x4001 orientation 5": exifOrientation(t, 3, 4001, 5, false),
		"4001x3 orientation 7": exifOrientation(t, 4001, 3, 7, true),
		"17x9 orientation 8":   exifOrientation(t, 17, 9, 8, false),
		"33x17 orientation 0":  exifOrientation(t, 33, 17, 0, false),
		"33x17 orientation 99": exifOrientation(t, 33, 17, 99, true),
	}
	// Real pixels beyond and just below the decode bound (48 MP): the
	// first is refused by its header, the second shrunk on load.
	inputs["12000x12000 grey (144 MP)"] = greyJPEG(t, 12000, 12000)
	inputs["7900x6000 grey (47 MP)"] = greyJPEG(t, 7900, 6000)
	rng := rand.New(rand.NewPCG(17, 17))
	start := sofOffset(small) + 20
	for i := range 12 {
		b := bytes.Clone(small)
		for range 1 + i*4 {
			b[start+rng.IntN(len(b)-start)] ^= byte(1 + rng.IntN(255))
		}
		inputs[fmt.Sprintf("scan bytes flipped #%d", i)] = b
	}

	type sent struct{ name, id, caseNo string }
	var mu sync.Mutex
	var all []sent
	var wg sync.WaitGroup
	names := make(chan string)
	for range 4 {
		wg.Go(func() {
			for name := range names {
				resp, rec := s.postBytes(name, inputs[name])
				if resp.StatusCode != http.StatusAccepted {
					t.Errorf("%s: status %d %v, want 202", name, resp.StatusCode, rec)
					continue
				}
				id, _ := rec["id"].(string)
				cn, _ := rec["case_number"].(string)
				mu.Lock()
				all = append(all, sent{name, id, cn})
				mu.Unlock()
			}
		})
	}
	for name := range inputs {
		names <- name
	}
	close(names)
	wg.Wait()

	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	outcome := func(id string) (processed bool, metadata bool, teamCopy string) {
		var tc *string
		err := conn.QueryRow(context.Background(), `SELECT r.processed_at IS NOT NULL, m.metadata IS NOT NULL, m.derivative_key
			FROM reports r JOIN media_objects m ON m.report_id = r.id WHERE r.id = $1`, id).Scan(&processed, &metadata, &tc)
		if err != nil {
			t.Fatalf("report %s: %v", id, err)
		}
		if tc != nil {
			teamCopy = *tc
		}
		return
	}
	deadline := time.Now().Add(90 * time.Second)
	for _, r := range all {
		for {
			processed, md, tc := outcome(r.id)
			if processed && md {
				t.Logf("%-24s %s routed, team copy %q", r.name, r.caseNo, tc)
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s (%s): not processed within 90s (processed %v, metadata %v)", r.name, r.caseNo, processed, md)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// The process still serves, and still makes team copies.
	resp, rec := s.postBytes("normal photo", small)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("normal photo after the attack: %d %v", resp.StatusCode, rec)
	}
	id := rec["id"].(string)
	for end := time.Now().Add(60 * time.Second); ; {
		processed, _, tc := outcome(id)
		if processed {
			if !strings.HasPrefix(tc, "team/") {
				t.Errorf("normal photo after the attack: team copy %q", tc)
			}
			break
		}
		if time.Now().After(end) {
			t.Fatal("normal photo after the attack: not processed within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r, err := http.Get(s.base + "/readyz"); err != nil || r.StatusCode != http.StatusOK {
		t.Errorf("readyz after the attack: %v %v", r, err)
	}
}

// greyJPEG encodes a uniform grey JPEG of w×h pixels (small: every block
// is the same).
func greyJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = 128
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, g, &jpeg.Options{Quality: 50}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// postBytes files a report to tiefbau with photo as its one attachment.
func (s *stack) postBytes(text string, photo []byte) (*http.Response, map[string]any) {
	s.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("to", "tiefbau")
	_ = w.WriteField("text", text)
	_ = w.WriteField("lat", "51.0251")
	_ = w.WriteField("lon", "7.5919")
	fw, _ := w.CreateFormFile("photo", "photo.jpg")
	_, _ = fw.Write(photo)
	w.Close()
	return s.post(s.token, &b, w.FormDataContentType())
}

// TestIdempotentRetriesWithPhotos: concurrent retries of one report (same
// Idempotency-Key) with a photo race past the API's early replay lookup
// (Intake no longer looks again); one is filed, the others answer with its
// receipt, and their originals and prepared team copies are all deleted:
// the bucket holds the one report's original, team copy and thumbnail.
func TestIdempotentRetriesWithPhotos(t *testing.T) {
	s := startStack(t, nil)
	photo, err := os.ReadFile(testsvc.Photo(t, "messenger_450x600.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	codes := make([]int, n)
	cases := make([]string, n)
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var b bytes.Buffer
			w := multipart.NewWriter(&b)
			_ = w.WriteField("to", "tiefbau")
			_ = w.WriteField("text", "Ampel defekt")
			fw, _ := w.CreateFormFile("photo", "photo.jpg")
			_, _ = fw.Write(photo)
			w.Close()
			req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/reports", &b)
			req.Header.Set("Content-Type", w.FormDataContentType())
			req.Header.Set("Authorization", "Bearer "+s.token)
			req.Header.Set("Idempotency-Key", "retry-photo-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			codes[i] = resp.StatusCode
			cases[i], _ = out["case_number"].(string)
			ids[i], _ = out["id"].(string)
		})
	}
	wg.Wait()
	accepted := 0
	for i := range n {
		if codes[i] == http.StatusAccepted {
			accepted++
		} else if codes[i] != http.StatusOK {
			t.Errorf("retry %d: status %d", i, codes[i])
		}
		if cases[i] == "" || cases[i] != cases[0] || ids[i] != ids[0] {
			t.Fatalf("receipts differ across retries: %v %v", cases, ids)
		}
	}
	if accepted != 1 {
		t.Errorf("%d retries answered 202, want 1 (the others 200)", accepted)
	}
	if c := s.count("reports"); c != 1 {
		t.Fatalf("%d reports for one idempotency key", c)
	}
	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var keys []string
	for end := time.Now().Add(30 * time.Second); ; {
		var orig string
		var tc, thumb *string
		if err := conn.QueryRow(context.Background(), `SELECT object_key, derivative_key, thumb_key FROM media_objects WHERE report_id = $1`,
			ids[0]).Scan(&orig, &tc, &thumb); err != nil {
			t.Fatal(err)
		}
		if tc != nil && thumb != nil {
			keys = []string{orig, *tc, *thumb}
			break
		}
		if time.Now().After(end) {
			t.Fatal("the report's team copy was not made within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := s.objects()
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("bucket holds %v, want only the filed report's %v", got, keys)
	}
}
