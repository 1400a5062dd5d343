package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "xmpp.secret")
	if err := os.WriteFile(secret, []byte("s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "fieldgate.yaml")
	yaml := `
http: {addr: "127.0.0.1:9999", token_cache_max_age: 5s}
database: {url: "postgres://db/fieldgate"}
s3: {endpoint: "s3:9000", bucket: yaml-bucket}
xmpp: {addr: "xmpp:5347", domain: reports.stadt.example, secret_file: ` + secret + `, upload_hosts: [upload.stadt.example]}
rules: {file: /etc/fieldgate/rules.yaml}
reports: {assembly_window: 45s}
retention: {days: 90, category_days: {gefahr: 365}}
`
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"FIELDGATE_S3_BUCKET":         "env-bucket",
		"FIELDGATE_XMPP_UPLOAD_HOSTS": "a.example,http://127.0.0.1:5280",
		"FIELDGATE_UNRELATED":         "ignored",
	}
	cfg, err := loadConfig(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.S3.Bucket != "env-bucket" || cfg.HTTP.Addr != "127.0.0.1:9999" || cfg.XMPP.Secret != "s3cr3t" {
		t.Errorf("bucket %q addr %q secret %q", cfg.S3.Bucket, cfg.HTTP.Addr, cfg.XMPP.Secret)
	}
	if strings.Join(cfg.XMPP.UploadHosts, " ") != "a.example http://127.0.0.1:5280" {
		t.Errorf("upload hosts %v", cfg.XMPP.UploadHosts)
	}
	if cfg.Reports.AssemblyWindow != 45*time.Second || cfg.TimeZone != "Europe/Berlin" || cfg.Log.Format != "json" {
		t.Errorf("window %v zone %q log %q", cfg.Reports.AssemblyWindow, cfg.TimeZone, cfg.Log.Format)
	}
	dc := dispatchConfig(cfg, time.UTC)
	if dc.Retention.Default != 90*24*time.Hour || dc.Retention.Categories["gefahr"] != 365*24*time.Hour {
		t.Errorf("retention %+v", dc.Retention)
	}
	if dc.TokenCache.MaxAge != 5*time.Second {
		t.Errorf("token cache %+v", dc.TokenCache)
	}

	// Unknown keys and missing required values are errors that name them.
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("s3: {bukket: x}\n"), 0o644)
	if _, err := loadConfig(bad, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "bukket") {
		t.Errorf("misspelt key: %v", err)
	}
	if _, err := loadConfig("", func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "FIELDGATE_DATABASE_URL") {
		t.Errorf("missing values: %v", err)
	}
	// Secrets are not read from the YAML file.
	sec := filepath.Join(dir, "sec.yaml")
	_ = os.WriteFile(sec, []byte("s3: {secret_key: plain}\n"), 0o644)
	if _, err := loadConfig(sec, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "secret_key") {
		t.Errorf("a secret in the YAML file must be refused: %v", err)
	}
}

func TestServeGCPercent(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if pct, set := serveGCPercent(env(nil)); !set || pct != defaultServeGCPercent || pct <= 100 {
		t.Fatalf("GOGC unset: got %d, %v; want the server default %d (above Go's 100)", pct, set, defaultServeGCPercent)
	}
	for _, v := range []string{"50", "off"} {
		if _, set := serveGCPercent(env(map[string]string{"GOGC": v})); set {
			t.Fatalf("GOGC=%s: the server overrode the operator's setting", v)
		}
	}
}
