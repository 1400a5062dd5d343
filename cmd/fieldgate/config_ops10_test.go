package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// opsBaseEnv is the smallest valid environment for loadConfig.
func opsBaseEnv(extra map[string]string) func(string) string {
	base := map[string]string{
		"FIELDGATE_DATABASE_URL": "postgres://db/fieldgate", "FIELDGATE_S3_ENDPOINT": "s3:9000",
		"FIELDGATE_XMPP_ADDR": "xmpp:5347", "FIELDGATE_XMPP_DOMAIN": "reports.stadt.example",
		"FIELDGATE_XMPP_SECRET": "s", "FIELDGATE_RULES_FILE": "rules.yaml",
	}
	return func(k string) string {
		if v, ok := extra[k]; ok {
			return v
		}
		return base[k]
	}
}

// TestConfigRefusesRetentionPeriodsThatDeleteAtOnce: retention.days 0 is
// the default (180), so an admin reads `category_days: {jugendamt: 0}` or
// a negative number as "default" or "never"; the retention job took it as
// a period of zero (or a cutoff in the future) and deleted every closed
// incident of that category, with its reports and photos, at its next
// run. `fieldgate retention run --period` already refused such a period;
// the configuration now does too, at start, naming the key.
func TestConfigRefusesRetentionPeriodsThatDeleteAtOnce(t *testing.T) {
	for name, yaml := range map[string]string{
		"negative days":          "retention:\n  days: -180\n",
		"zero category days":     "retention:\n  category_days:\n    jugendamt: 0\n",
		"negative category days": "retention:\n  category_days:\n    gefahr: -365\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "fieldgate.yaml")
			if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadConfig(p, opsBaseEnv(nil))
			if err == nil || !strings.Contains(err.Error(), "retention.") {
				t.Fatalf("loadConfig(%q) = %v, want an error naming the retention key", yaml, err)
			}
			t.Log(err)
		})
	}
	if _, err := loadConfig("", opsBaseEnv(map[string]string{"FIELDGATE_RETENTION_CATEGORY_DAYS": "gefahr:0"})); err == nil ||
		!strings.Contains(err.Error(), "retention.category_days") {
		t.Errorf("FIELDGATE_RETENTION_CATEGORY_DAYS=gefahr:0: err = %v, want the key named", err)
	}
	cfg, err := loadConfig("", opsBaseEnv(map[string]string{"FIELDGATE_RETENTION_CATEGORY_DAYS": "gefahr:365"}))
	if err != nil || cfg.Retention.CategoryDays["gefahr"] != 365 {
		t.Errorf("a valid category period: %v %v", cfg, err)
	}
}

