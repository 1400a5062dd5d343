package gateway

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FetchConfig configures the attachment fetcher. The zero value refuses
// every URL: nothing is fetched unless its host is allow-listed.
type FetchConfig struct {
	// Hosts is the allow-list: "host" or "host:port" (https, default port
	// 443) for the HTTP Upload services of trusted domains. An entry
	// prefixed "http://" ("http://127.0.0.1:5280") allows plain http for
	// exactly that host:port; it must name a loopback host (dev only).
	Hosts []string
	// InternalHosts are upload services on the operator's own private
	// network, each exactly "host:port" (a compose or Kubernetes service
	// name such as "prosody:5280"): fetched over plain http, and the only
	// entries whose names may resolve to private (RFC 1918, RFC 4193) or
	// loopback addresses. Link-local (cloud metadata) and reserved ranges
	// stay refused, and no other host or port is opened up. Empty by
	// default; never name a host that users can point elsewhere.
	InternalHosts []string
	// MaxBytes caps one attachment. Default 100 MiB.
	MaxBytes int64
	// Timeout bounds the whole download, redirects and body included.
	// Default 2m.
	Timeout time.Duration
	// ConnectTimeout bounds TCP connect and TLS handshake. Default 10s.
	ConnectTimeout time.Duration
	// Logger gets refusals; URLs are logged as scheme://host/path only.
	// Default slog.Default().
	Logger *slog.Logger
}

var (
	// ErrURLNotAllowed means a URL (or a redirect target, or the address
	// its host resolved to) is not one fieldgate fetches; keep it as text.
	ErrURLNotAllowed = errors.New("gateway: attachment URL not allowed")
	// ErrAttachmentTooLarge means the attachment exceeds FetchConfig.MaxBytes.
	ErrAttachmentTooLarge = errors.New("gateway: attachment too large")
)

const (
	fetchMaxRedirects = 3
	fetchMaxURLLen    = 4096
	fetchMaxURLs      = 10
)

// Fetcher downloads attachments from allow-listed hosts only. It is safe
// for concurrent use.
type Fetcher struct {
	cfg    FetchConfig
	log    *slog.Logger
	client *http.Client
	// allowed holds "scheme://host:port" for every allow-list entry.
	allowed map[string]bool
	// dialable maps every allow-listed "host:port" to whether it is a
	// plain-http dev entry (and so may connect to loopback).
	dialable map[string]bool
	// internal holds the "host:port" of every InternalHosts entry.
	internal map[string]bool
	// checkAddr vets each address the dialer is about to connect to; tests
	// swap it to reach TLS test servers on loopback.
	checkAddr func(ip netip.Addr, loopbackOK bool) error
}

// NewFetcher validates cfg, fills defaults and builds the HTTP client: no
// proxy, no cookies, TLS verification on, redirects only within the
// allow-list, and a dialer that refuses non-public addresses.
func NewFetcher(cfg FetchConfig) (*Fetcher, error) {
	if cfg.MaxBytes < 0 || cfg.Timeout < 0 || cfg.ConnectTimeout < 0 {
		return nil, errors.New("gateway: fetch limits must not be negative")
	}
	cfg.MaxBytes = cmp.Or(cfg.MaxBytes, 100<<20)
	cfg.Timeout = cmp.Or(cfg.Timeout, 2*time.Minute)
	cfg.ConnectTimeout = cmp.Or(cfg.ConnectTimeout, 10*time.Second)
	f := &Fetcher{
		cfg:       cfg,
		log:       cmp.Or(cfg.Logger, slog.Default()).With("component", "fetch"),
		allowed:   map[string]bool{},
		dialable:  map[string]bool{},
		internal:  map[string]bool{},
		checkAddr: checkDialAddr,
	}
	for _, e := range cfg.Hosts {
		scheme, hostport, err := parseAllowEntry(e)
		if err != nil {
			return nil, err
		}
		f.allowed[scheme+"://"+hostport] = true
		f.dialable[hostport] = f.dialable[hostport] || scheme == "http"
	}
	for _, e := range cfg.InternalHosts {
		hostport, err := parseInternalEntry(e)
		if err != nil {
			return nil, err
		}
		f.allowed["http://"+hostport] = true
		f.dialable[hostport] = true
		f.internal[hostport] = true
	}
	tr := &http.Transport{
		Proxy:                  nil, // never HTTP(S)_PROXY from the environment
		DialContext:            f.dial,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    cfg.ConnectTimeout,
		DisableCompression:     true, // raw bytes; no gzip expansion past the cap
		MaxResponseHeaderBytes: 64 << 10,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConnsPerHost:    2,
	}
	f.client = &http.Client{
		Transport:     tr,
		CheckRedirect: f.checkRedirect,
		Jar:           nil, // no cookies
	}
	return f, nil
}

