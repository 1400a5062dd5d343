package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/agnivade/levenshtein"
	"github.com/caarlos0/env/v11"
	"gopkg.in/yaml.v3"
)

// Config is fieldgate's configuration: one YAML file, every key
// overridable by a FIELDGATE_* environment variable (FIELDGATE_S3_BUCKET
// for s3.bucket). Secrets come only from the environment or from files.
type Config struct {
	HTTP struct {
		// Addr is where the API listens. Default 127.0.0.1:8080.
		Addr string `yaml:"addr" env:"ADDR"`
		// MaxBodyBytes caps one request body. Default 100 MiB.
		MaxBodyBytes int64 `yaml:"max_body_bytes" env:"MAX_BODY_BYTES"`
		// TLSCert/TLSKey enable HTTPS directly (else terminate TLS in front).
		TLSCert string `yaml:"tls_cert" env:"TLS_CERT"`
		TLSKey  string `yaml:"tls_key" env:"TLS_KEY"`
		// TrustedProxies are the reverse proxies (IP addresses or CIDR
		// ranges) whose X-Forwarded-For/-Proto headers are believed. Default
		// none. Client addresses are never logged or stored either way.
		TrustedProxies []string `yaml:"trusted_proxies" env:"TRUSTED_PROXIES"`
		// MetricsAddr serves /metrics on a separate listener without a
		// token (keep it internal). Empty: /metrics on the API needs a token
		// with the metrics role.
		MetricsAddr string `yaml:"metrics_addr" env:"METRICS_ADDR"`
		// Pprof adds Go's profiler (net/http/pprof, /debug/pprof/) to the
		// metrics_addr listener, for measuring a server under load (see
		// deploy/SCALING.md). Default false; ignored without metrics_addr.
		// A profile shows no report content, but keep the listener internal.
		Pprof bool `yaml:"pprof" env:"PPROF"`
		// UploadsPerToken caps concurrent file uploads per API token. Default 2.
		UploadsPerToken int `yaml:"uploads_per_token" env:"UPLOADS_PER_TOKEN"`
		// MinBodyRate: request bodies slower than this (bytes/s, averaged
		// after 15 s) are cut off with 408. Default 1024.
		MinBodyRate int64 `yaml:"min_body_rate" env:"MIN_BODY_RATE"`
		// TokenCacheMaxAge: an API token is read from the database again
		// at the latest this long after it was cached; revocations reach
		// every replica at once (LISTEN/NOTIFY) and this bounds them only
		// if that fails. Default 30s; negative turns the cache off.
		TokenCacheMaxAge time.Duration `yaml:"token_cache_max_age" env:"TOKEN_CACHE_MAX_AGE"`
		// EventsHeartbeat is how often GET /api/v1/events (the console's
		// live updates) sends a heartbeat event; a console that sees none
		// for well over it reconnects and reloads its list. Lower it if a
		// proxy in front closes idle connections sooner. Default 15s;
		// between 1s and 5m.
		EventsHeartbeat time.Duration `yaml:"events_heartbeat" env:"EVENTS_HEARTBEAT"`
	} `yaml:"http" envPrefix:"HTTP_"`
	Database struct {
		// URL is a PostgreSQL connection URL. Prefer FIELDGATE_DATABASE_URL.
		URL string `yaml:"url" env:"URL"`
		// AutoMigrate applies pending migrations at start-up. Default true.
		AutoMigrate *bool `yaml:"auto_migrate" env:"AUTO_MIGRATE"`
		// MaxConns is the most connections each of a process's two pools
		// opens: the main one (HTTP intake, job workers and the gateway
		// share it) and the job queue's (its fetches, completions and
		// LISTEN; every statement planned for its arguments, see
		// openQueuePool). 0: pgx's default, the larger of 4 and the
		// number of CPUs; a pool_max_conns in URL wins over both. serve
		// needs at least 2 (the XMPP leader's session holds one).
		MaxConns int `yaml:"max_conns" env:"MAX_CONNS"`
	} `yaml:"database" envPrefix:"DATABASE_"`
	S3 struct {
		Endpoint      string        `yaml:"endpoint" env:"ENDPOINT"` // host:port
		AccessKey     string        `yaml:"access_key" env:"ACCESS_KEY"`
		SecretKey     string        `yaml:"-" env:"SECRET_KEY"`
		SecretKeyFile string        `yaml:"secret_key_file" env:"SECRET_KEY_FILE"`
		Bucket        string        `yaml:"bucket" env:"BUCKET"` // default "fieldgate"
		Region        string        `yaml:"region" env:"REGION"`
		UseTLS        bool          `yaml:"use_tls" env:"USE_TLS"`
		PresignTTL    time.Duration `yaml:"presign_ttl" env:"PRESIGN_TTL"`
		OriginalTTL   time.Duration `yaml:"original_ttl" env:"ORIGINAL_TTL"` // links to originals (API only), default 5m
		// Encryption is the server-side encryption of every object:
		// "sse-s3" (the default: the server's KMS keys), "sse-c" (our
		// key, needs TLS) or "none".
		Encryption     string `yaml:"encryption" env:"ENCRYPTION"`
		MaxConcurrency int    `yaml:"max_concurrent_uploads" env:"MAX_CONCURRENT_UPLOADS"`
		// SSECKey is the sse-c key, the base64 of 32 bytes (openssl rand
		// -base64 32); only from the environment (FIELDGATE_S3_SSEC_KEY) or
		// ssec_key_file. Lose it and the photos are lost.
		SSECKey     string `yaml:"-" env:"SSEC_KEY"`
		SSECKeyFile string `yaml:"ssec_key_file" env:"SSEC_KEY_FILE"`
		// RequireEncryption (default true) refuses to start when the
		// server does not accept the requested encryption; false logs an
		// error and stores unencrypted.
		RequireEncryption bool `yaml:"require_encryption" env:"REQUIRE_ENCRYPTION"`
	} `yaml:"s3" envPrefix:"S3_"`
	Media struct {
		// TeamCopyMaxEdge is the longest edge of team copies in pixels
		// (default 1600); TeamCopyQuality their JPEG quality (default 80).
		TeamCopyMaxEdge int `yaml:"team_copy_max_edge" env:"TEAM_COPY_MAX_EDGE"`
		TeamCopyQuality int `yaml:"team_copy_quality" env:"TEAM_COPY_QUALITY"`
		// LosslessTeamCopy copies upright JPEGs losslessly instead of
		// re-encoding them (default off: re-encoding disarms the photo;
		// media.Config.LosslessTeamCopy).
		LosslessTeamCopy bool `yaml:"lossless_team_copy" env:"LOSSLESS_TEAM_COPY"`
	} `yaml:"media" envPrefix:"MEDIA_"`
	XMPP struct {
		// Addr is the XMPP server's component port, host:port.
		Addr string `yaml:"addr" env:"ADDR"`
		// Domain is the component domain, e.g. reports.stadt.example.
		Domain     string `yaml:"domain" env:"DOMAIN"`
		Secret     string `yaml:"-" env:"SECRET"`
		SecretFile string `yaml:"secret_file" env:"SECRET_FILE"`
		// Nick in team rooms. Default "fieldgate".
		Nick string `yaml:"nick" env:"NICK"`
		// UploadHosts are the HTTP-upload services whose URLs may be fetched:
		// "host" or "host:port" for https, "http://host:port" for plain http
		// (loopback dev setups only). Any other URL stays text.
		UploadHosts []string `yaml:"upload_hosts" env:"UPLOAD_HOSTS"`
		// InternalUploadHosts are upload services on the operator's own
		// private network, exactly "host:port" (compose: "prosody:5280"),
		// fetched over plain http and allowed to resolve to private
		// addresses. Empty by default.
		InternalUploadHosts []string `yaml:"internal_upload_hosts" env:"INTERNAL_UPLOAD_HOSTS"`
		// MaxAttachmentBytes caps one downloaded attachment. Default 100 MiB.
		MaxAttachmentBytes int64 `yaml:"max_attachment_bytes" env:"MAX_ATTACHMENT_BYTES"`
		// RoomRetry: a team room the gateway cannot use (not its owner, its
		// nick taken) is tried again this often. Default 1m.
		RoomRetry time.Duration `yaml:"room_retry" env:"ROOM_RETRY"`
		// PingInterval and PingTimeout: how often the gateway checks with a
		// ping (XEP-0199) that its connection to the XMPP server still works,
		// and how long it waits for the answer before it connects anew.
		// Defaults 10s and 15s.
		PingInterval time.Duration `yaml:"ping_interval" env:"PING_INTERVAL"`
		PingTimeout  time.Duration `yaml:"ping_timeout" env:"PING_TIMEOUT"`
		// SenderBurst messages from one sender are taken at once, then
		// SenderRatePerMinute on average (defaults 30 and 30). A sender over
		// the limit is refused until half the burst has refilled and told
		// once, in their language, which span was not taken.
		SenderBurst         int `yaml:"sender_burst" env:"SENDER_BURST"`
		SenderRatePerMinute int `yaml:"sender_rate_per_minute" env:"SENDER_RATE_PER_MINUTE"`
	} `yaml:"xmpp" envPrefix:"XMPP_"`
	Reports struct {
		// AssemblyWindow: an XMPP message within this time after the same
		// sender's last part of a case joins it as a part (nothing waits:
		// every report is posted at once). Default 60s.
		AssemblyWindow time.Duration `yaml:"assembly_window" env:"ASSEMBLY_WINDOW"`
		// FollowUpWindow: a bare location for a case without one joins and
		// re-routes it within this time. Default 2h.
		FollowUpWindow time.Duration `yaml:"follow_up_window" env:"FOLLOW_UP_WINDOW"`
		// PartDistanceM: a part with its own position farther than this
		// (metres) from its case opens a new case. Default 100.
		PartDistanceM float64 `yaml:"part_distance_m" env:"PART_DISTANCE_M"`
		// MaxPhotoAge: photos taken longer before receipt are flagged. Default 24h.
		MaxPhotoAge time.Duration `yaml:"max_photo_age" env:"MAX_PHOTO_AGE"`
		// DuplicateDistanceM: a new report this close (metres) to an open
		// incident of the same category is linked to it. Default 30.
		DuplicateDistanceM float64 `yaml:"duplicate_distance_m" env:"DUPLICATE_DISTANCE_M"`
		// DuplicateWindow: ... and only within this time. Default 24h.
		DuplicateWindow time.Duration `yaml:"duplicate_window" env:"DUPLICATE_WINDOW"`
		// ShowReporterJID shows the reporter's address in team rooms. Default false.
		ShowReporterJID bool `yaml:"show_reporter_jid" env:"SHOW_REPORTER_JID"`
		// Templates are canned replies ("antwort 42 /name"): name → language → text.
		// They replace the built-in ones (erledigt, unterwegs, nicht-zustaendig, danke, standort).
		Templates map[string]map[string]string `yaml:"templates"`
	} `yaml:"reports" envPrefix:"REPORTS_"`
	Retention struct {
		// Days after which closed reports, media and personal data are
		// deleted (an anonymous statistic row stays). Default 180.
		Days int `yaml:"days" env:"DAYS"`
		// CategoryDays overrides Days per routing category, e.g. gefahr: 365.
		CategoryDays map[string]int `yaml:"category_days" env:"CATEGORY_DAYS"`
	} `yaml:"retention" envPrefix:"RETENTION_"`
	Rules struct {
		// File is the routing rules YAML.
		File string `yaml:"file" env:"FILE"`
	} `yaml:"rules" envPrefix:"RULES_"`
	Console struct {
		// Enabled serves the dispatcher console at /console/. Default true.
		Enabled *bool `yaml:"enabled" env:"ENABLED"`
		// PublicURL is how browsers reach fieldgate (login links, OIDC
		// redirect). Default http://<http.addr>.
		PublicURL string `yaml:"public_url" env:"PUBLIC_URL"`
		// SecureCookies marks session cookies Secure. Default: true when
		// http.tls_cert is set or public_url is https.
		SecureCookies *bool `yaml:"secure_cookies" env:"SECURE_COOKIES"`
		// SessionTTL is how long a sign-in lasts. Default 12h.
		SessionTTL time.Duration `yaml:"session_ttl" env:"SESSION_TTL"`
		// TileURL is an optional map tile template ({z}/{x}/{y}); empty =
		// district polygons only, no request leaves the machine.
		TileURL         string `yaml:"tile_url" env:"TILE_URL"`
		TileAttribution string `yaml:"tile_attribution" env:"TILE_ATTRIBUTION"`
		OIDC            struct {
			// Issuer enables single sign-on (OIDC discovery URL without
			// /.well-known/openid-configuration).
			Issuer           string `yaml:"issuer" env:"ISSUER"`
			ClientID         string `yaml:"client_id" env:"CLIENT_ID"`
			ClientSecret     string `yaml:"-" env:"CLIENT_SECRET"`
			ClientSecretFile string `yaml:"client_secret_file" env:"CLIENT_SECRET_FILE"`
			// GroupsClaim names the ID token's groups claim. Default "groups".
			GroupsClaim string `yaml:"groups_claim" env:"GROUPS_CLAIM"`
			// Groups maps a group to roles: dispatcher, team:<id>.
			Groups map[string][]string `yaml:"groups"`
			// Scopes requested besides openid. Default profile, email, groups.
			Scopes []string `yaml:"scopes" env:"SCOPES"`
		} `yaml:"oidc" envPrefix:"OIDC_"`
	} `yaml:"console" envPrefix:"CONSOLE_"`
	Open311 struct {
		// Enabled serves Open311 GeoReport v2 under /open311/ for the
		// addresses with an open311 block in the rules. Default true.
		Enabled *bool `yaml:"enabled" env:"ENABLED"`
		// JurisdictionID, when set, is the only jurisdiction_id accepted.
		JurisdictionID string `yaml:"jurisdiction_id" env:"JURISDICTION_ID"`
		// BaseURL is the public URL named in discovery.json. Default: from the request.
		BaseURL string `yaml:"base_url" env:"BASE_URL"`
		// Contact and KeyService fill discovery.json.
		Contact    string `yaml:"contact" env:"CONTACT"`
		KeyService string `yaml:"key_service" env:"KEY_SERVICE"`
		// StoreContact keeps email, phone and names sent with a request.
		// Default false (data minimisation; the answer says so).
		StoreContact bool `yaml:"store_contact" env:"STORE_CONTACT"`
		// PublishDescriptions shows reporters' descriptions in GET requests. Default true.
		PublishDescriptions *bool `yaml:"publish_descriptions" env:"PUBLISH_DESCRIPTIONS"`
		// MediaURLHosts are the hosts a media_url may be fetched from (https;
		// "http://host:port" only for loopback). Default none: media_url is
		// refused and apps upload the photo as multipart "media".
		MediaURLHosts []string `yaml:"media_url_hosts" env:"MEDIA_URL_HOSTS"`
	} `yaml:"open311" envPrefix:"OPEN311_"`
	OMEMO struct {
		// Key seals the OMEMO keys of every function address at rest: 32
		// bytes as 64 hex digits or base64 (openssl rand -hex 32). Only from
		// the environment (FIELDGATE_OMEMO_KEY) or key_file. Without a key,
		// OMEMO is off: addresses publish no keys and encrypted messages are
		// answered with a request to send unencrypted.
		Key     string `yaml:"-" env:"KEY"`
		KeyFile string `yaml:"key_file" env:"KEY_FILE"`
		// UploadService is the XMPP server's HTTP upload service (XEP-0363)
		// the gateway uploads encrypted team copies to, for encrypted team
		// rooms (XEP-0454). Default: found among the server's disco#items.
		// Its host must be in xmpp.upload_hosts.
		UploadService string `yaml:"upload_service" env:"UPLOAD_SERVICE"`
	} `yaml:"omemo" envPrefix:"OMEMO_"`
	Log struct {
		Format string `yaml:"format" env:"FORMAT"` // "json" (default) or "text"
		Level  string `yaml:"level" env:"LEVEL"`   // debug, info (default), warn, error
	} `yaml:"log" envPrefix:"LOG_"`
	// TimeZone for case numbers and texts. Default Europe/Berlin.
	TimeZone string `yaml:"time_zone" env:"TIME_ZONE"`
}

