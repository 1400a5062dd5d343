package main

import (
	"bufio"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	composetypes "github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/fieldgate/fieldgate/gateway"
)

// repoFile is a path from the repository root.
func repoFile(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

// composeFile is the part of the Compose specification (compose-spec.io)
// compose.yaml uses. Decoding with known fields only rejects a misspelt key.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       string            `yaml:"build"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test     []string `yaml:"test"`
		Interval string   `yaml:"interval"`
		Timeout  string   `yaml:"timeout"`
		Retries  int      `yaml:"retries"`
	} `yaml:"healthcheck"`
	Restart     string   `yaml:"restart"`
	ReadOnly    bool     `yaml:"read_only"`
	Tmpfs       []string `yaml:"tmpfs"`
	SecurityOpt []string `yaml:"security_opt"`
	CapDrop     []string `yaml:"cap_drop"`
}

// TestComposeFile checks compose.yaml where `docker compose config` cannot
// run (no Docker engine in CI): known keys only, the four services, images
// pinned, dependencies that exist and wait for health, mounted files that
// exist, ports on loopback only, and a fieldgate configuration that
// loadConfig accepts with exactly the variables fieldgate reads.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile(repoFile("compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&cf); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, want := range []string{"fieldgate", "postgres", "minio", "prosody"} {
		if _, ok := cf.Services[want]; !ok {
			t.Errorf("service %s missing", want)
		}
	}
	for name, s := range cf.Services {
		if s.Image == "" && s.Build == "" {
			t.Errorf("%s: neither image nor build", name)
		}
		if s.Build == "" && (strings.HasSuffix(s.Image, ":latest") || !strings.Contains(s.Image, ":")) {
			t.Errorf("%s: image %q is not pinned", name, s.Image)
		}
		for dep, d := range s.DependsOn {
			other, ok := cf.Services[dep]
			if !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
			}
			if d.Condition == "service_healthy" && other.Healthcheck == nil {
				t.Errorf("%s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(repoFile(src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			} else if _, ok := cf.Volumes[src]; !ok {
				t.Errorf("%s uses volume %s, not declared", name, src)
			}
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %s beyond loopback", name, p)
			}
		}
	}
	fg := cf.Services["fieldgate"]
	if fg.Build != "." || !fg.ReadOnly || !slices.Contains(fg.CapDrop, "ALL") {
		t.Errorf("fieldgate service: build %q, read_only %v, cap_drop %v", fg.Build, fg.ReadOnly, fg.CapDrop)
	}
	known := map[string]bool{}
	for _, k := range envKeys {
		known[k] = true
	}
	env := map[string]string{}
	for k, v := range fg.Environment {
		if !known[k] {
			t.Errorf("fieldgate service sets %s, which fieldgate does not read", k)
		}
		env[k] = v
	}
	// Inside the image the demo town is at /usr/share/fieldgate/demo
	// (Dockerfile); here it is deploy/demo.
	if rf, ok := strings.CutPrefix(env["FIELDGATE_RULES_FILE"], "/usr/share/fieldgate/demo/"); ok {
		env["FIELDGATE_RULES_FILE"] = repoFile("deploy", "demo", rf)
	} else {
		t.Errorf("rules file %q is not the image's demo town", env["FIELDGATE_RULES_FILE"])
	}
	if _, err := loadConfig("", func(k string) string { return env[k] }); err != nil {
		t.Errorf("fieldgate's configuration in compose.yaml: %v", err)
	}
	if env["FIELDGATE_XMPP_SECRET"] != cf.Services["prosody"].Environment["COMPONENT_SECRET"] {
		t.Error("fieldgate's component secret differs from Prosody's")
	}
}

// TestDockerfile checks the Dockerfile's shape: a Go build stage on the
// Go version go.mod names, a slim runtime stage with libvips' runtime
// library, the binary copied from the build stage, a non-root user.
func TestDockerfile(t *testing.T) {
	f, err := os.Open(repoFile("Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type stage struct {
		from  string
		lines []string
	}
	var stages []stage
	sc := bufio.NewScanner(f)
	var cont string
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cont += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		l, cont = cont+l, ""
		instr, rest, _ := strings.Cut(l, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			stages = append(stages, stage{from: rest})
		default:
			if len(stages) == 0 {
				t.Fatalf("instruction before FROM: %s", l)
			}
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, l)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}
	gomod, err := os.ReadFile(repoFile("go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("no go directive in go.mod")
	}
	if want := "golang:" + string(m[1]) + "-bookworm AS build"; stages[0].from != want {
		t.Errorf("build stage FROM %q, want %q (go.mod says go %s)", stages[0].from, want, m[1])
	}
	build := strings.Join(stages[0].lines, "\n")
	if !strings.Contains(build, "libvips-dev") || !strings.Contains(build, "CGO_ENABLED=1") {
		t.Error("build stage must build with cgo against libvips-dev (media/internal/vips)")
	}
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.from, "debian:bookworm-slim") {
		t.Errorf("runtime stage FROM %q", final.from)
	}
	body := strings.Join(final.lines, "\n")
	for _, want := range []string{"libvips42", "ca-certificates", "postgresql-client-15", "COPY --from=build /out/fieldgate /usr/local/bin/fieldgate"} {
		if !strings.Contains(body, want) {
			t.Errorf("runtime stage lacks %q", want)
		}
	}
	user := ""
	for _, l := range final.lines {
		if u, ok := strings.CutPrefix(l, "USER "); ok {
			user = u
		}
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("runtime stage runs as %q, want a non-root user", user)
	}
}