// parseAllowEntry turns an allow-list entry into its scheme and canonical
// host:port.
func parseAllowEntry(entry string) (scheme, hostport string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("gateway: fetch allow-list entry %q: %s", entry, why)
	}
	rest := strings.TrimSpace(entry)
	scheme = "https"
	switch l := strings.ToLower(rest); {
	case strings.HasPrefix(l, "http://"):
		scheme, rest = "http", rest[len("http://"):]
	case strings.HasPrefix(l, "https://"):
		rest = rest[len("https://"):]
	case strings.Contains(l, "://"):
		return bad("only http:// and https:// entries")
	}
	if rest == "" || strings.ContainsAny(rest, "/?#@\\%") {
		return bad("want host or host:port")
	}
	host, port := rest, ""
	if len(rest) > 2 && rest[0] == '[' && rest[len(rest)-1] == ']' {
		host = rest[1 : len(rest)-1] // "[::1]"
	} else if _, err := netip.ParseAddr(rest); err != nil && strings.Contains(rest, ":") {
		if host, port, err = net.SplitHostPort(rest); err != nil {
			return bad(err.Error())
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad("bad port")
		}
		port = strconv.Itoa(n)
	}
	host, err = canonicalHost(host)
	if err != nil {
		return bad(err.Error())
	}
	if port == "" {
		port = defaultPort(scheme)
	}
	if scheme == "http" && !isLoopbackHost(host) {
		return bad("plain http only for loopback dev entries")
	}
	return scheme, net.JoinHostPort(host, port), nil
}

// parseInternalEntry checks an InternalHosts entry, "host:port" (an
// "http://" prefix is accepted), and returns its canonical host:port.
func parseInternalEntry(entry string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("gateway: fetch internal upload host %q: %s", entry, why)
	}
	rest := strings.TrimSpace(entry)
	if l := strings.ToLower(rest); strings.HasPrefix(l, "http://") {
		rest = rest[len("http://"):]
	} else if strings.Contains(l, "://") {
		return bad("internal upload hosts are fetched over plain http: give host:port")
	}
	if rest == "" || strings.ContainsAny(rest, "/?#@\\%*") {
		return bad("want host:port")
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return bad("want host:port with an explicit port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad("bad port")
	}
	if host, err = canonicalHost(host); err != nil {
		return bad(err.Error())
	}
	return net.JoinHostPort(host, port), nil
}

func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// canonicalHost lowercases a DNS name and checks it is plain ASCII LDH
// (IDN only as punycode), or returns an IP literal in canonical form.
// Zones, trailing dots and anything else are refused.
func canonicalHost(host string) (string, error) {
	if host == "" {
		return "", errors.New("empty host")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", errors.New("IP zone")
		}
		return a.String(), nil
	}
	if len(host) > 253 {
		return "", errors.New("host name too long")
	}
	host = strings.ToLower(host)
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", errors.New("bad host name")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", errors.New("bad host name")
			}
		}
	}
	return host, nil
}

// Allowed reports, without I/O, whether rawURL may be fetched: http(s)
// only, host and port on the allow-list (plain http only for dev entries),
// no userinfo, no fragment, no characters parsers disagree about.
func (f *Fetcher) Allowed(rawURL string) error {
	_, err := f.check(rawURL)
	return err
}

