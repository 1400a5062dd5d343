package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/routing"
)

// pausedStore is the real media store whose PutHold calls beforePut after
// the attachment was given to the gateway's hold and before its original
// is PUT; beforePut may cancel that PUT (cancelPut).
type pausedStore struct {
	*media.Store
	beforePut func(obj media.Object, cancelPut context.CancelFunc)
}

func (p *pausedStore) PutHold(ctx context.Context, r io.Reader, keep int64, hold func(media.Object, []byte)) (media.Object, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return p.Store.PutHold(ctx, r, keep, func(obj media.Object, body []byte) {
		hold(obj, body)
		p.beforePut(obj, cancel)
	})
}

// msgphotoSetup is a gateway on a real dispatch service (PostgreSQL) and
// media store (MinIO, a bucket of its own), fetching attachments from a
// loopback server that serves the 135 KB messenger photo at any path.
type msgphotoSetup struct {
	g     *Gateway
	svc   *dispatch.Service
	store *pausedStore
	base  string // the file server's URL
	photo []byte
}

func newMsgphotoSetup(t *testing.T) *msgphotoSetup {
	t.Helper()
	ctx := context.Background()
	pool := testsvc.Pool(t)
	env := testsvc.S3(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ms, err := media.New(ctx, media.Config{Endpoint: env.Endpoint, AccessKey: env.AccessKey, SecretKey: env.SecretKey,
		Bucket: "msgphoto-" + hex.EncodeToString(rnd[:])}, log)
	if err != nil {
		t.Fatal(err)
	}
	photo, err := os.ReadFile(testsvc.Photo(t, "messenger_450x600.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	_, file, _, _ := runtime.Caller(0)
	rules, err := routing.NewEngine(filepath.Join(filepath.Dir(file), "..", "deploy", "demo", "rules.yaml"), log)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Rules: rules, Media: ms, Logger: log}, dispatch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, base := devServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(photo)
	})
	store := &pausedStore{Store: ms, beforePut: func(media.Object, context.CancelFunc) {}}
	g, err := New(Config{Addr: "127.0.0.1:1", Domain: "reports.stadt.localhost", Secret: "s", Fetch: FetchConfig{Hosts: []string{base}}},
		svc, rules, store, log)
	if err != nil {
		t.Fatal(err)
	}
	return &msgphotoSetup{g: g, svc: svc, store: store, base: base, photo: photo}
}