// TestConfigSecretFileErrorsNameTheKey: docs/omemo.md has the admin write
// the OMEMO key to a root-only file (mode 0400) and set omemo.key_file;
// deploy/fieldgate.service runs fieldgate as a dynamic user, which cannot
// read it. The server stopped with "read secret file: open …: permission
// denied", naming neither the key nor the way out. An empty key file
// (install -m 0600 /dev/null …, then forgotten) silently turned OMEMO off.
// Now each error names the configuration key, a permission error says to
// put the secret into fieldgate.env, and an empty file is refused.
func TestConfigSecretFileErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "omemo.key")
	if err := os.WriteFile(empty, []byte("\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig("", opsBaseEnv(map[string]string{"FIELDGATE_OMEMO_KEY_FILE": empty})); err == nil ||
		!strings.Contains(err.Error(), "omemo.key_file") || !strings.Contains(err.Error(), "empty") {
		t.Errorf("an empty omemo.key_file: err = %v, want it refused, naming the key", err)
	}
	missing := filepath.Join(dir, "s3.secret")
	if _, err := loadConfig("", opsBaseEnv(map[string]string{"FIELDGATE_S3_SECRET_KEY_FILE": missing})); err == nil ||
		!strings.Contains(err.Error(), "s3.secret_key_file") || !strings.Contains(err.Error(), missing) {
		t.Errorf("a missing s3.secret_key_file: err = %v, want the key and the path named", err)
	}
	// The error os.ReadFile gives the unit's dynamic user for a root-only
	// file (tests run as root, who may read it).
	denied := &fs.PathError{Op: "open", Path: "/etc/fieldgate/omemo.key", Err: syscall.EACCES}
	if h := secretFileHint(denied); !strings.Contains(h, "fieldgate.env") {
		t.Errorf("hint for %v: %q, want the way out named", denied, h)
	}
	if h := secretFileHint(&fs.PathError{Op: "open", Path: missing, Err: syscall.ENOENT}); h != "" {
		t.Errorf("hint for a missing file: %q, want none", h)
	}
	// A secret in the environment wins over the file, which is not read.
	if _, err := loadConfig("", opsBaseEnv(map[string]string{"FIELDGATE_OMEMO_KEY_FILE": missing, "FIELDGATE_OMEMO_KEY": "k"})); err != nil {
		t.Errorf("FIELDGATE_OMEMO_KEY with a missing key file: %v", err)
	}
}

// TestExampleConfigLoads: docs/operations.md step 5 has the admin copy
// deploy/fieldgate.example.yaml and edit it; fieldgate refuses unknown
// keys, so a key in the example that the binary does not know would stop
// every new installation at its first start.
func TestExampleConfigLoads(t *testing.T) {
	cfg, err := loadConfig(filepath.Join(testsvc.RepoRoot(t), "deploy", "fieldgate.example.yaml"), opsBaseEnv(map[string]string{
		"FIELDGATE_S3_SECRET_KEY": "s", "FIELDGATE_XMPP_SECRET": "s"}))
	if err != nil {
		t.Fatalf("the example configuration: %v", err)
	}
	if cfg.S3.Encryption != "sse-s3" || cfg.Retention.Days != 180 {
		t.Errorf("example read as %+v", cfg.S3)
	}
}

// TestMisspeltEnvironmentVariableRefused: the YAML file refuses unknown
// keys, but a misspelt FIELDGATE_* variable was silently ignored: with
// FIELDGATE_RETENTION_DAY=30 in fieldgate.env personal data stayed 180
// days; with FIELDGATE_S3_USETLS=true photos went to S3 in plain HTTP.
// Now a variable in a configuration section's namespace that is no key
// stops every command at start, naming the key it is closest to; other
// FIELDGATE_* variables (the test and development scripts') pass.
func TestMisspeltEnvironmentVariableRefused(t *testing.T) {
	err := checkConfigEnv([]string{"PATH=/usr/bin", "FIELDGATE_S3_BUCKET=x", "FIELDGATE_RETENTION_DAY=30",
		"FIELDGATE_S3_USETLS=true", "FIELDGATE_TEST_PORT_OFFSET=3600", "FIELDGATE_CONFIG=/etc/fieldgate/fieldgate.yaml", "FIELDGATE_FAULTS=full"})
	if err == nil {
		t.Fatal("misspelt variables accepted")
	}
	for _, want := range []string{"FIELDGATE_RETENTION_DAY", "FIELDGATE_RETENTION_DAYS", "FIELDGATE_S3_USETLS", "FIELDGATE_S3_USE_TLS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "=30") || strings.Contains(err.Error(), "TEST_PORT") {
		t.Errorf("error %q shows a value or an unrelated variable", err)
	}
	t.Log(err)
	var all []string
	for _, k := range envKeys {
		all = append(all, k+"=1")
	}
	if err := checkConfigEnv(append(all, "FIELDGATE_CONFIG=x", "FIELDGATE_TEST_DATABASE_URL=x", "FIELDGATE_BENCH_RATE=1")); err != nil {
		t.Errorf("every configuration key and unrelated variables: %v", err)
	}
}

// TestConfigRefusesLinkLifetimesS3Refuses: S3 signs links for at most
// 7 days (SigV4 presigning). s3.original_ttl: 720h (or a negative value)
// was accepted at start and then failed every link to an original at the
// first request (the API's media redirect answered 500). Both link
// lifetimes are now checked at start, naming the key.
func TestConfigRefusesLinkLifetimesS3Refuses(t *testing.T) {
	for _, bad := range []map[string]string{
		{"FIELDGATE_S3_ORIGINAL_TTL": "720h"},
		{"FIELDGATE_S3_ORIGINAL_TTL": "-5m"},
		{"FIELDGATE_S3_PRESIGN_TTL": "169h"},
		{"FIELDGATE_S3_ORIGINAL_TTL": "500ms"},
	} {
		var key string
		for k := range bad {
			key = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(k, "FIELDGATE_"), "S3_"))
		}
		if _, err := loadConfig("", opsBaseEnv(bad)); err == nil || !strings.Contains(err.Error(), "s3."+key) {
			t.Errorf("%v: err = %v, want s3.%s named", bad, err, key)
		}
	}
	if _, err := loadConfig("", opsBaseEnv(map[string]string{"FIELDGATE_S3_ORIGINAL_TTL": "168h", "FIELDGATE_S3_PRESIGN_TTL": "24h"})); err != nil {
		t.Errorf("7 days and 24 hours: %v", err)
	}
}