// loadConfig reads the YAML file (if any), applies the environment and
// the defaults, and validates the result.
// encryptionNone is s3.encryption's value for objects stored unencrypted.
const encryptionNone = "none"

func loadConfig(path string, getenv func(string) string) (*Config, error) {
	var cfg Config
	// Defaults that an absent key cannot express as its zero value: photos
	// are personal data (security by default), so encryption is on and
	// required unless the file or environment turns it off.
	cfg.S3.RequireEncryption = true
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w%s", err, fileReadHint(err))
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // empty file = empty config
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	environ := map[string]string{}
	for _, k := range envKeys {
		if v := getenv(k); v != "" {
			environ[k] = v
		}
	}
	if err := env.ParseWithOptions(&cfg, env.Options{Prefix: "FIELDGATE_", Environment: environ}); err != nil {
		return nil, envError(environ, err)
	}
	if err := readSecret(&cfg.S3.SecretKey, "s3.secret_key_file", cfg.S3.SecretKeyFile); err != nil {
		return nil, err
	}
	if err := readSecret(&cfg.Console.OIDC.ClientSecret, "console.oidc.client_secret_file", cfg.Console.OIDC.ClientSecretFile); err != nil {
		return nil, err
	}
	if err := readSecret(&cfg.XMPP.Secret, "xmpp.secret_file", cfg.XMPP.SecretFile); err != nil {
		return nil, err
	}
	if err := readSecret(&cfg.OMEMO.Key, "omemo.key_file", cfg.OMEMO.KeyFile); err != nil {
		return nil, err
	}
	if err := readSecret(&cfg.S3.SSECKey, "s3.ssec_key_file", cfg.S3.SSECKeyFile); err != nil {
		return nil, err
	}
	switch cfg.S3.Encryption {
	case "":
		cfg.S3.Encryption = "sse-s3"
	case "sse-s3", "sse-c", encryptionNone:
	default:
		return nil, fmt.Errorf("config: s3.encryption %q: want sse-s3 (the default), sse-c or none", cfg.S3.Encryption)
	}
	if cfg.S3.Encryption == "sse-c" {
		if k, err := base64.StdEncoding.DecodeString(cfg.S3.SSECKey); err != nil || len(k) != 32 {
			return nil, errors.New("config: s3.encryption sse-c needs its key, the base64 of 32 bytes (openssl rand -base64 32), in FIELDGATE_S3_SSEC_KEY or s3.ssec_key_file")
		}
	}
	if err := validateProxies(cfg.HTTP.TrustedProxies); err != nil {
		return nil, err
	}
	if cfg.XMPP.SenderBurst < 0 || cfg.XMPP.SenderRatePerMinute < 0 || cfg.XMPP.RoomRetry < 0 || cfg.XMPP.PingInterval < 0 || cfg.XMPP.PingTimeout < 0 {
		return nil, errors.New("config: xmpp.sender_burst, xmpp.sender_rate_per_minute, xmpp.room_retry, xmpp.ping_interval and xmpp.ping_timeout must not be negative (0 or unset: the default)")
	}
	// S3 signs links for at most 7 days (SigV4 query-string
	// authentication); a longer lifetime fails every link at request time.
	for key, d := range map[string]time.Duration{"s3.presign_ttl": cfg.S3.PresignTTL, "s3.original_ttl": cfg.S3.OriginalTTL} {
		if d < 0 || (d > 0 && d < time.Second) || d > 7*24*time.Hour {
			return nil, fmt.Errorf("config: %s is %v; want 1s to 168h (7 days, the longest S3 signs), 0 or unset for the default", key, d)
		}
	}
	if err := validateRetention(cfg.Retention.Days, cfg.Retention.CategoryDays); err != nil {
		return nil, err
	}
	if cfg.Database.MaxConns < 0 {
		return nil, errors.New("config: database.max_conns must not be negative (0 or unset: the default)")
	}
	if h := cfg.HTTP.EventsHeartbeat; h != 0 && (h < time.Second || h > 5*time.Minute) {
		return nil, fmt.Errorf("config: http.events_heartbeat %s: must be between 1s and 5m (unset: 15s)", h)
	}
	if cfg.HTTP.Addr == "" {
		cfg.HTTP.Addr = "127.0.0.1:8080"
	}
	if cfg.S3.Bucket == "" {
		cfg.S3.Bucket = "fieldgate"
	}
	if cfg.TimeZone == "" {
		cfg.TimeZone = "Europe/Berlin"
	}
	if cfg.Log.Format == "" {
		cfg.Log.Format = "json"
	}
	var missing []string
	for k, v := range map[string]string{
		"database.url (FIELDGATE_DATABASE_URL)":                   cfg.Database.URL,
		"s3.endpoint (FIELDGATE_S3_ENDPOINT)":                     cfg.S3.Endpoint,
		"xmpp.addr (FIELDGATE_XMPP_ADDR)":                         cfg.XMPP.Addr,
		"xmpp.domain (FIELDGATE_XMPP_DOMAIN)":                     cfg.XMPP.Domain,
		"xmpp secret (FIELDGATE_XMPP_SECRET or xmpp.secret_file)": cfg.XMPP.Secret,
		"rules.file (FIELDGATE_RULES_FILE)":                       cfg.Rules.File,
	} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("config: missing %s", strings.Join(missing, ", "))
	}
	return &cfg, nil
}