// TestComposeSpec loads compose.yaml with the Compose Specification's own
// loader (compose-go, which `docker compose config` uses): the schema, the
// references between services, volumes and files. No Docker engine runs
// in CI, so this is as far as compose is checked without one. It also
// checks the paths inside the compose network that fieldgate depends on:
// every host it is told to reach is a service of the file, the upload
// URL Prosody hands out there is one the fetcher accepts, and the domains
// match Prosody's configuration.
func TestComposeSpec(t *testing.T) {
	b, err := os.ReadFile(repoFile("compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(repoFile())
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(t.Context(), composetypes.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []composetypes.ConfigFile{{Filename: filepath.Join(root, "compose.yaml"), Content: b}},
		Environment: composetypes.Mapping{},
	})
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	if p.Name != "fieldgate" || len(p.Services) != 4 {
		t.Fatalf("project %q with %d services", p.Name, len(p.Services))
	}
	fg, err := p.GetService("fieldgate")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for k, v := range fg.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	if rf, ok := strings.CutPrefix(env["FIELDGATE_RULES_FILE"], "/usr/share/fieldgate/demo/"); ok {
		env["FIELDGATE_RULES_FILE"] = repoFile("deploy", "demo", rf)
	}
	cfg, err := loadConfig("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("fieldgate's configuration in compose.yaml: %v", err)
	}
	hostOf := func(what, hostport string) {
		t.Helper()
		host, _, err := net.SplitHostPort(hostport)
		if err != nil {
			t.Errorf("%s %q: %v", what, hostport, err)
			return
		}
		if _, err := p.GetService(host); err != nil {
			t.Errorf("%s %q: no compose service %s", what, hostport, host)
		}
	}
	hostOf("s3.endpoint", cfg.S3.Endpoint)
	hostOf("xmpp.addr", cfg.XMPP.Addr)
	if u, err := url.Parse(cfg.Database.URL); err != nil {
		t.Errorf("database.url: %v", err)
	} else {
		hostOf("database.url", u.Host)
	}

	// Prosody's upload service hands out http_external_url; the gateway
	// must be allowed to fetch it, over the compose network.
	lua, err := os.ReadFile(repoFile("deploy", "compose", "prosody.cfg.lua"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*http_external_url\s*=\s*"([^"]+)"`).FindSubmatch(lua)
	if m == nil {
		t.Fatal("deploy/compose/prosody.cfg.lua sets no http_external_url")
	}
	slotURL := strings.TrimSuffix(string(m[1]), "/") + "/upload/abc123/photo.jpg"
	u, err := url.Parse(slotURL)
	if err != nil {
		t.Fatal(err)
	}
	hostOf("prosody's http_external_url", u.Host)
	f, err := gateway.NewFetcher(gateway.FetchConfig{Hosts: cfg.XMPP.UploadHosts, InternalHosts: cfg.XMPP.InternalUploadHosts})
	if err != nil {
		t.Fatalf("the upload allow-list in compose.yaml: %v", err)
	}
	if err := f.Allowed(slotURL); err != nil {
		t.Errorf("the gateway in compose would not fetch Prosody's uploads: %v", err)
	}
	for _, d := range []string{`Component "` + cfg.XMPP.Domain + `"`, `VirtualHost "stadt.localhost"`, `Component "conference.stadt.localhost" "muc"`, `admins = { "` + cfg.XMPP.Domain + `" }`} {
		if !strings.Contains(string(lua), d) {
			t.Errorf("deploy/compose/prosody.cfg.lua lacks %s (the demo town's domains and the gateway's room rights)", d)
		}
	}
	// The demo town's people have accounts (prosody-init.sh).
	initScript, err := os.ReadFile(repoFile("deploy", "compose", "prosody-init.sh"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(env["FIELDGATE_RULES_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	for _, jid := range regexp.MustCompile(`([a-z0-9]+)@stadt\.localhost`).FindAllSubmatch(rules, -1) {
		if !regexp.MustCompile(`for u in [^;]*\b` + string(jid[1]) + `\b`).Match(initScript) {
			t.Errorf("%s@stadt.localhost is in the demo rules but prosody-init.sh creates no account for it", jid[1])
		}
	}
}
