package oncall

// Loading calendars from files and https URLs.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"
)

// FetchConfig configures a Fetcher. Zero values take the defaults.
type FetchConfig struct {
	// Timeout bounds one fetch, connection to last byte. Default 30s.
	Timeout time.Duration
	// TLS is the client TLS configuration (tests pass their own roots).
	// Default: the system roots.
	TLS *tls.Config
	// AllowLoopback lets calendars come from 127.0.0.0/8 and ::1 (tests
	// only). Private, link-local and other non-public addresses are always
	// refused.
	AllowLoopback bool
}

// Fetcher fetches calendars over https only, and only from public
// addresses (no SSRF into the town's network): every connection,
// redirects included, is checked after DNS resolution. It uses no proxy.
type Fetcher struct {
	client *http.Client
}

// NewFetcher builds a Fetcher.
func NewFetcher(cfg FetchConfig) *Fetcher {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("calendar fetch: %w", err)
			}
			return checkAddr(ap.Addr().Unmap(), cfg.AllowLoopback)
		},
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       cfg.TLS,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       time.Minute,
		ForceAttemptHTTP2:     true,
	}
	return &Fetcher{client: &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errorf(ErrInvalid, "calendar URL: more than 3 redirects")
			}
			if req.URL.Scheme != "https" {
				return errorf(ErrInvalid, "calendar URL: redirected to a non-https URL")
			}
			return nil
		},
	}}
}

// errPrivate is returned for a connection to a non-public address.
var errPrivate = errors.New("not a public address")

// checkAddr refuses addresses inside the town's or the host's network.
func checkAddr(ip netip.Addr, loopbackOK bool) error {
	switch {
	case ip.IsLoopback() && loopbackOK:
		return nil
	case ip.IsLoopback(), ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(),
		ip.IsInterfaceLocalMulticast(), ip.IsMulticast(), ip.IsUnspecified(), !ip.IsGlobalUnicast():
		return fmt.Errorf("calendar fetch: %s is %w", ip, errPrivate)
	case netip.MustParsePrefix("100.64.0.0/10").Contains(ip): // carrier-grade NAT
		return fmt.Errorf("calendar fetch: %s is %w", ip, errPrivate)
	}
	return nil
}

// LoadCalendar reads a calendar from a file path or an https:// (or
// webcal://, fetched as https) URL and parses it with ParseCalendar.
// Other URL schemes are refused (ErrInvalid). f nil means a default
// Fetcher. The response must be 200 and at most MaxCalendarSize bytes.
// Errors never contain the URL's query (calendar URLs often carry a
// secret token).
func LoadCalendar(ctx context.Context, src string, opt Options, f *Fetcher) (*Calendar, error) {
	lower := strings.ToLower(src)
	if rest, ok := strings.CutPrefix(lower, "webcal://"); ok {
		src, lower = "https://"+src[len("webcal://"):], "https://"+rest
	}
	switch {
	case strings.HasPrefix(lower, "https://"):
		if f == nil {
			f = NewFetcher(FetchConfig{})
		}
		return f.load(ctx, src, opt)
	case strings.Contains(src, "://"), strings.HasPrefix(lower, "http:"), strings.HasPrefix(lower, "file:"):
		return nil, errorf(ErrInvalid, "calendar %q: only a file path or an https:// URL can be imported", redact(src))
	}
	file, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, errorf(ErrInvalid, "calendar %s: not a regular file", src)
	}
	cal, err := ParseCalendar(file, opt)
	if err != nil {
		return nil, fmt.Errorf("calendar %s: %w", src, err)
	}
	return cal, nil
}

func (f *Fetcher) load(ctx context.Context, url string, opt Options) (*Calendar, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, errorf(ErrInvalid, "calendar URL %s: malformed", redact(url))
	}
	req.Header.Set("Accept", "text/calendar")
	shown := redact(url)
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, errPrivate) || errors.Is(err, ErrInvalid) {
			return nil, errorf(ErrInvalid, "fetch calendar %s: %v", shown, errors.Unwrap(err))
		}
		return nil, fmt.Errorf("fetch calendar %s: %w (%v)", shown, ErrUnavailable, stripURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch calendar %s: %s: %w", shown, resp.Status, ErrUnavailable)
	}
	if resp.ContentLength > MaxCalendarSize {
		return nil, errorf(ErrInvalid, "calendar %s: larger than %d bytes; export only the shift calendar, or a shorter period", shown, MaxCalendarSize)
	}
	cal, err := ParseCalendar(resp.Body, opt)
	if err != nil {
		return nil, fmt.Errorf("calendar %s: %w", shown, err)
	}
	return cal, nil
}

// redact drops a URL's query, fragment and user info.
func redact(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i] + "?…"
	}
	if s, rest, ok := strings.Cut(u, "://"); ok {
		if at := strings.IndexByte(rest, '@'); at >= 0 && at < strings.IndexByte(rest+"/", '/') {
			rest = rest[at+1:]
		}
		u = s + "://" + rest
	}
	return u
}

// stripURL is a client error without the *url.Error wrapper that repeats
// the full URL.
func stripURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}
