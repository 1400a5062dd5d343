package testsvc

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestS3Ready(t *testing.T) {
	s3 := S3(t)
	resp, err := http.Get("http://" + s3.Endpoint + "/minio/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("MinIO health: %s", resp.Status)
	}
}

func TestXMPPPorts(t *testing.T) {
	x := XMPP(t)
	for _, addr := range []string{x.C2S, x.ComponentAddr, x.HTTP} {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		c.Close()
	}
	if x.CertFile != "" {
		if _, err := os.Stat(x.CertFile); err != nil {
			t.Errorf("certificate: %v", err)
		}
	}
}

func TestDemoUser(t *testing.T) {
	if got := DemoUser("anna"); got != (Account{JID: "anna@stadt.localhost", Password: "anna-demo"}) {
		t.Errorf("DemoUser(anna) = %+v", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("DemoUser(unknown) did not panic")
		}
	}()
	DemoUser("nobody")
}

// TestLeaseReleased checks that a lease holds the lock file while the test
// runs and frees it when the test ends.
func TestLeaseReleased(t *testing.T) {
	XMPP(t)
	var name string
	t.Run("hold", func(t *testing.T) {
		name = Component(t)
		if !locked(t, "component-"+name) {
			t.Fatalf("lease on %s not held", name)
		}
	})
	if locked(t, "component-"+name) {
		t.Fatalf("lease on %s not released after the test", name)
	}
}

// locked reports whether another holder has the slot's lock.
func locked(t *testing.T, file string) bool {
	f, err := os.Open(filepath.Join(os.Getenv("FIELDGATE_TEST_DIR"), "locks", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// TestLeasesExclusive runs more parallel tests than there are slots: all
// finish (waiting for each other), and no slot is ever held twice.
func TestLeasesExclusive(t *testing.T) {
	XMPP(t)
	for _, kind := range []struct {
		name  string
		n     int
		lease func(testing.TB) string
	}{
		{"component", numComponents + 4, Component},
		{"user", numTestUsers + 4, func(t testing.TB) string { return User(t).JID }},
	} {
		t.Run(kind.name, func(t *testing.T) {
			var mu sync.Mutex
			held := map[string]bool{}
			for i := range kind.n {
				t.Run(fmt.Sprint(i), func(t *testing.T) {
					t.Parallel()
					name := kind.lease(t)
					mu.Lock()
					if held[name] {
						t.Errorf("%s leased twice at once", name)
					}
					held[name] = true
					mu.Unlock()
					time.Sleep(100 * time.Millisecond)
					mu.Lock()
					delete(held, name)
					mu.Unlock()
					// The lock is released by t.Cleanup after this returns,
					// so the slot is free again only after delete.
				})
			}
		})
	}
}

// TestComponentHandshake logs in as a leased component (XEP-0114), which
// checks the component names and the secret Prosody was configured with.
func TestComponentHandshake(t *testing.T) {
	x := XMPP(t)
	name := Component(t)
	c, err := net.DialTimeout("tcp", x.ComponentAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='%s'>", name)
	r := bufio.NewReader(c)
	header, err := r.ReadString('>')
	for err == nil && !strings.Contains(header, "<stream:stream") {
		header, err = r.ReadString('>') // skip the XML declaration
	}
	if err != nil {
		t.Fatalf("stream header: %v", err)
	}
	m := regexp.MustCompile(`id=['"]([^'"]+)['"]`).FindStringSubmatch(header)
	if m == nil {
		t.Fatalf("no stream id in %q", header)
	}
	sum := sha1.Sum([]byte(m[1] + x.Secret))
	fmt.Fprintf(c, "<handshake>%s</handshake>", hex.EncodeToString(sum[:]))
	reply, err := r.ReadString('>')
	if err != nil {
		t.Fatalf("handshake reply: %v", err)
	}
	if !strings.HasPrefix(reply, "<handshake") {
		rest, _ := r.ReadString('\n')
		t.Fatalf("component %s not accepted: %s%s", name, reply, rest)
	}
	fmt.Fprint(c, "</stream:stream>")
}
