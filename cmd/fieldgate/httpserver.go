package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"regexp"
	"sync"
	"time"
)

// newHTTPServer builds the API's http.Server: timeouts, an error log that
// never names a client address, and with http.tls_cert/tls_key set, TLS
// from certReloader (the files are read again when they change).
func newHTTPServer(cfg *Config, h http.Handler, logger *slog.Logger) (*http.Server, error) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// net/http logs e.g. "TLS handshake error from 203.0.113.7:51234":
		// client addresses are personal data and stay out of the logs.
		ErrorLog: log.New(redactAddrs{slog.NewLogLogger(logger.Handler(), slog.LevelWarn).Writer()}, "", 0),
	}
	if cfg.HTTP.TLSCert == "" && cfg.HTTP.TLSKey == "" {
		return srv, nil
	}
	if cfg.HTTP.TLSCert == "" || cfg.HTTP.TLSKey == "" {
		return nil, fmt.Errorf("http: tls_cert and tls_key go together")
	}
	r, err := newCertReloader(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey, logger, time.Now)
	if err != nil {
		return nil, err
	}
	srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
	return srv, nil
}

// validateProxies checks http.trusted_proxies: IP addresses or CIDR ranges.
func validateProxies(list []string) error {
	for _, p := range list {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				return fmt.Errorf("http.trusted_proxies: %q is neither an IP address nor a CIDR range", p)
			}
		}
	}
	return nil
}

var addrRE = regexp.MustCompile(`\[[0-9A-Fa-f:.%]+\](:\d+)?|\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b|\b[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}\b`)

// redactAddrs replaces IP addresses (with ports) in what it writes.
type redactAddrs struct{ w io.Writer }

func (r redactAddrs) Write(p []byte) (int, error) {
	if _, err := r.w.Write(addrRE.ReplaceAll(p, []byte("[client]"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// certCheckInterval is how often the certificate files are looked at.
const certCheckInterval = 10 * time.Second

// certReloader serves a certificate and key pair from files and loads them
// again when either file's modification time changes, so that a renewed
// certificate (certbot, an ACME client, a Kubernetes secret) takes effect
// without a restart. A new pair that does not load is logged and the one in
// force stays.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	mods    [2]time.Time
	checked time.Time
}

func newCertReloader(certFile, keyFile string, logger *slog.Logger, now func() time.Time) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: logger, now: now}
	if err := r.load(); err != nil {
		return nil, err
	}
	r.checked = now()
	return r, nil
}

func (r *certReloader) modTimes() ([2]time.Time, error) {
	var m [2]time.Time
	for i, f := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return m, err
		}
		m[i] = fi.ModTime()
	}
	return m, nil
}

// load reads the pair; the caller holds mu (or is the constructor).
func (r *certReloader) load() error {
	mods, err := r.modTimes()
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	r.cert, r.mods = &c, mods
	return nil
}

// GetCertificate implements tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if now.Sub(r.checked) < certCheckInterval {
		return r.cert, nil
	}
	r.checked = now
	mods, err := r.modTimes()
	if err != nil {
		r.log.Warn("tls certificate files unreadable; keeping the one in force", "err", err)
		return r.cert, nil
	}
	if mods == r.mods {
		return r.cert, nil
	}
	if err := r.load(); err != nil {
		r.log.Error("new tls certificate does not load; keeping the one in force", "err", err)
		r.mods = mods // retry when the files change again
		return r.cert, nil
	}
	r.log.Info("tls certificate reloaded", "file", r.certFile, "not_after", r.cert.Leaf.NotAfter)
	return r.cert, nil
}

// metricsMux serves metrics on every path of the internal listener
// (http.metrics_addr) and, with withPprof, Go's profiler under
// /debug/pprof/ (net/http/pprof: profile?seconds=N, heap, goroutine, …).
func metricsMux(metrics http.Handler, withPprof bool) http.Handler {
	if !withPprof {
		return metrics
	}
	mux := http.NewServeMux()
	mux.Handle("/", metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