// keys lists the bucket's objects under prefix (media.PrefixOriginal or
// media.PrefixTeam).
func (s *msgphotoSetup) keys(t *testing.T, prefix string) []string {
	t.Helper()
	var all []string
	if err := s.store.ListOlder(context.Background(), prefix, time.Now().Add(time.Hour), 100, func(keys []string) error {
		all = append(all, keys...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return all
}

// waitTeamCopy waits up to 20 s until the bucket holds n team objects
// (each team copy is a copy and a thumbnail) and returns them.
func (s *msgphotoSetup) waitTeamCopy(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		keys := s.keys(t, media.PrefixTeam)
		if len(keys) >= n {
			return keys
		}
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for %d team objects, have %v", n, keys)
			return keys
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMessengerTeamCopyMadeWhileOriginalIsStored: an attachment fetched
// from a messenger's upload host is given to the report (HoldMedium)
// before its original is stored, so that its team copy is made while the
// original goes up: here the PUT waits until the team copy and its
// thumbnail are in the bucket, and the original is not. The report's
// processing then uses that team copy instead of making another.
func TestMessengerTeamCopyMadeWhileOriginalIsStored(t *testing.T) {
	s := newMsgphotoSetup(t)
	// beforePut runs on the test's goroutine (PutHold's caller's).
	var early []string // team objects stored before the original
	s.store.beforePut = func(obj media.Object, _ context.CancelFunc) {
		early = s.waitTeamCopy(t, 2)
		if slices.Contains(s.keys(t, media.PrefixOriginal), obj.Key) {
			t.Error("the original is stored before its PUT")
		}
	}
	ctx := context.Background()
	in := dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: "streife1@stadt.localhost",
		IdempotencyKey: "origin:team-early", Language: "de"}
	url := s.base + "/upload/abc/foto.jpg"
	var failed []error
	in.Media, in.Text, failed, _ = s.g.fetchAttachments(ctx, &in, in.Sender, "Schlagloch "+url, []string{url})
	if len(failed) > 0 || len(in.Media) != 1 {
		t.Fatalf("fetched %d attachments, failed %v; want 1, none", len(in.Media), failed)
	}
	if in.Text != "Schlagloch" {
		t.Errorf("text %q, want the URL taken out", in.Text)
	}
	if len(early) != 2 {
		t.Fatalf("team objects before the original's PUT: %v, want the team copy and its thumbnail", early)
	}
	if got := s.keys(t, media.PrefixOriginal); !slices.Equal(got, []string{in.Media[0].Key}) {
		t.Errorf("originals %v, want %s", got, in.Media[0].Key)
	}
	if want := dispatch.MaxHeldPerReport - int64(len(s.photo)); in.HeldRoom() != want {
		t.Errorf("HeldRoom %d after holding %d bytes, want %d", in.HeldRoom(), len(s.photo), want)
	}

	start := time.Now()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := s.svc.Start(rctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = s.svc.Stop(sctx)
	})
	rec, err := s.svc.Intake(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var v dispatch.ReportView
	for v.Report.ProcessedAt == nil {
		if time.Since(start) > 20*time.Second {
			t.Fatal("the report was not processed within 20 s")
		}
		time.Sleep(20 * time.Millisecond)
		if v, err = s.svc.GetReport(ctx, rec.ReportID); err != nil {
			t.Fatal(err)
		}
	}
	if len(v.Report.Media) != 1 || !slices.Contains(early, v.Report.Media[0].DerivativeKey) {
		t.Errorf("processed report's media %+v, want the team copy made before the original was stored (%v)", v.Report.Media, early)
	}
	if team := s.keys(t, media.PrefixTeam); !slices.Equal(team, early) {
		t.Errorf("team objects after processing %v, want only %v (no second team copy)", team, early)
	}
}

// TestMessengerAttachmentNotStoredDropsItsTeamCopy: a message with two
// attachments whose first original's PUT fails after its team copy was
// made from the held bytes. The report goes on with the second alone: the
// first's team copy and thumbnail are deleted before fetchAttachments
// returns, its original was never stored, its URL stays in the text, and
// its bytes no longer count against the report's HeldRoom.
func TestMessengerAttachmentNotStoredDropsItsTeamCopy(t *testing.T) {
	s := newMsgphotoSetup(t)
	var dropped []string // the failed attachment's original and team objects
	calls := 0
	s.store.beforePut = func(obj media.Object, cancelPut context.CancelFunc) {
		calls++
		if calls == 1 {
			dropped = append(s.waitTeamCopy(t, 2), obj.Key)
			cancelPut()
		}
	}
	ctx := context.Background()
	in := dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: "streife1@stadt.localhost",
		IdempotencyKey: "origin:put-fails", Language: "de"}
	first, second := s.base+"/upload/a/eins.jpg", s.base+"/upload/b/zwei.jpg"
	var failed []error
	in.Media, in.Text, failed, _ = s.g.fetchAttachments(ctx, &in, in.Sender, first+" "+second, []string{first, second})
	if len(failed) != 1 || !errors.Is(failed[0], context.Canceled) {
		t.Errorf("failed %v, want the first attachment's canceled PUT", failed)
	}
	if len(in.Media) != 1 {
		t.Fatalf("%d attachments taken, want the second", len(in.Media))
	}
	if in.Text != first {
		t.Errorf("text %q, want the failed attachment's URL left in it", in.Text)
	}
	if len(dropped) != 3 {
		t.Fatalf("the failed attachment's objects: %v, want its original, team copy and thumbnail", dropped)
	}
	for _, prefix := range []string{media.PrefixOriginal, media.PrefixTeam} {
		for _, k := range s.keys(t, prefix) {
			if slices.Contains(dropped, k) {
				t.Errorf("object %s of the attachment that was not stored is left in the bucket", k)
			}
		}
	}
	if got := s.keys(t, media.PrefixOriginal); !slices.Equal(got, []string{in.Media[0].Key}) {
		t.Errorf("originals %v, want only the second attachment's %s", got, in.Media[0].Key)
	}
	if want := dispatch.MaxHeldPerReport - int64(len(s.photo)); in.HeldRoom() != want {
		t.Errorf("HeldRoom %d, want %d (the second attachment's bytes only)", in.HeldRoom(), want)
	}
	if len(in.Prepared) != 1 || in.Prepared[in.Media[0].Key] == nil {
		t.Errorf("prepared work for %d attachments, want the second's only", len(in.Prepared))
	}
}
