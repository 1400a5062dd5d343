package dispatch_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

// TestOrphanSweep: objects no row references (an upload whose request
// never committed, and its team copy) are found by the sweep once older
// than the grace period, listed by a dry run and deleted by a real run;
// a report's original and team copy stay.
func TestOrphanSweep(t *testing.T) {
	svc, o, pool, kept := outageService(t) // the store works: nobody switches it off
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app", Text: "Laterne defekt", Media: []media.Object{kept}})
	if err != nil {
		t.Fatal(err)
	}
	var keptCopy string
	waitFor(t, "the team copy of the report's photo", func() bool {
		return pool.QueryRow(ctx, `SELECT derivative_key FROM media_objects WHERE report_id = $1 AND derivative_key IS NOT NULL`, r.ReportID).Scan(&keptCopy) == nil
	})
	photo, err := os.ReadFile(testsvc.Photo(t, "gps_nw.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := o.Put(ctx, bytes.NewReader(photo)) // its request "died" before intake
	if err != nil {
		t.Fatal(err)
	}
	d, err := o.Store.MakeDerivative(ctx, orphan, media.Metadata{Orientation: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{orphan.Key, d.Key, d.ThumbKey}
	slices.Sort(want)

	// Within the grace period nothing is judged.
	if res, err := svc.SweepOrphans(ctx, true); err != nil || res.Checked != 0 {
		t.Fatalf("fresh objects judged: %+v %v", res, err)
	}
	// Two hours later (the sweeping replica's clock), with the default 1h grace.
	later, err := dispatch.New(dispatch.Deps{Pool: pool, Media: o, Rules: demoRules(t), Logger: discard()},
		dispatch.Config{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	dry, err := later.SweepOrphans(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(dry.Examples)
	slices.Sort(got)
	if dry.Orphans != 3 || dry.Deleted != 0 || !slices.Equal(got, want) {
		t.Fatalf("dry run: %+v, want orphans %v", dry, want)
	}
	if _, err := o.ReadMetadata(ctx, orphan); err != nil {
		t.Fatalf("the dry run deleted the orphan: %v", err)
	}
	res, err := later.SweepOrphans(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 3 || res.Checked < 5 {
		t.Fatalf("sweep: %+v, want 3 deleted of at least 5 checked", res)
	}
	if _, err := o.ReadMetadata(ctx, orphan); err == nil {
		t.Fatal("the orphan is still there")
	}
	if _, err := o.ReadMetadata(ctx, kept); err != nil {
		t.Fatalf("the report's photo was deleted: %v", err)
	}
	if _, err := o.ReadMetadata(ctx, media.Object{Key: keptCopy}); err != nil {
		t.Fatalf("the report's team copy was deleted: %v", err)
	}
}
