package media

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// countingTransport counts the GET requests for each object key, and
// fails the GETs of the whole object (no Range header) of the key
// failWhole as a network error would.
type countingTransport struct {
	base      http.RoundTripper
	mu        sync.Mutex
	gets      map[string]int
	failWhole string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet {
		c.mu.Lock()
		key := ""
		for _, prefix := range []string{"/" + PrefixOriginal, "/" + PrefixTeam} {
			if i := strings.Index(r.URL.Path, prefix); i >= 0 {
				key = r.URL.Path[i+1:]
				c.gets[key]++
			}
		}
		fail := key != "" && key == c.failWhole && r.Header.Get("Range") == ""
		c.mu.Unlock()
		if fail {
			return nil, errors.New("injected: connection reset")
		}
	}
	return c.base.RoundTrip(r)
}

func (c *countingTransport) setFailWhole(key string) {
	c.mu.Lock()
	c.failWhole = key
	c.mu.Unlock()
}

func (c *countingTransport) take(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.gets[key]
	delete(c.gets, key)
	return n
}

// putPhoto stores the test photo name (a file of the shared photos, or a
// path with a slash) and returns its object and bytes.
func putPhoto(t *testing.T, s *Store, name string) (Object, []byte) {
	t.Helper()
	path := name
	if !strings.Contains(name, "/") {
		path = testsvc.Photo(t, name)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Put(context.Background(), bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	return obj, src
}

// TestReadAndDeriveReadsOnce: for a stored photo the caller no longer
// holds, ReadAndDerive gives the metadata and team copy that ReadMetadata
// and MakeDerivative give, with one GET of the original instead of the
// ranged GETs for the metadata plus the whole object again. An object of
// unknown size, or one that gets no team copy, still gets its metadata
// from ranged reads.
func TestReadAndDeriveReadsOnce(t *testing.T) {
	ct := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone(), gets: map[string]int{}}
	s := newTestStore(t, func(c *Config) { c.Transport = ct; c.MaxDerivatives = 1 })
	ctx := context.Background()
	for _, name := range []string{"orientation_6.jpg", "gps_ne.jpg", "gps.heic", "serial_owner.jpg", damagedJPEG, "phone_12mp.jpg"} {
		t.Run(name, func(t *testing.T) {
			obj, _ := putPhoto(t, s, name)
			ct.take(obj.Key)

			wantMD, err := s.ReadMetadata(ctx, obj)
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.MakeDerivative(ctx, obj, wantMD)
			if err != nil {
				t.Fatal(err)
			}
			wantCopy, wantThumb := fetchPresigned(t, s, want.Key), fetchPresigned(t, s, want.ThumbKey)
			twoCalls := ct.take(obj.Key)
			if twoCalls < 2 {
				t.Fatalf("test premise: ReadMetadata and MakeDerivative read the original %d times, want at least 2", twoCalls)
			}

			w := s.ReadAndDerive(ctx, obj)
			if w.MetadataErr != nil || w.DerivativeErr != nil {
				t.Fatalf("ReadAndDerive: metadata %v, team copy %v", w.MetadataErr, w.DerivativeErr)
			}
			if n := ct.take(obj.Key); n != 1 {
				t.Errorf("ReadAndDerive read the original %d times, want once (the two calls: %d)", n, twoCalls)
			}
			if !reflect.DeepEqual(w.Metadata, wantMD) {
				t.Errorf("metadata %+v\nwant %+v", w.Metadata, wantMD)
			}
			if w.Derivative != want {
				t.Errorf("team copy %+v, want %+v", w.Derivative, want)
			}
			if !bytes.Equal(fetchPresigned(t, s, w.Derivative.Key), wantCopy) || !bytes.Equal(fetchPresigned(t, s, w.Derivative.ThumbKey), wantThumb) {
				t.Error("team copy or thumbnail differs from MakeDerivative's")
			}

			// Size unknown: ranged reads for the metadata, then the whole.
			unsized := obj
			unsized.Size = 0
			w = s.ReadAndDerive(ctx, unsized)
			if w.MetadataErr != nil || !reflect.DeepEqual(w.Metadata, wantMD) {
				t.Errorf("size unknown: metadata %+v, %v; want %+v", w.Metadata, w.MetadataErr, wantMD)
			}
			if w.DerivativeErr != nil || w.Derivative != want {
				t.Errorf("size unknown: team copy %+v, %v; want %+v", w.Derivative, w.DerivativeErr, want)
			}
			ct.take(obj.Key)
		})
	}

	t.Run("no team copy: metadata only, never the whole object", func(t *testing.T) {
		obj, _ := putPhoto(t, s, "gps_ne.jpg")
		other := obj
		other.ContentType = TypePDF // a type without a team copy
		ct.take(obj.Key)
		if _, err := s.ReadMetadata(ctx, other); err != nil {
			t.Fatal(err)
		}
		ranged := ct.take(obj.Key)
		w := s.ReadAndDerive(ctx, other)
		if w.MetadataErr != nil || !errors.Is(w.DerivativeErr, ErrNoDerivative) {
			t.Errorf("errors: metadata %v, team copy %v; want none and ErrNoDerivative", w.MetadataErr, w.DerivativeErr)
		}
		if n := ct.take(obj.Key); n != ranged {
			t.Errorf("%d GETs, want the metadata's %d ranged reads", n, ranged)
		}
	})

	t.Run("the whole read fails: its error, the metadata from ranged reads", func(t *testing.T) {
		obj, _ := putPhoto(t, s, "gps_ne.jpg")
		wantMD, err := s.ReadMetadata(ctx, obj)
		if err != nil || wantMD.Position == nil {
			t.Fatalf("test premise: metadata %+v, %v; want a position", wantMD, err)
		}
		ct.setFailWhole(obj.Key)
		defer ct.setFailWhole("")
		w := s.ReadAndDerive(ctx, obj)
		if w.DerivativeErr == nil || !errors.Is(w.DerivativeErr, ErrUnavailable) {
			t.Errorf("team copy error %v, want ErrUnavailable", w.DerivativeErr)
		}
		if w.MetadataErr != nil || !reflect.DeepEqual(w.Metadata, wantMD) {
			t.Errorf("metadata %+v, %v; want %+v (the position for a report that may not wait)", w.Metadata, w.MetadataErr, wantMD)
		}
		for _, k := range listKeys(t, s) {
			if strings.HasPrefix(k, PrefixTeam+strings.TrimPrefix(obj.Key, PrefixOriginal)) {
				t.Errorf("%s stored", k)
			}
		}
	})

	t.Run("a context that ended is the error of both", func(t *testing.T) {
		obj, _ := putPhoto(t, s, "orientation_6.jpg")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		w := s.ReadAndDerive(cctx, obj)
		if !errors.Is(w.MetadataErr, context.Canceled) || !errors.Is(w.DerivativeErr, context.Canceled) {
			t.Errorf("errors: metadata %v, team copy %v; want context.Canceled for both", w.MetadataErr, w.DerivativeErr)
		}
	})

	t.Run("a missing original is an error of both, nothing stored", func(t *testing.T) {
		obj := Object{Key: PrefixOriginal + "2026/12/does-not-exist", ContentType: TypeJPEG, Size: 1000}
		w := s.ReadAndDerive(ctx, obj)
		if w.MetadataErr == nil || w.DerivativeErr == nil {
			t.Fatalf("errors: metadata %v, team copy %v; want both", w.MetadataErr, w.DerivativeErr)
		}
		for _, k := range listKeys(t, s) {
			if strings.Contains(k, "does-not-exist") {
				t.Errorf("%s stored", k)
			}
		}
	})

	// Every path gave its decode slot back (there is one): another photo
	// gets its team copy at once.
	obj, _ := putPhoto(t, s, "orientation_1.jpg")
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if w := s.ReadAndDerive(sctx, obj); w.MetadataErr != nil || w.DerivativeErr != nil {
		t.Errorf("after the failures: metadata %v, team copy %v (a decode slot not given back?)", w.MetadataErr, w.DerivativeErr)
	}
}