// envError names the variables of environ that cannot be read into their
// setting, each with the kind of value it wants (caarlos0/env names only
// the Go field, "UseTLS", which an admin cannot find in fieldgate.env):
// each variable is parsed alone to find them. Values are not repeated
// (some variables hold secrets).
func envError(environ map[string]string, err error) error {
	var bad []string
	for k, v := range environ {
		var probe Config
		perr := env.ParseWithOptions(&probe, env.Options{Prefix: "FIELDGATE_", Environment: map[string]string{k: v}})
		var pe env.ParseError
		if perr == nil || !errors.As(perr, &pe) {
			continue
		}
		want := pe.Type.String()
		switch pe.Type.String() {
		case "bool":
			want = "true or false"
		case "int", "int64", "float64":
			want = "a number"
		case "time.Duration":
			want = "a duration such as 90s, 15m or 24h"
		}
		bad = append(bad, fmt.Sprintf("%s: want %s", k, want))
	}
	if len(bad) == 0 {
		return fmt.Errorf("config from environment: %w", err)
	}
	slices.Sort(bad)
	return fmt.Errorf("config from environment: %s", strings.Join(bad, "; "))
}

// envKeys lists every variable the config reads, so that only those are
// passed on (and an unrelated FIELDGATE_* variable cannot surprise anyone).
var envKeys = func() []string {
	keys, err := env.GetFieldParamsWithOptions(&Config{}, env.Options{Prefix: "FIELDGATE_"})
	if err != nil {
		panic(err)
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Key
	}
	return out
}()

