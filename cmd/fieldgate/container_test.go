package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
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
