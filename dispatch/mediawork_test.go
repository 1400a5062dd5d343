package dispatch_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

// slowMedia is a Media whose team copies take a while, later photos less
// time than earlier ones, and which records how many run at once.
type slowMedia struct {
	delay     func(key string) time.Duration
	positions map[string]*media.Position

	mu             sync.Mutex
	inFlight, peak int
	calls          map[string]int
}

func (m *slowMedia) ReadMetadata(_ context.Context, obj media.Object) (media.Metadata, error) {
	md := media.Metadata{Orientation: 1}
	if p := m.positions[obj.Key]; p != nil {
		md.Position = p
	} else {
		md.NoPositionReason = "no GPS data in EXIF"
	}
	return md, nil
}

func (m *slowMedia) MakeDerivative(ctx context.Context, obj media.Object, _ media.Metadata) (media.Derivative, error) {
	m.mu.Lock()
	m.inFlight++
	m.peak = max(m.peak, m.inFlight)
	m.calls[obj.Key]++
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.inFlight--
		m.mu.Unlock()
	}()
	select {
	case <-time.After(m.delay(obj.Key)):
	case <-ctx.Done():
		return media.Derivative{}, ctx.Err()
	}
	base := "team/" + strings.TrimPrefix(obj.Key, "orig/")
	return media.Derivative{Key: base + ".jpg", ThumbKey: base + "-thumb.jpg", ContentType: media.TypeJPEG}, nil
}

func (m *slowMedia) ReadAndDerive(ctx context.Context, obj media.Object) media.Work {
	return m.work(ctx, obj, m.MakeDerivative)
}

// work is ReadAndDerive with derive for the team copy: the fakes that
// embed slowMedia pass their own.
func (m *slowMedia) work(ctx context.Context, obj media.Object, derive func(context.Context, media.Object, media.Metadata) (media.Derivative, error)) media.Work {
	var w media.Work
	w.Metadata, w.MetadataErr = m.ReadMetadata(ctx, obj)
	w.Derivative, w.DerivativeErr = derive(ctx, obj, w.Metadata)
	return w
}

func (m *slowMedia) ReadMetadataFrom(ctx context.Context, obj media.Object, _ []byte) (media.Metadata, error) {
	return m.ReadMetadata(ctx, obj)
}

func (m *slowMedia) MakeDerivativeFrom(ctx context.Context, obj media.Object, md media.Metadata, _ []byte) (media.Derivative, error) {
	return m.MakeDerivative(ctx, obj, md)
}

func (m *slowMedia) PresignGet(_ context.Context, key string) (string, error) {
	return "https://s3.invalid/" + key, nil
}

func (m *slowMedia) Delete(context.Context, ...string) error { return nil }

func (m *slowMedia) ListOlder(context.Context, string, time.Time, int, func([]string) error) error {
	return nil
}

// TestMediaWorkParallel: the attachments of one report are worked on at
// the same time (at most one per CPU), each once, and the position still
// comes from the first photo that has one, even when a later photo
// finishes first.
func TestMediaWorkParallel(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	const n = 6
	objs := make([]media.Object, n)
	sm := &slowMedia{positions: map[string]*media.Position{}, calls: map[string]int{}}
	order := map[string]int{}
	for i := range objs {
		objs[i] = media.Object{Key: "orig/2026/11/" + uuid.Must(uuid.NewV7()).String(), ContentType: media.TypeJPEG, Size: 1000}
		order[objs[i].Key] = i
	}
	// Photo 0 has no position; photos 2 and 4 have one. Photo 4 finishes
	// long before photo 2.
	sm.positions[objs[2].Key] = &media.Position{Lat: 51.0251, Lon: 7.5919}
	sm.positions[objs[4].Key] = &media.Position{Lat: 43.3, Lon: 11.5}
	sm.delay = func(key string) time.Duration { return time.Duration(n-order[key]) * 60 * time.Millisecond }

	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Media: sm, Config: dispatch.Config{AssemblyWindow: -1}})
	start(t, svc)
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{
		Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:test", Text: "Sechs Fotos", Media: objs,
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the room post", func() bool { p, _ := rec.snapshot(); return len(p) == 1 })

	v, err := svc.GetReport(ctx, r.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range v.Report.Media {
		if m.Metadata == nil || m.DerivativeKey == "" || m.ThumbKey == "" {
			t.Errorf("attachment %d: metadata %v, team copy %q, thumbnail %q", i, m.Metadata, m.DerivativeKey, m.ThumbKey)
		}
	}
	if p := v.Report.Position; p == nil || v.Report.PositionSource != dispatch.SourceEXIF || p.Lat != 51.0251 {
		t.Errorf("position %+v from %q, want photo 2's (51.0251) from exif", p, v.Report.PositionSource)
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	for key, c := range sm.calls {
		if c != 1 {
			t.Errorf("%s: %d team copies, want 1", key, c)
		}
	}
	if want := min(n, runtime.NumCPU()); sm.peak != want {
		t.Errorf("%d team copies at once, want %d (attachments %d, CPUs %d)", sm.peak, want, n, runtime.NumCPU())
	}
	if len(sm.calls) != n {
		t.Errorf("%d attachments worked on, want %d", len(sm.calls), n)
	}
}