// readSecret reads the secret named key (the configuration key of the
// file, e.g. "omemo.key_file") from file, unless the environment gave it
// already. fieldgate reads the file as its own user: under
// deploy/fieldgate.service a dynamic user, which cannot read a root-only
// file. A file that holds nothing is an error, not "no secret" (an empty
// omemo.key_file would silently turn OMEMO off).
func readSecret(dst *string, key, file string) error {
	if *dst != "" || file == "" {
		return nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("config: %s: %w%s", key, err, secretFileHint(err))
	}
	*dst = strings.TrimSpace(string(b))
	if *dst == "" {
		return fmt.Errorf("config: %s: %s is empty", key, file)
	}
	return nil
}

// secretFileHint explains a secret file fieldgate may not read.
func secretFileHint(err error) string {
	if !errors.Is(err, fs.ErrPermission) {
		return ""
	}
	return " (fieldgate reads it as its own user; the systemd unit's dynamic user cannot read a root-only file: " +
		"put the secret into /etc/fieldgate/fieldgate.env, which systemd reads as root, docs/operations.md step 5)"
}

// fileReadHint explains a permission error on a file that holds no
// secret (the configuration, the rules), which the systemd unit's dynamic
// user must be able to read.
func fileReadHint(err error) string {
	if !errors.Is(err, fs.ErrPermission) {
		return ""
	}
	return " (fieldgate reads it as its own user; the systemd unit's dynamic user cannot read a root-only file: " +
		"make it readable, e.g. chmod 0644, and keep secrets in /etc/fieldgate/fieldgate.env, docs/operations.md step 5)"
}

