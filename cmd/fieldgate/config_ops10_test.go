package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