// check is Allowed returning the parsed URL with its host lowercased.
func (f *Fetcher) check(rawURL string) (*url.URL, error) {
	refuse := func(why, shown string) error {
		return fmt.Errorf("%w: %s: %s", ErrURLNotAllowed, why, shown)
	}
	if rawURL == "" || len(rawURL) > fetchMaxURLLen {
		return nil, refuse("empty or too long", "(URL not shown)")
	}
	for i := 0; i < len(rawURL); i++ {
		if c := rawURL[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return nil, refuse("space, control character or backslash", "(URL not shown)")
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, refuse("unparsable", "(URL not shown)")
	}
	shown := fetchLogURL(u)
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, refuse("scheme not http(s)", u.Scheme+":")
	case u.Opaque != "" || u.Host == "":
		return nil, refuse("no host", shown)
	case u.User != nil:
		return nil, refuse("userinfo", shown)
	case u.Fragment != "" || strings.Contains(rawURL, "#"):
		return nil, refuse("fragment", shown)
	}
	host, err := canonicalHost(u.Hostname())
	if err != nil {
		return nil, refuse("host: "+err.Error(), shown)
	}
	port := cmp.Or(u.Port(), defaultPort(u.Scheme))
	if !f.allowed[u.Scheme+"://"+net.JoinHostPort(host, port)] {
		return nil, refuse("host not on the allow-list", shown)
	}
	n := *u
	n.Host = strings.ToLower(u.Host)
	return &n, nil
}

// fetchLogURL shows scheme://host only: the path of an HTTP-upload URL is
// the credential to the file (Prosody's http_file_share), the query can
// carry upload tokens, userinfo credentials, the fragment a key.
func fetchLogURL(u *url.URL) string {
	return u.Scheme + "://" + u.Host + "/…"
}

// checkRedirect follows at most fetchMaxRedirects redirects, each to an
// allow-listed URL.
func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > fetchMaxRedirects {
		return fmt.Errorf("gateway: more than %d redirects", fetchMaxRedirects)
	}
	if _, err := f.check(req.URL.String()); err != nil {
		f.log.Warn("attachment redirect refused", "from", fetchLogURL(via[len(via)-1].URL), "err", err)
		return fmt.Errorf("redirect: %w", err)
	}
	return nil
}

// dial connects only to allow-listed host:port pairs, and its Control hook
// vets every resolved address right before connect, so neither a redirect
// nor DNS rebinding reaches an internal address.
func (f *Fetcher) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: dial %q: %w", ErrURLNotAllowed, addr, err)
	}
	if host, err = canonicalHost(host); err != nil {
		return nil, fmt.Errorf("%w: dial %q: %w", ErrURLNotAllowed, addr, err)
	}
	hostport := net.JoinHostPort(host, port)
	loopbackOK, ok := f.dialable[hostport]
	if !ok {
		return nil, fmt.Errorf("%w: dial %s: not on the allow-list", ErrURLNotAllowed, addr)
	}
	d := &net.Dialer{
		Timeout: f.cfg.ConnectTimeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			if network != "tcp4" && network != "tcp6" {
				return fmt.Errorf("%w: network %s", ErrURLNotAllowed, network)
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: address %q: %w", ErrURLNotAllowed, address, err)
			}
			return f.vetAddr(hostport, ap.Addr(), loopbackOK)
		},
	}
	return d.DialContext(ctx, network, addr)
}

// vetAddr decides whether the dialer may connect to ip for the
// allow-listed hostport: an internal upload host may reach private and
// loopback addresses, everything else goes through checkAddr.
func (f *Fetcher) vetAddr(hostport string, ip netip.Addr, loopbackOK bool) error {
	if a := ip.Unmap(); f.internal[hostport] && (a.IsPrivate() || a.IsLoopback()) {
		return nil
	}
	return f.checkAddr(ip, loopbackOK)
}

// blockedPrefixes are never connected to, besides what netip classifies
// as private, loopback, link-local, multicast or unspecified: ranges that
// are reserved, shared (CGNAT), documentation, or that embed an IPv4
// address a gateway would translate (NAT64, 6to4, Teredo, IPv4-compatible).
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("fec0::/10"),
}

// checkDialAddr refuses every address that is not public unicast; loopback
// passes only when loopbackOK (a plain-http dev entry for this host:port).
func checkDialAddr(ip netip.Addr, loopbackOK bool) error {
	ip = ip.Unmap()
	refuse := func(kind string) error {
		return fmt.Errorf("%w: address %s is %s", ErrURLNotAllowed, ip, kind)
	}
	switch {
	case !ip.IsValid():
		return refuse("invalid")
	case ip.IsLoopback():
		if loopbackOK {
			return nil
		}
		return refuse("loopback")
	case ip.IsUnspecified():
		return refuse("unspecified")
	case ip.IsLinkLocalUnicast():
		return refuse("link-local")
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return refuse("multicast")
	case ip.IsPrivate():
		return refuse("private")
	case ip.Is4() && ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return refuse("broadcast")
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return refuse("reserved (" + p.String() + ")")
		}
	}
	return nil
}

