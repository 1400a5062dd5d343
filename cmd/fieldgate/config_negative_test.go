package main

import (
	"strings"
	"testing"
)

// TestConfigRefusesNegativeLimits: a negative rate limit or room retry
// (a typo, or "-1" meant as "off") is refused at start with the keys
// named, instead of silently becoming a burst of 1 or a join attempt at
// every room check.
func TestConfigRefusesNegativeLimits(t *testing.T) {
	base := map[string]string{
		"FIELDGATE_DATABASE_URL": "postgres://db/fieldgate", "FIELDGATE_S3_ENDPOINT": "s3:9000",
		"FIELDGATE_XMPP_ADDR": "xmpp:5347", "FIELDGATE_XMPP_DOMAIN": "reports.stadt.example",
		"FIELDGATE_XMPP_SECRET": "s", "FIELDGATE_RULES_FILE": "rules.yaml",
	}
	for _, bad := range []map[string]string{
		{"FIELDGATE_XMPP_SENDER_BURST": "-1"},
		{"FIELDGATE_XMPP_SENDER_RATE_PER_MINUTE": "-30"},
		{"FIELDGATE_XMPP_ROOM_RETRY": "-1m"},
	} {
		get := func(k string) string {
			if v, ok := bad[k]; ok {
				return v
			}
			return base[k]
		}
		if _, err := loadConfig("", get); err == nil || !strings.Contains(err.Error(), "xmpp.sender_burst") {
			t.Errorf("%v: err = %v, want the keys named", bad, err)
		}
	}
	neg := func(k string) string {
		if k == "FIELDGATE_DATABASE_MAX_CONNS" {
			return "-1"
		}
		return base[k]
	}
	if _, err := loadConfig("", neg); err == nil || !strings.Contains(err.Error(), "database.max_conns") {
		t.Errorf("negative database.max_conns: err = %v, want the key named", err)
	}
	if _, err := loadConfig("", func(k string) string { return base[k] }); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
}
