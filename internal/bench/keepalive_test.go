package bench

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// TestKeepAliveTransportReusesConnections: c concurrent simulated field
// workers keep about c connections; net/http's default transport keeps 2
// idle ones and would open new ones all the time (which the server's CPU
// figures would then include: about 300 here). A few more than c may be
// opened on a busy machine: a request dials when no idle connection is
// there yet, and the one being returned meanwhile is kept as well.
func TestKeepAliveTransportReusesConnections(t *testing.T) {
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	const c, each = 16, 20
	cl := &http.Client{Transport: keepAliveTransport()}
	var wg sync.WaitGroup
	errs := make(chan error, c)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				resp, err := cl.Get(srv.URL)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := opened.Load(); n > 2*c {
		t.Fatalf("%d connections opened for %d requests by %d workers; want at most %d", n, c*each, c, 2*c)
	}
}