// validateRetention refuses retention periods that would delete closed
// incidents at once: a negative retention.days (0 is the default, 180), and
// a category period below one day. The retention job reads a period of 0
// as "delete when closed" and a negative one as a cutoff in the future.
func validateRetention(days int, categoryDays map[string]int) error {
	if days < 0 {
		return fmt.Errorf("config: retention.days is %d; want a positive number of days (0 or unset: the default, 180)", days)
	}
	var bad []string
	for c, d := range categoryDays {
		if d < 1 {
			bad = append(bad, fmt.Sprintf("%s: %d", c, d))
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("config: retention.category_days %s; want at least 1 day per category (leave a category out for retention.days)", strings.Join(bad, ", "))
	}
	return nil
}

// checkConfigEnv refuses FIELDGATE_<SECTION>_* variables in environ
// (os.Environ's "NAME=value" form) that are no configuration key, where
// SECTION is one of the configuration's sections (HTTP, S3, RETENTION, …):
// a misspelt name would otherwise be ignored silently, as the YAML file's
// unknown keys are not. Other FIELDGATE_* variables (FIELDGATE_CONFIG, the
// test and development scripts') pass. The error names each variable and
// the key closest to it, never a value.
func checkConfigEnv(environ []string) error {
	known := map[string]bool{"FIELDGATE_CONFIG": true}
	sections := map[string][]string{}
	for _, k := range envKeys {
		known[k] = true
		sec, _, _ := strings.Cut(strings.TrimPrefix(k, "FIELDGATE_"), "_")
		sections[sec] = append(sections[sec], k)
	}
	var bad []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, "FIELDGATE_")
		if !ok || known[name] {
			continue
		}
		sec, _, _ := strings.Cut(rest, "_")
		if keys := sections[sec]; len(keys) > 0 {
			bad = append(bad, fmt.Sprintf("%s (did you mean %s?)", name, closest(name, keys)))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return fmt.Errorf("config: unknown environment variable %s; deploy/fieldgate.example.yaml lists the keys (key a.b_c is FIELDGATE_A_B_C)",
		strings.Join(bad, ", "))
}

// closest returns the candidate with the smallest edit distance to s.
func closest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		if d := levenshtein.ComputeDistance(s, c); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
