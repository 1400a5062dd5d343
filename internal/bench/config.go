package bench

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Modes of sending reports.
const (
	ModeHTTP = "http" // POST /api/v1/reports (multipart)
	ModeXMPP = "xmpp" // a c2s client per field worker, XEP-0363 upload, message with the URL
)

// Load is one measured load: how reports are sent, how many, how fast.
type Load struct {
	Name string
	Mode string // ModeHTTP or ModeXMPP
	// Photos are attached one per report, in turn; none means text only.
	Photos []string
	// Concurrency is the number of reports in flight (closed loop) when
	// Rate is 0.
	Concurrency int
	// Rate is reports per second, sent on schedule whatever the answers
	// (open loop); 0 uses Concurrency.
	Rate float64
	// Count is the number of reports; Duration bounds the whole load.
	Count    int
	Duration time.Duration
	// Target is what the load must reach (optional); the table says met
	// or not met.
	Target Target
}

// Account is an XMPP account (bare JID and password).
type Account struct{ JID, Password string }

// Config says where to send and what to measure against.
type Config struct {
	// URL is the gateway's HTTP base (http://127.0.0.1:8080); Token a
	// reporter API token.
	URL, Token string
	// To is the function address's local part (tiefbau).
	To string
	// Room is the team room's bare JID, watched by Member over c2s at
	// C2SAddr; ReportsDomain is the gateway's component domain (XMPP mode
	// sends to To@ReportsDomain); Workers are the field workers' accounts
	// (XMPP mode; one session each, at most Concurrency used).
	Room          string
	C2SAddr       string
	Member        Account
	ReportsDomain string
	Workers       []Account
	// The floor: S3 (Endpoint, keys; a bucket of its own is created and
	// emptied), PostgreSQL (DatabaseURL; a table of its own is created and
	// dropped) and a spare XMPP component (ComponentAddr, ComponentDomain,
	// ComponentSecret) that posts into Room.
	S3Endpoint, S3AccessKey, S3SecretKey, S3Bucket string
	S3UseTLS                                       bool
	// S3Encryption is the server-side encryption of the floor's PUT:
	// fieldgate's own s3.encryption ("sse-s3", "sse-c" with S3SSECKey, the
	// 32-byte customer key; "none" or empty: unencrypted), so that the
	// floor does the storage operation the gateway does. Should the server
	// refuse it, the floor stores unencrypted, as the gateway does when
	// s3.require_encryption is off; Result.FloorEncryption says which.
	S3Encryption                                    string
	S3SSECKey                                       []byte
	DatabaseURL                                     string
	ComponentAddr, ComponentDomain, ComponentSecret string
	// AllowHosts are further hosts (besides loopback) that may be targets:
	// the addresses of one's own test hosts. Nothing else is ever sent to.
	AllowHosts []string
	// Timeout bounds each report's wait for its room post. Default 2m.
	Timeout time.Duration
	Loads   []Load
	// Watch are processes (with their children) whose CPU time each
	// result splits by phase, per operation (Linux /proc only).
	Watch []Watched
}

// maxCount and maxDuration bound every load: a bench stops by itself.
const (
	maxCount    = 100_000
	maxDuration = time.Hour
)

// ParseLoad reads a load from "name=12mp-c8,mode=http,photos=DIR|FILE,c=8,rate=0,n=50,duration=5m,target=throughput>=0.25"
// (target: see ParseTarget).
func ParseLoad(spec string) (Load, error) {
	l := Load{Mode: ModeHTTP, Concurrency: 1, Count: 30, Duration: 5 * time.Minute}
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return Load{}, fmt.Errorf("bench: load %q: %q is not key=value", spec, kv)
		}
		var err error
		switch k {
		case "name":
			l.Name = v
		case "mode":
			l.Mode = v
		case "photos":
			l.Photos, err = PhotoFiles(v)
		case "c":
			l.Concurrency, err = strconv.Atoi(v)
		case "rate":
			l.Rate, err = strconv.ParseFloat(v, 64)
		case "n":
			l.Count, err = strconv.Atoi(v)
		case "duration":
			l.Duration, err = time.ParseDuration(v)
		case "target":
			l.Target, err = ParseTarget(v)
		default:
			err = fmt.Errorf("unknown key (name, mode, photos, c, rate, n, duration, target)")
		}
		if err != nil {
			return Load{}, fmt.Errorf("bench: load %q: %s: %w", spec, k, err)
		}
	}
	if l.Name == "" {
		l.Name = fmt.Sprintf("%s-c%d", l.Mode, l.Concurrency)
	}
	return l, l.validate()
}