// Fetch downloads rawURL if Allowed permits it and returns the body as a
// stream: it is never buffered whole. A Content-Length over MaxBytes fails
// before reading; reading past MaxBytes fails with ErrAttachmentTooLarge.
// The whole download, body included, is bounded by Timeout; the caller
// must Close the stream. Errors never contain the URL's query.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (io.ReadCloser, error) {
	u, err := f.check(rawURL)
	if err != nil {
		f.log.Info("attachment URL refused", "err", err)
		return nil, err
	}
	shown := fetchLogURL(u)
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("gateway: fetch %s: %w", shown, err)
	}
	req.Header.Set("User-Agent", "fieldgate")
	resp, err := f.client.Do(req)
	if err != nil {
		cancel()
		// *url.Error would repeat the full URL, query included.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("gateway: fetch %s: %w", shown, err)
	}
	fail := func(err error) (io.ReadCloser, error) {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("gateway: fetch %s: %w", shown, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("status %d", resp.StatusCode))
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return fail(fmt.Errorf("%w: Content-Length %d > %d bytes", ErrAttachmentTooLarge, resp.ContentLength, f.cfg.MaxBytes))
	}
	return &cappedBody{
		rc:        resp.Body,
		ctx:       ctx,
		cancel:    cancel,
		max:       f.cfg.MaxBytes,
		remaining: f.cfg.MaxBytes,
		shown:     shown,
	}, nil
}

// cappedBody streams a response body and fails once it exceeds max bytes,
// reading at most one byte past the cap.
type cappedBody struct {
	rc        io.ReadCloser
	ctx       context.Context
	cancel    context.CancelFunc
	max       int64
	remaining int64
	shown     string
	err       error // sticky
}

var _ io.ReadCloser = (*cappedBody)(nil)

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.remaining+1 {
		p = p[:b.remaining+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.remaining {
		n, b.remaining = int(b.remaining), 0
		b.err = fmt.Errorf("gateway: fetch %s: %w: more than %d bytes", b.shown, ErrAttachmentTooLarge, b.max)
		return n, b.err
	}
	b.remaining -= int64(n)
	if err != nil && err != io.EOF {
		if cerr := b.ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		b.err = fmt.Errorf("gateway: fetch %s: %w", b.shown, err)
		return n, b.err
	}
	return n, err
}

// Close closes the connection without draining it and ends the download's
// time-out.
func (b *cappedBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

// bodyURLRE finds http(s) URLs that start the text, follow white space or
// an opening bracket or quote; "aesgcm://" (OMEMO media sharing) and URLs
// glued into other schemes never match.
var bodyURLRE = regexp.MustCompile(`(?i)(?:^|[\s<(\["'])(https?://[^\s<>"']+)`)

// ExtractURLs returns the http(s) URLs of a message: OOB URLs first, then
// those in the body, deduplicated, at most 10. Other schemes (aesgcm://
// for OMEMO media) are ignored. Whether a URL may be fetched is Allowed's
// decision, not this one's.
func ExtractURLs(body string, oob []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if len(out) >= fetchMaxURLs || s == "" || len(s) > fetchMaxURLLen || seen[s] {
			return
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return
		}
		seen[s] = true
		out = append(out, s)
	}
	for _, s := range oob {
		s = strings.TrimSpace(s)
		if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' }) {
			continue
		}
		add(s)
	}
	for _, m := range bodyURLRE.FindAllStringSubmatch(body, -1) {
		add(trimURLTail(m[1]))
	}
	return out
}

// trimURLTail drops sentence punctuation after a URL in prose, and a
// closing bracket that has no opening one inside the URL.
func trimURLTail(s string) string {
	for s != "" {
		c := s[len(s)-1]
		switch {
		case strings.IndexByte(".,;:!?", c) >= 0:
			s = s[:len(s)-1]
		case c == ')' && strings.Count(s, "(") < strings.Count(s, ")"),
			c == ']' && strings.Count(s, "[") < strings.Count(s, "]"):
			s = s[:len(s)-1]
		default:
			return s
		}
	}
	return s
}
