package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// consoleWeb is api/console/web, where the npm packages and the browser
// script live.
func consoleWeb(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "api", "console", "web")
}

// browserTools finds node, chromium-headless-shell and playwright-core;
// missing ones fail the test under CI=true (make test installs them).
func browserTools(t *testing.T) (node, chromium, web string) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: not in -short")
	}
	web = consoleWeb(t)
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node")
	}
	chromium = os.Getenv("FIELDGATE_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium-headless-shell"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, "chromium-headless-shell (apt-get install chromium-headless-shell)")
	}
	if _, err := os.Stat(filepath.Join(web, "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "playwright-core (make console)")
	}
	if _, err := os.Stat(filepath.Join(web, "static", "vendor", "leaflet.js")); err != nil {
		missing = append(missing, "vendored Leaflet (make console)")
	}
	if len(missing) > 0 {
		testsvc.Required(t, missing...)
	}
	return node, chromium, web
}

// browserScript runs the browser script web/test/NAME with node (env
// added to this process's environment), logs what it prints, and returns
// its steps: the JSON lines it prints, by their "step". onStep, if not
// nil, sees each step as it comes; a non-empty answer is written to the
// script's stdin as a line. The test fails if the script fails or ends
// without reaching every step in want.
func browserScript(t *testing.T, timeout time.Duration, node, web, name string, env []string, want []string, onStep func(name string, step map[string]any) (answer string)) map[string]map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(web, "test", name))
	cmd.Dir = web
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = testWriter{t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	steps := map[string]map[string]any{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		t.Log("browser:", line)
		var step map[string]any
		if json.Unmarshal([]byte(line), &step) != nil {
			continue
		}
		name, _ := step["step"].(string)
		if name == "" {
			continue
		}
		steps[name] = step
		if onStep != nil {
			if answer := onStep(name, step); answer != "" {
				_, _ = io.WriteString(stdin, answer+"\n")
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("browser script %s failed: %v (%v)", name, err, steps["fail"])
	}
	for _, w := range want {
		if steps[w] == nil {
			t.Fatalf("browser script %s never reached step %q", name, w)
		}
	}
	return steps
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestConsoleInBrowser drives the console in headless Chromium against the
// real fieldgate, PostgreSQL, MinIO and Prosody, with an in-process OIDC
// provider: sign-in, a report live on the map within 2 s, the incident
// view, a reassignment whose post appears in the new team's room, a
// photo's thumbnail in its list row (not fetched again by re-renders) and
// in the incident view, opening its team copy, a PDF without preview, a
// bulk resolve, the numbers page, and a team member's restricted view.
// FIELDGATE_SCREENSHOTS=DIR keeps the screenshots (docs/img is made so).
func TestConsoleInBrowser(t *testing.T) {
	node, chromium, web := browserTools(t)
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	// The first sign-in is a dispatcher, the second a Grünflächen member.
	idp.QueueUser(&mockoidc.MockUser{Subject: "dora", Email: "dora@stadt.localhost", PreferredUsername: "dora@stadt.localhost", Groups: []string{"leitstelle"}})
	idp.QueueUser(&mockoidc.MockUser{Subject: "gerd", Email: "gerd@stadt.localhost", PreferredUsername: "gerd@stadt.localhost", Groups: []string{"gruen"}})
	oc := idp.Config()

	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	cfgFile := filepath.Join(t.TempDir(), "fieldgate.yaml")
	if err := os.WriteFile(cfgFile, []byte(`console:
  oidc:
    groups:
      leitstelle: [dispatcher]
      gruen: ["team:gruenflaechen"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, map[string]string{
		"FIELDGATE_CONFIG":                     cfgFile,
		"FIELDGATE_HTTP_ADDR":                  "127.0.0.1:" + strconv.Itoa(port),
		"FIELDGATE_CONSOLE_PUBLIC_URL":         base,
		"FIELDGATE_CONSOLE_OIDC_ISSUER":        oc.Issuer,
		"FIELDGATE_CONSOLE_OIDC_CLIENT_ID":     oc.ClientID,
		"FIELDGATE_CONSOLE_OIDC_CLIENT_SECRET": oc.ClientSecret,
	})

	// Ben, a member of Grünflächen (the rooms are members-only), watches
	// its room for the reassigned post.
	watcher := testsvc.Login(t, testsvc.DemoUser("ben"))
	watcher.JoinRoom(testsvc.Room("gruenflaechen", s.suffix), "ben-"+s.suffix)

	shots := os.Getenv("FIELDGATE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if shots, err = filepath.Abs(shots); err != nil {
		t.Fatal(err)
	}
	steps := browserScript(t, 4*time.Minute, node, web, "console.mjs", []string{"FG_BASE=" + base, "FG_REPORTER_TOKEN=" + s.token, "FG_SHOTS=" + shots,
		"FG_CHROMIUM=" + chromium, "FG_ISSUER=" + oc.Issuer, "FG_PHOTO=" + testsvc.Photo(t, "messenger_450x600.jpg"),
		"FG_S3=http://" + s.env["FIELDGATE_S3_ENDPOINT"] + "/"},
		[]string{"signed-in", "live", "reassigned", "thumbs", "bulk-resolved", "bulk-merged", "numbers", "member", "done"}, nil)
	// The grid's thumbnail and the team copy the photo view opened, as
	// the browser decoded them (natural size): ≤ 320 px and 450×600.
	if th, _ := steps["thumbs"]["thumb"].([]any); len(th) != 2 || max(th[0].(float64), th[1].(float64)) > 320 || th[0].(float64) < 1 {
		t.Errorf("thumbnail in the incident view: %v px, want a longest edge of 1..320", th)
	}
	if row, _ := steps["thumbs"]["row"].([]any); len(row) != 2 || max(row[0].(float64), row[1].(float64)) > 320 || row[0].(float64) < 1 {
		t.Errorf("thumbnail in the list row: %v px, want a longest edge of 1..320", row)
	}
	if tc, _ := steps["thumbs"]["team_copy"].([]any); len(tc) != 2 || tc[0].(float64) != 450 || tc[1].(float64) != 600 {
		t.Errorf("team copy in the photo view: %v px, want 450×600", tc)
	}
	if ms, _ := steps["live"]["ms"].(float64); ms <= 0 || ms > 2000 {
		t.Errorf("new report on the map after %v ms, want ≤ 2000", ms)
	}
	reassigned, _ := steps["reassigned"]["case"].(string)
	watcher.WaitMessage(60*time.Second, "the reassigned post in Grünflächen's room", func(m testsvc.Message) bool {
		return m.Type == "groupchat" && strings.Contains(m.Body, reassigned)
	})
}
