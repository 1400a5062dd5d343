package dispatch_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

// outageStore is the real MinIO store with an outage switch: while down,
// reading a photo fails as an unreachable store does (media.ErrUnavailable).
type outageStore struct {
	*media.Store
	down atomic.Bool
}

func (o *outageStore) ReadAndDerive(ctx context.Context, obj media.Object) media.Work {
	if o.down.Load() {
		err := fmt.Errorf("%w: injected outage", media.ErrUnavailable)
		return media.Work{MetadataErr: err, DerivativeErr: err}
	}
	return o.Store.ReadAndDerive(ctx, obj)
}

func outageService(t *testing.T) (*dispatch.Service, *outageStore, *pgxpool.Pool, media.Object) {
	t.Helper()
	env := testsvc.S3(t)
	pool := testsvc.Pool(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	store, err := media.New(context.Background(), media.Config{Endpoint: env.Endpoint, AccessKey: env.AccessKey, SecretKey: env.SecretKey,
		Bucket: "outage-" + hex.EncodeToString(rnd[:])}, discard())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(testsvc.Photo(t, "gps_ne.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	obj, err := store.Put(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	o := &outageStore{Store: store}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Media: o, Rules: demoRules(t), Messenger: &recorder{}, Logger: discard()},
		dispatch.Config{PollInterval: 50 * time.Millisecond, AssemblyWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	start(t, svc)
	return svc, o, pool, obj
}

// TestStorageOutageRetried: a report processed while the object store is
// down is not routed without its photo's position; it waits (the job
// retries with backoff) and gets the EXIF position and team copy once the
// store is back.
func TestStorageOutageRetried(t *testing.T) {
	svc, o, pool, obj := outageService(t)
	ctx := context.Background()
	o.down.Store(true)
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app", Text: "Schlagloch", Media: []media.Object{obj}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed processing attempt", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT coalesce(max(attempt), 0) FROM river_job WHERE kind = 'process_report' AND errors IS NOT NULL`).Scan(&n)
		return n >= 1
	})
	var processed bool
	var md *string
	if err := pool.QueryRow(ctx, `SELECT r.processed_at IS NOT NULL, m.metadata::text FROM reports r JOIN media_objects m ON m.report_id = r.id WHERE r.id = $1`,
		r.ReportID).Scan(&processed, &md); err != nil {
		t.Fatal(err)
	}
	if processed || md != nil {
		t.Fatalf("during the outage: processed %v, metadata %v; want neither (nothing baked in)", processed, md)
	}
	o.down.Store(false)
	waitFor(t, "processing after the outage", func() bool {
		v, err := svc.GetReport(ctx, r.ReportID)
		return err == nil && v.Report.ProcessedAt != nil
	})
	var lat float64
	var source string
	var derivative *string
	if err := pool.QueryRow(ctx, `SELECT r.lat, r.position_source, m.derivative_key FROM reports r JOIN media_objects m ON m.report_id = r.id WHERE r.id = $1`,
		r.ReportID).Scan(&lat, &source, &derivative); err != nil {
		t.Fatal(err)
	}
	if math.Abs(lat-48.137097222222) > 1e-6 || source != "exif" || derivative == nil {
		t.Fatalf("after the outage: lat %v source %q team copy %v; want the photo's EXIF position and a team copy", lat, source, derivative)
	}
}

// TestStorageOutageUrgentRoutesNow: an urgent report does not wait for the
// store; it is routed at once without the photo's position, and a late job
// reads the photo when the store is back and completes the position.
func TestStorageOutageUrgentRoutesNow(t *testing.T) {
	svc, o, pool, obj := outageService(t)
	ctx := context.Background()
	o.down.Store(true)
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app", Text: "Wasserrohrbruch",
		Urgent: true, Media: []media.Object{obj}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the urgent report routed", func() bool {
		v, err := svc.GetReport(ctx, r.ReportID)
		return err == nil && v.Report.ProcessedAt != nil
	})
	var md *string
	if err := pool.QueryRow(ctx, `SELECT metadata::text FROM media_objects WHERE report_id = $1`, r.ReportID).Scan(&md); err != nil || md != nil {
		t.Fatalf("metadata %v (%v) stored during the outage", md, err)
	}
	o.down.Store(false)
	// The late read is due 30 s later; bring it forward.
	if _, err := pool.Exec(ctx, `UPDATE river_job SET scheduled_at = now() WHERE kind = 'media_late'`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the late position", func() bool {
		var lat *float64
		_ = pool.QueryRow(ctx, `SELECT lat FROM reports WHERE id = $1 AND position_source = 'exif'`, r.ReportID).Scan(&lat)
		return lat != nil && math.Abs(*lat-48.137097222222) < 1e-6
	})
	_, evs := events(t, svc, r)
	if countEvents(evs, "location_received") != 1 {
		t.Fatalf("want one location_received event for the late EXIF position, got %v", evs)
	}
}
