package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// nginxServerName is the server_name of deploy/nginx/fieldgate.conf.
const nginxServerName = "meldungen.stadt.example"

// forgedClientAddr is what a client claims in X-Forwarded-For (RFC 5737
// documentation range); it must end up nowhere.
const forgedClientAddr = "203.0.113.77"

// TestNginxExample runs deploy/nginx/fieldgate.conf, as docs/operations.md
// step 7 installs it, in a real nginx in front of a running `fieldgate
// serve`: HTTPS with HTTP/2, /readyz, an authenticated report with a
// phone-sized photo, /metrics blocked, the ACME challenge directory on
// port 80 and the redirect to HTTPS, and no client address in nginx's or
// fieldgate's logs or in the database.
func TestNginxExample(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	nginxBin, err := exec.LookPath("nginx")
	if err != nil {
		nginxBin = "/usr/sbin/nginx" // Debian installs it outside a user's PATH
		if _, err := os.Stat(nginxBin); err != nil {
			testsvc.Required(t, "nginx (apt-get install nginx-light; deploy/dev/services installs it)")
		}
	}

	logs := &lockedBuffer{}
	// A phone photo of 8 MB must pass both nginx and fieldgate.
	s := newStack(t, map[string]string{
		"FIELDGATE_HTTP_TRUSTED_PROXIES": "127.0.0.1",
		"FIELDGATE_HTTP_MAX_BODY_BYTES":  "20000000",
	})
	s.logs = logs
	s.serve()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--name", "nginx-app", "--role", "reporter", "--address", "*"}, s.getenv, &out, testWriter{t}); err != nil {
		t.Fatalf("token create: %v", err)
	}
	s.token = strings.TrimSpace(out.String())
	s.waitReady()

	dir := t.TempDir()
	httpPort, httpsPort := freePort(t), freePort(t)
	ngx := startNginx(t, nginxBin, dir, strings.TrimPrefix(s.base, "http://"), httpPort, httpsPort)

	client := nginxClient(t, filepath.Join(dir, "cert.pem"), httpsPort, httpPort)
	base := "https://" + nginxServerName

	// /readyz answers through the proxy, over HTTP/2.
	resp, err := client.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz through nginx: %v (%s)", err, ngx.errors())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("GET /readyz through nginx: %s %s, want 200 over HTTP/2", resp.Proto, resp.Status)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no Strict-Transport-Security header")
	}

	// /metrics is for the monitoring network only.
	resp, err = client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET /metrics through nginx: %s, want 403", resp.Status)
	}

	// The event stream (its own location: unbuffered, long reads) is open
	// before the report, and must carry its incident through the proxy.
	evReq, _ := http.NewRequest(http.MethodGet, base+"/api/v1/events", nil)
	evReq.Header.Set("Authorization", "Bearer "+s.newToken("leitstelle", "dispatcher"))
	evCtx, evCancel := context.WithCancel(context.Background())
	defer evCancel()
	stream, err := client.Transport.RoundTrip(evReq.WithContext(evCtx))
	if err != nil {
		t.Fatalf("GET /api/v1/events through nginx: %v", err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK || stream.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /api/v1/events through nginx: %s %s", stream.Status, stream.Header.Get("Content-Type"))
	}
	incidentEvent := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stream.Body)
		for lines.Scan() {
			if lines.Text() == "event: incident" {
				incidentEvent <- lines.Text()
				return
			}
		}
	}()

	// An authenticated report with an 8 MB photo, with a forged client address.
	photo, err := os.ReadFile(testsvc.Photo(t, "gps_ne.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	phone := filepath.Join(dir, "phone.jpg")
	if err := os.WriteFile(phone, append(photo, bytes.Repeat([]byte{0}, 8_000_000-len(photo))...), 0o644); err != nil {
		t.Fatal(err)
	}
	body, ct := form(t, map[string]string{"to": "tiefbau", "text": "Schlagloch, über nginx"}, map[string]string{"photo": phone})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/reports", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("X-Forwarded-For", forgedClientAddr)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatalf("POST report through nginx: %v (%s)", err, ngx.errors())
	}
	receipt, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !bytes.Contains(receipt, []byte(`"case_number"`)) {
		t.Fatalf("POST report through nginx: %s %s (%s)", resp.Status, receipt, ngx.errors())
	}

	select {
	case <-incidentEvent:
	case <-time.After(60 * time.Second):
		t.Error("no incident event through nginx within 60s of the report")
	}

	// Without a token the proxy passes fieldgate's refusal on.
	body, ct = form(t, map[string]string{"to": "tiefbau", "text": "x"}, nil)
	req, _ = http.NewRequest(http.MethodPost, base+"/api/v1/reports", body)
	req.Header.Set("Content-Type", ct)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST report without token through nginx: %s, want 401", resp.Status)
	}

	// Port 80: the ACME challenge from its directory, everything else to HTTPS.
	plain := &http.Client{
		Transport:     client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err = plain.Get("http://" + nginxServerName + "/.well-known/acme-challenge/tok-123")
	if err != nil {
		t.Fatal(err)
	}
	challenge, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(challenge) != ngx.challenge {
		t.Errorf("ACME challenge: %s %q, want 200 %q", resp.Status, challenge, ngx.challenge)
	}
	resp, err = plain.Get("http://" + nginxServerName + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != base+"/readyz" {
		t.Errorf("port 80: %s → %q, want 301 → %s/readyz", resp.Status, resp.Header.Get("Location"), base)
	}

	measureNginx(t, client, base, s, phone)

	// No client address anywhere: nginx's logs, fieldgate's log, the database.
	access := ngx.read("fieldgate.access.log")
	if !strings.Contains(access, `"POST /api/v1/reports" 202`) {
		t.Errorf("access log has no line for the report:\n%s", access)
	}
	for name, text := range map[string]string{"nginx access log": access, "nginx error log": ngx.read("fieldgate.error.log")} {
		if strings.Contains(text, "127.0.0.1") || strings.Contains(text, forgedClientAddr) {
			t.Errorf("%s names a client address:\n%s", name, text)
		}
	}
	if strings.Contains(logs.String(), forgedClientAddr) {
		t.Errorf("fieldgate logged the forwarded client address:\n%s", logs.String())
	}
	if tables := s.tablesContaining(forgedClientAddr); len(tables) > 0 {
		t.Errorf("the forwarded client address is stored in %v", tables)
	}
}

// nginxRun is a running nginx on a rendered example.
type nginxRun struct {
	logDir    string
	challenge string
}

func (n nginxRun) read(name string) string {
	b, _ := os.ReadFile(filepath.Join(n.logDir, name))
	return string(b)
}

func (n nginxRun) errors() string {
	return n.read("error.log") + n.read("fieldgate.error.log")
}

// startNginx renders deploy/nginx/fieldgate.conf into dir with test
// values (every replaced line must occur exactly once, so the example
// cannot drift from what is tested), checks it with `nginx -t` and runs
// nginx in the foreground until the test ends.
func startNginx(t *testing.T, bin, dir, upstream string, httpPort, httpsPort int) nginxRun {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx", "fieldgate.conf"))
	if err != nil {
		t.Fatal(err)
	}
	logDir, acme := filepath.Join(dir, "logs"), filepath.Join(dir, "acme")
	for _, d := range []string{logDir, filepath.Join(acme, ".well-known", "acme-challenge"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeSelfSigned(t, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	conf := string(src)
	for _, r := range [][2]string{
		{"server 127.0.0.1:8080;", "server " + upstream + ";"},
		{"    listen 80;\n", fmt.Sprintf("    listen 127.0.0.1:%d;\n", httpPort)},
		{"    listen [::]:80;\n", ""},
		{"    listen 443 ssl http2;\n", fmt.Sprintf("    listen 127.0.0.1:%d ssl http2;\n", httpsPort)},
		{"    listen [::]:443 ssl http2;\n", ""},
		{"root /var/www/html;", "root " + acme + ";"},
		{"/etc/letsencrypt/live/" + nginxServerName + "/fullchain.pem", filepath.Join(dir, "cert.pem")},
		{"/etc/letsencrypt/live/" + nginxServerName + "/privkey.pem", filepath.Join(dir, "key.pem")},
		{"/var/log/nginx/fieldgate.access.log", filepath.Join(logDir, "fieldgate.access.log")},
		{"/var/log/nginx/fieldgate.error.log", filepath.Join(logDir, "fieldgate.error.log")},
	} {
		if n := strings.Count(conf, r[0]); n != 1 {
			t.Fatalf("deploy/nginx/fieldgate.conf: %q occurs %d times, want once (update the example and this test together)", r[0], n)
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	site := filepath.Join(dir, "fieldgate.conf")
	mustWrite(t, site, conf)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers read the temporary directory
	}
	tmp := filepath.Join(dir, "tmp")
	top := fmt.Sprintf(`%spid %s/nginx.pid;
error_log %s/error.log;
events { worker_connections 64; }
http {
    client_body_temp_path %s/body;
    proxy_temp_path %s/proxy;
    fastcgi_temp_path %s/fastcgi;
    uwsgi_temp_path %s/uwsgi;
    scgi_temp_path %s/scgi;
    access_log off;
    include %s;
}
`, user, dir, logDir, tmp, tmp, tmp, tmp, tmp, site)
	mainConf := filepath.Join(dir, "nginx.conf")
	mustWrite(t, mainConf, top)
	challenge := "tok-123.acme-key-authorization"
	mustWrite(t, filepath.Join(acme, ".well-known", "acme-challenge", "tok-123"), challenge)

	args := []string{"-p", dir, "-e", filepath.Join(logDir, "error.log"), "-c", mainConf, "-g", "daemon off; worker_processes 1;"}
	if out, err := exec.Command(bin, append([]string{"-t"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // SIGINT: fast shutdown
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", httpsPort))
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("nginx exited: %s", nginxRun{logDir: logDir}.errors())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not listen on %d after 10s", httpsPort)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nginxRun{logDir: logDir, challenge: challenge}
}

// nginxClient trusts only the test certificate and sends the server
// name's ports 443 and 80 to nginx's test ports on 127.0.0.1.
func nginxClient(t *testing.T, certFile string, httpsPort, httpPort int) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	var d net.Dialer
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			switch addr {
			case nginxServerName + ":443":
				addr = fmt.Sprintf("127.0.0.1:%d", httpsPort)
			case nginxServerName + ":80":
				addr = fmt.Sprintf("127.0.0.1:%d", httpPort)
			default:
				return nil, fmt.Errorf("test client: no route to %s", addr)
			}
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// writeSelfSigned writes a P-256 certificate for nginxServerName.
func writeSelfSigned(t *testing.T, certFile, keyFile string) {
	t.Helper()
	certPEM, keyPEM := testsvc.SelfSigned(t, nginxServerName, nginxServerName)
	mustWrite(t, certFile, string(certPEM))
	mustWrite(t, keyFile, string(keyPEM))
}

func mustWrite(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tablesContaining names the stack database's tables with a row whose
// text form contains s.
func (s *stack) tablesContaining(text string) []string {
	s.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.db)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`)
	if err != nil {
		s.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			s.t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) == 0 {
		s.t.Fatal("no tables in the stack database")
	}
	var found []string
	for _, tbl := range tables {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+tbl+" r WHERE r::text LIKE '%' || $1 || '%'", text).Scan(&n); err != nil {
			s.t.Fatalf("%s: %v", tbl, err)
		}
		if n > 0 {
			found = append(found, tbl)
		}
	}
	return found
}

// measureNginx logs what the proxy costs: the median of a few 8 MB photo
// reports and of /healthz requests through nginx against the same
// requests straight to fieldgate (the floor), in the same run. A
// measurement, not an assertion.
func measureNginx(t *testing.T, proxied *http.Client, base string, s *stack, photo string) {
	t.Helper()
	direct := &http.Client{Timeout: 60 * time.Second}
	report := func(c *http.Client, url string) time.Duration {
		body, ct := form(t, map[string]string{"to": "tiefbau", "text": "Messung"}, map[string]string{"photo": photo})
		req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/reports", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+s.token)
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST report to %s: %s", url, resp.Status)
		}
		return time.Since(t0)
	}
	health := func(c *http.Client, url string) time.Duration {
		t0 := time.Now()
		resp, err := c.Get(url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(t0)
	}
	median := func(n int, f func() time.Duration) time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			d[i] = f()
		}
		slices.Sort(d)
		return d[n/2]
	}
	health(proxied, base) // warm both connections
	health(direct, s.base)
	hp, hd := median(21, func() time.Duration { return health(proxied, base) }), median(21, func() time.Duration { return health(direct, s.base) })
	rp, rd := median(3, func() time.Duration { return report(proxied, base) }), median(3, func() time.Duration { return report(direct, s.base) })
	t.Logf("nginx cost: /healthz %v via nginx (HTTPS, HTTP/2) vs %v direct = %.2fx; 8 MB photo report %v vs %v = %.2fx",
		hp, hd, float64(hp)/float64(hd), rp, rd, float64(rp)/float64(rd))
}