func (l Load) validate() error {
	switch {
	case l.Mode != ModeHTTP && l.Mode != ModeXMPP:
		return fmt.Errorf("bench: load %s: mode %q: want http or xmpp", l.Name, l.Mode)
	case l.Concurrency < 1 || l.Concurrency > 1000:
		return fmt.Errorf("bench: load %s: concurrency %d outside 1…1000", l.Name, l.Concurrency)
	case l.Rate < 0 || l.Rate > 10_000:
		return fmt.Errorf("bench: load %s: rate %g outside 0…10000/s", l.Name, l.Rate)
	case l.Count < 1 || l.Count > maxCount:
		return fmt.Errorf("bench: load %s: count %d outside 1…%d", l.Name, l.Count, maxCount)
	case l.Duration <= 0 || l.Duration > maxDuration:
		return fmt.Errorf("bench: load %s: duration %v outside (0, %v]", l.Name, l.Duration, maxDuration)
	}
	return nil
}

// PhotoFiles lists the photos in path: the file itself, or the JPEG, PNG,
// WebP and HEIC/HEIF files of a directory (sorted).
func PhotoFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif":
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no photos (.jpg .png .webp .heic) in %s", path)
	}
	return files, nil
}

// Validate checks the configuration and that every target is on loopback
// or an allowed host.
func (c *Config) Validate() error {
	if len(c.Loads) == 0 {
		return fmt.Errorf("bench: no load given")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("bench: --url %q: want http(s)://host:port", c.URL)
	}
	targets := map[string]string{"--url": u.Host, "--xmpp": c.C2SAddr, "--s3": c.S3Endpoint, "--component": c.ComponentAddr}
	if du, err := url.Parse(c.DatabaseURL); err == nil && du.Host != "" {
		targets["--db"] = du.Host
	} else if c.DatabaseURL != "" {
		return fmt.Errorf("bench: --db must be a postgres:// URL with a host")
	}
	for flag, hostport := range targets {
		if hostport == "" {
			return fmt.Errorf("bench: %s is required", flag)
		}
		if err := c.allowed(hostport); err != nil {
			return fmt.Errorf("bench: %s: %w", flag, err)
		}
	}
	switch {
	case c.Token == "":
		return fmt.Errorf("bench: an API token is required (--token or FIELDGATE_BENCH_TOKEN)")
	case c.To == "" || c.Room == "" || c.Member.JID == "":
		return fmt.Errorf("bench: --to, --room and --member are required")
	case c.ComponentDomain == "" || c.S3Bucket == "":
		return fmt.Errorf("bench: --component-domain and --s3-bucket are required for the floor")
	case c.S3Encryption != "" && c.S3Encryption != "none" && c.S3Encryption != "sse-s3" && c.S3Encryption != "sse-c":
		return fmt.Errorf("bench: S3 encryption %q: want sse-s3, sse-c or none (fieldgate's s3.encryption)", c.S3Encryption)
	case c.S3Encryption == "sse-c" && len(c.S3SSECKey) != 32:
		return fmt.Errorf("bench: S3 encryption sse-c needs the 32-byte key fieldgate uses (s3.ssec_key)")
	}
	for _, l := range c.Loads {
		if err := l.validate(); err != nil {
			return err
		}
		if l.Mode == ModeXMPP && (len(c.Workers) == 0 || c.ReportsDomain == "") {
			return fmt.Errorf("bench: load %s: xmpp mode needs --workers and --reports-domain", l.Name)
		}
	}
	return nil
}

// allowed accepts loopback addresses, "localhost" and AllowHosts; it
// never resolves other names, so a name cannot smuggle in another address.
func (c *Config) allowed(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if slices.Contains(c.AllowHosts, host) {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address; the bench sends only to loopback or --allow-host hosts", host)
}

// floorPrefix starts the floor's room messages.
const floorPrefix = "bench-floor "

func randToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// roomArchiveLimit is Prosody's default quota of archived messages per
// room in its file storage (storage_archive_item_limit, 10,000); beyond
// it every 100th message rewrites the room's whole archive
// (docs/xmpp-server.md), which the figures would then measure.
const roomArchiveLimit = 10_000

// pastRoomArchiveLimit returns the first load after which one run has
// sent more messages into one room than roomArchiveLimit allows, with a
// margin for the probes and the team's own messages (every load's floor
// messages go into the run's floor room, every report's post into the
// team room), or "" if none does.
func pastRoomArchiveLimit(loads []Load) string {
	n := 0
	for _, l := range loads {
		n += l.Count
		if n > roomArchiveLimit*9/10 {
			return l.Name
		}
	}
	return ""
}
