package routing

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

const engineRulesV1 = `
teams: {a: {room: a@c.example}, b: {room: b@c.example}}
areas: {file: districts.geojson}
rules:
  - {name: one, match: {keywords: [eins]}, team: a}
default: {team: a}
`

const engineRulesV2 = `
teams: {a: {room: a@c.example}, b: {room: b@c.example}}
areas: {file: districts.geojson}
rules:
  - {name: one, match: {keywords: [eins]}, team: b}
default: {team: b}
`

// syncBuffer collects log output written from other goroutines.
type syncBuffer = testsvc.LogBuffer

func newTestEngine(t *testing.T, opts ...EngineOption) (*Engine, string, *syncBuffer) {
	t.Helper()
	path := writeRules(t, engineRulesV1, unitGeo)
	logs := &syncBuffer{}
	e, err := NewEngine(path, slog.New(slog.NewTextHandler(logs, nil)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e, path, logs
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEngineReloadRejectsInvalid(t *testing.T) {
	e, path, logs := newTestEngine(t)
	v1 := e.Current().Version()
	in := &Input{Text: "eins"}
	if d := e.Current().Decide(in); d.Team != "a" {
		t.Fatalf("v1 team %q", d.Team)
	}
	write(t, path, strings.Replace(engineRulesV2, "team: b}\ndefault", "team: nobody}\ndefault", 1))
	err := e.Reload()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Reload of an invalid file = %v, want ErrInvalid", err)
	}
	if e.Current().Version() != v1 {
		t.Errorf("version changed to %s after a rejected reload", e.Current().Version())
	}
	if d := e.Current().Decide(in); d.Team != "a" {
		t.Errorf("after rejection team %q, want the old rules' a", d.Team)
	}
	if _, le := e.LastError(); le == nil {
		t.Error("LastError is nil after a rejected reload")
	}
	if !strings.Contains(logs.String(), "rules reload rejected") || !strings.Contains(logs.String(), `unknown team \"nobody\"`) {
		t.Errorf("log lacks the rejection: %s", logs.String())
	}
	write(t, path, engineRulesV2)
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if e.Current().Version() == v1 {
		t.Error("version unchanged after a valid reload")
	}
	if d := e.Current().Decide(in); d.Team != "b" {
		t.Errorf("after reload team %q, want b", d.Team)
	}
	if _, le := e.LastError(); le != nil {
		t.Errorf("LastError = %v after a good reload", le)
	}
}

func TestEngineRejectsBrokenGeoJSON(t *testing.T) {
	e, path, _ := newTestEngine(t)
	v1 := e.Current().Version()
	write(t, filepath.Join(filepath.Dir(path), "districts.geojson"), `{"type": "FeatureCollection", "features": [`)
	if err := e.Reload(); err == nil {
		t.Fatal("reload with truncated GeoJSON succeeded")
	}
	if e.Current().Version() != v1 || len(e.Current().Areas()) != 4 {
		t.Error("the previous areas are not active any more")
	}
}

func TestNewEngineFailsOnInvalid(t *testing.T) {
	path := writeRules(t, "teams: {}\n", "")
	if _, err := NewEngine(path, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NewEngine = %v, want ErrInvalid", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEngineWatchFileChange(t *testing.T) {
	e, path, _ := newTestEngine(t, WithPollInterval(10*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Watch(ctx) }()
	v1 := e.Current().Version()

	// an invalid edit is rejected and the old set stays
	write(t, path, "rules: [")
	waitFor(t, "the rejection", func() bool { _, err := e.LastError(); return err != nil })
	if e.Current().Version() != v1 {
		t.Fatal("invalid file replaced the rules")
	}
	// a valid edit is picked up
	write(t, path, engineRulesV2)
	waitFor(t, "the reload", func() bool { return e.Current().Version() != v1 })
	// an edit of the GeoJSON file alone is picked up too
	v2 := e.Current().Version()
	geo := strings.Replace(unitGeo, `"Doppel"`, `"Doppelt"`, 1)
	write(t, filepath.Join(filepath.Dir(path), "districts.geojson"), geo)
	waitFor(t, "the GeoJSON reload", func() bool { return e.Current().Version() != v2 })
	if got := e.Current().Areas()[3]; got != "Doppelt" {
		t.Errorf("area 3 = %q after reload", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch returned %v", err)
	}
}

func TestEngineWatchSIGHUP(t *testing.T) {
	// keep SIGHUP from ending the test binary before Watch subscribes
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	e, path, _ := newTestEngine(t, WithPollInterval(time.Hour)) // only the signal can trigger
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Watch(ctx)
	v1 := e.Current().Version()
	write(t, path, engineRulesV2)
	waitFor(t, "the SIGHUP reload", func() bool {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		return e.Current().Version() != v1
	})
	if d := e.Current().Decide(&Input{Text: "eins"}); d.Team != "b" {
		t.Errorf("team %q after SIGHUP reload", d.Team)
	}
}

// Readers never see a half-built rule set: every decision is made by
// either the old or the new set, consistently.
func TestEngineAtomicSwapUnderLoad(t *testing.T) {
	e, path, _ := newTestEngine(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan string, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				rs := e.Current()
				d1 := rs.Decide(&Input{Text: "eins"})
				d2 := rs.Decide(&Input{Text: "zwei"})
				if d1.Team != d2.Team { // v1: a/a, v2: b/b
					errs <- d1.Team + "/" + d2.Team
					return
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		content := engineRulesV1
		if i%2 == 0 {
			content = engineRulesV2
		}
		write(t, path, content)
		if err := e.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Errorf("mixed decision %s", s)
	}
}

func TestConcurrentDecide(t *testing.T) {
	rs := mustLoad(t, condRules, unitGeo)
	in := []Input{
		{Address: "kw", Text: "Schlagloch", Position: pos(51.05, 7.55), At: local("2026-11-23T10:00")},
		{Address: "area", Position: pos(51.02, 7.52), At: local("2026-11-23T10:00")},
		{Address: "sender", Sender: "streife1@stadt.localhost", At: local("2026-11-23T10:00")},
		{Address: "time", At: local("2026-11-28T11:00")},
	}
	want := make([]Decision, len(in))
	for i := range in {
		want[i] = rs.Explain(&in[i])
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 500; k++ {
				i := (g + k) % len(in)
				if d := rs.Decide(&in[i]); !sameDecision(d, want[i]) {
					t.Errorf("goroutine %d: %+v, want %+v", g, d, want[i])
					return
				}
			}
		}(g)
	}
	wg.Wait()
}
