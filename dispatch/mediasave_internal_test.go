package dispatch

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/routing"
)

// TestSaveMediaMetadataFirstRunWins: when a direct run and its
// handed-over job both make a team copy, the keys saved first stay (the
// first post links that copy); the later run is told the saved keys.
func TestSaveMediaMetadataFirstRunWins(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	rulesPath := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(`
version: 1
timezone: Europe/Berlin
teams:
  bau:
    name: Bau
    room: bau@conference.stadt.localhost
addresses:
  bau:
    allow: [public]
    default_team: bau
default:
  team: bau
`), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, err := routing.NewEngine(rulesPath, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Deps{Pool: pool, Rules: rules, Messenger: nopMessenger{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.Intake(ctx, NewReport{Channel: ChannelAPI, Address: "bau", Sender: "token:app", Text: "Foto",
		Media: []media.Object{{Key: "orig/2026/11/test", ContentType: "image/jpeg", Size: 3, SHA256: "00"}}})
	if err != nil {
		t.Fatal(err)
	}
	var m MediaObject
	if err := pool.QueryRow(ctx, `SELECT id FROM media_objects WHERE report_id = $1`, r.ReportID).Scan(&m.ID); err != nil {
		t.Fatal(err)
	}
	first := m
	first.DerivativeKey, first.ThumbKey = "team/first.jpg", "team/first-thumb.jpg"
	if err := svc.saveMediaMetadata(ctx, &first); err != nil {
		t.Fatal(err)
	}
	later := m
	later.DerivativeKey, later.ThumbKey = "team/later.jpg", "team/later-thumb.jpg"
	if err := svc.saveMediaMetadata(ctx, &later); err != nil {
		t.Fatal(err)
	}
	if later.DerivativeKey != "team/first.jpg" || later.ThumbKey != "team/first-thumb.jpg" {
		t.Errorf("the later run was told %q %q, want the first run's keys", later.DerivativeKey, later.ThumbKey)
	}
	var d, th string
	if err := pool.QueryRow(ctx, `SELECT derivative_key, thumb_key FROM media_objects WHERE id = $1`, m.ID).Scan(&d, &th); err != nil {
		t.Fatal(err)
	}
	if d != "team/first.jpg" || th != "team/first-thumb.jpg" {
		t.Errorf("stored %q %q, want the first run's keys", d, th)
	}
}
