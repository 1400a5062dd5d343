package deploy_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/IBM/pgxpoolprometheus"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// exportedMetrics finds the metric names fieldgate defines, by scanning
// the Go sources of the packages that register metrics for string
// literals "fieldgate_…". Rules and dashboards may only use those (plus
// Prometheus' own up and the Go and process collectors' go_*, process_*).
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	lit := regexp.MustCompile(`"(fieldgate_[a-z0-9_]+)"`)
	for _, dir := range []string{"../api", "../dispatch", "../gateway", "../media", "../cmd/fieldgate"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range lit.FindAllSubmatch(b, -1) {
				names[string(m[1])] = true
			}
		}
	}
	if len(names) < 10 {
		t.Fatalf("found only %d fieldgate metric names in the sources: %v", len(names), names)
	}
	// The database pools' metrics come from github.com/IBM/pgxpoolprometheus
	// (registered by fieldgate serve): their names as the collector
	// describes them, for a pool that never connects (pgxpool connects
	// on first use).
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	descs := make(chan *prometheus.Desc, 64)
	pgxpoolprometheus.NewCollector(pool, nil).Describe(descs)
	close(descs)
	fq := regexp.MustCompile(`fqName: "([a-z0-9_]+)"`)
	for d := range descs {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	if !names["pgxpool_empty_acquire_wait_time_ns"] {
		t.Fatalf("the pool collector does not describe pgxpool_empty_acquire_wait_time_ns: %v", names)
	}
	return names
}

var metricRef = regexp.MustCompile(`\b((?:fieldgate|go|process|pgxpool)_[a-z0-9_]+|up)\b`)

// checkExpr checks that expr is balanced, that its range selectors are
// Prometheus durations, and that every metric it names exists.
func checkExpr(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	if strings.TrimSpace(expr) == "" {
		t.Errorf("%s: empty expr", where)
		return
	}
	depth := map[rune]int{}
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	for _, r := range expr {
		switch r {
		case '(', '[', '{':
			depth[r]++
		case ')', ']', '}':
			depth[pairs[r]]--
			if depth[pairs[r]] < 0 {
				t.Errorf("%s: unbalanced %q in %s", where, r, expr)
				return
			}
		}
	}
	for r, d := range depth {
		if d != 0 {
			t.Errorf("%s: unbalanced %q in %s", where, r, expr)
		}
	}
	for _, m := range regexp.MustCompile(`\[([^\]]+)\]`).FindAllStringSubmatch(expr, -1) {
		if _, err := model.ParseDuration(m[1]); err != nil {
			t.Errorf("%s: range [%s]: %v", where, m[1], err)
		}
	}
	// Label values in quotes are not metric names.
	unquoted := regexp.MustCompile(`"[^"]*"`).ReplaceAllString(expr, `""`)
	for _, m := range metricRef.FindAllString(unquoted, -1) {
		if m == "up" || strings.HasPrefix(m, "go_") || strings.HasPrefix(m, "process_") {
			continue
		}
		base := m
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(m, suf); ok && known[b] {
				base = b
			}
		}
		if !known[base] {
			t.Errorf("%s: metric %s is not exported by fieldgate", where, m)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// TestAlertRules runs Prometheus' own checks on deploy/monitoring/alerts.yaml
// (promtool from Debian's prometheus package, which deploy/dev/services
// installs): `promtool check rules` parses every rule and expression,
// `promtool test rules` runs monitoring/alerts_test.yaml, which must make
// every alert fire at least once. On top, fieldgate's own policy: every
// metric a rule names is one fieldgate exports, severities are critical
// or warning, every alert has a summary and a description, and the alerts
// the operations issue asks for exist.
func TestAlertRules(t *testing.T) {
	promtool := requireTool(t, "promtool")
	for _, args := range [][]string{{"check", "rules", "monitoring/alerts.yaml"}, {"test", "rules", "monitoring/alerts_test.yaml"}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	b, err := os.ReadFile("monitoring/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	tb, err := os.ReadFile("monitoring/alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(tb, &tests); err != nil {
		t.Fatalf("alerts_test.yaml: %v", err)
	}
	fired := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fired[a.Alertname] = true
			}
		}
	}
	known := exportedMetrics(t)
	var alerts []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			where := g.Name + "/" + r.Alert
			alerts = append(alerts, r.Alert)
			if !fired[r.Alert] {
				t.Errorf("%s: no test in alerts_test.yaml makes it fire", where)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", where, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: needs summary and description annotations", where)
			}
			checkExpr(t, where, r.Expr, known)
		}
	}
	for _, want := range []string{"FieldgateXMPPDisconnected", "FieldgateQueueBacklog", "FieldgateEscalationLate", "FieldgateNoRoomPosts"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("alert %s missing (have %v)", want, alerts)
		}
	}
}

// TestDashboard checks deploy/monitoring/grafana-dashboard.json: the
// dashboard model Grafana imports (uid, title, schemaVersion, panels with
// unique ids, a grid position inside 24 columns, and Prometheus targets
// with unique refIds whose expressions name exported metrics).
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID           string `json:"uid"`
		Title         string `json:"title"`
		SchemaVersion int    `json:"schemaVersion"`
		Templating    struct {
			List []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			GridPos struct {
				X, Y, W, H int
			} `json:"gridPos"`
			Datasource struct {
				Type string `json:"type"`
				UID  string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 30 {
		t.Errorf("dashboard uid %q title %q schemaVersion %d", d.UID, d.Title, d.SchemaVersion)
	}
	if len(d.Templating.List) == 0 || d.Templating.List[0].Name != "datasource" || d.Templating.List[0].Type != "datasource" {
		t.Errorf("dashboard needs a datasource variable, has %+v", d.Templating.List)
	}
	known := exportedMetrics(t)
	ids := map[int]bool{}
	used := map[string]bool{}
	for _, p := range d.Panels {
		where := p.Title
		if ids[p.ID] || p.ID <= 0 {
			t.Errorf("panel %q: id %d not unique and positive", where, p.ID)
		}
		ids[p.ID] = true
		if !slices.Contains([]string{"timeseries", "stat", "gauge", "table", "bargauge"}, p.Type) {
			t.Errorf("panel %q: type %q", where, p.Type)
		}
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside 24 columns", where, g)
		}
		if p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v", where, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no targets", where)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: refId %q empty or repeated", where, tg.RefID)
			}
			refs[tg.RefID] = true
			checkExpr(t, where, tg.Expr, known)
			for _, m := range metricRef.FindAllString(tg.Expr, -1) {
				used[m] = true
			}
		}
	}
	for _, want := range []string{"fieldgate_reports_accepted_total", "fieldgate_incidents_open", "fieldgate_escalations_total",
		"fieldgate_queue_jobs", "fieldgate_xmpp_connection_state", "fieldgate_dependency_errors_total"} {
		if !used[want] {
			t.Errorf("dashboard does not show %s", want)
		}
	}
}
