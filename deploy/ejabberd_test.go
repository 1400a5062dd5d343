package deploy_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// ejabberdLocal are the settings of deploy/ejabberd.yml.snippet that name
// the town's own machine and must differ on the test server: where it
// listens, the component secret, and the upload URL (plain http on a test
// port instead of the town's https).
var ejabberdLocal = []string{
	"listen[]/port", "listen[]/ip", "listen[]/hosts/*/password",
	"modules/mod_http_upload/put_url",
}

// TestEjabberdTestServerRunsTheSnippet proves that the ejabberd of
// make test-ejabberd (deploy/dev/ejabberd) runs deploy/ejabberd.yml.snippet:
// every setting of the snippet, with the town's domain stadt.example read
// as the test domain stadt.localhost, is in the generated configuration
// with the same value (a list there may hold more entries, such as the
// test's extra component names), except the machine-specific ones in
// ejabberdLocal.
func TestEjabberdTestServerRunsTheSnippet(t *testing.T) {
	requireTool(t, "bash")
	dir := t.TempDir()
	cmd := exec.Command("bash", "dev/ejabberd", "config", dir)
	cmd.Env = append(os.Environ(), "FIELDGATE_TEST_PORT_OFFSET=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deploy/dev/ejabberd config: %v\n%s", err, out)
	}
	snippet := readYAML(t, "ejabberd.yml.snippet", "stadt.example", "stadt.localhost")
	generated := readYAML(t, filepath.Join(dir, "ejabberd", "ejabberd.yml"))
	for _, e := range carried(snippet, generated, "") {
		t.Error(e)
	}

	// The check can fail: a room default changed in the test server only
	// is found.
	changed := readYAML(t, filepath.Join(dir, "ejabberd", "ejabberd.yml"))
	changed.(map[string]any)["modules"].(map[string]any)["mod_muc"].(map[string]any)["default_room_options"].(map[string]any)["members_only"] = false
	if errs := carried(snippet, changed, ""); len(errs) != 1 || !strings.Contains(errs[0], "members_only") {
		t.Errorf("a changed members_only was reported as %q", errs)
	}
}

func readYAML(t *testing.T, path string, replace ...string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(replace...).Replace(string(b))
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// carried lists how want (a part of the snippet at path) is missing from
// or different in got (the same part of the generated configuration).
func carried(want, got any, path string) []string {
	if isLocal(path) {
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: snippet has a map, test server %T", path, got)}
		}
		var errs []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				errs = append(errs, fmt.Sprintf("%s/%s: in the snippet, not in the test server's configuration", path, k))
				continue
			}
			errs = append(errs, carried(wv, gv, path+"/"+k)...)
		}
		return errs
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: snippet has a list, test server %T", path, got)}
		}
		var errs []string
		for _, wv := range w {
			if !slices.ContainsFunc(g, func(gv any) bool { return len(carried(wv, gv, path+"[]")) == 0 }) {
				errs = append(errs, fmt.Sprintf("%s: no entry in the test server's configuration matches the snippet's %v", path, wv))
			}
		}
		return errs
	default:
		if g, ok := got.([]any); ok && slices.Contains(g, want) { // a scalar is a list of one
			return nil
		}
		if !reflect.DeepEqual(want, got) {
			return []string{fmt.Sprintf("%s: snippet %v, test server %v", path, want, got)}
		}
		return nil
	}
}

// isLocal reports whether path (map keys joined by "/", since keys such
// as host names hold dots) is one of ejabberdLocal; "*" matches any one
// map key.
func isLocal(path string) bool {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, l := range ejabberdLocal {
		lp := strings.Split(l, "/")
		if len(lp) != len(parts) {
			continue
		}
		match := true
		for i := range lp {
			if lp[i] != "*" && lp[i] != parts[i] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
