package testsvc

import (
	"fmt"
	"os"
	"testing"
)

// XMPPEnv is how to reach the test XMPP server: Prosody, or ejabberd in
// make test-ejabberd's second pass.
type XMPPEnv struct {
	// Server is which server it is (Prosody or Ejabberd), for the few
	// assertions where the two behave differently by design.
	Server        XMPPServer
	C2S           string // host:port for client connections (STARTTLS offered, not required)
	ComponentAddr string // host:port for XEP-0114 components
	Secret        string // component secret (same for all components)
	HTTP          string // host:port of the server's plain-http listener (HTTP upload)
	Domain        string // users' domain: stadt.localhost
	MUC           string // conference.stadt.localhost
	Upload        string // upload.stadt.localhost (XEP-0363)
	// CertFile is the PEM of the server's self-signed certificate (valid for
	// stadt.localhost, *.stadt.localhost and 127.0.0.1): trust it in a
	// test's tls.Config instead of skipping verification. Empty if unset.
	CertFile string
}

// Account is an XMPP account on the test server.
type Account struct {
	JID      string // bare JID, e.g. tester3@stadt.localhost
	Password string
}

const (
	domain = "stadt.localhost"

	numComponents = 8  // reports1..8.stadt.localhost
	numTestUsers  = 16 // tester1..16@stadt.localhost
)

// XMPPServer names an XMPP server implementation the tests run against.
type XMPPServer string

const (
	Prosody  XMPPServer = "prosody"  // deploy/dev/services (the default)
	Ejabberd XMPPServer = "ejabberd" // deploy/dev/ejabberd (make test-ejabberd)
)

// xmppServer reads FIELDGATE_TEST_XMPP_SERVER (unset: Prosody).
func xmppServer(t testing.TB) XMPPServer {
	switch s := XMPPServer(os.Getenv("FIELDGATE_TEST_XMPP_SERVER")); s {
	case "", Prosody:
		return Prosody
	case Ejabberd:
		return Ejabberd
	default:
		t.Fatalf("testsvc: FIELDGATE_TEST_XMPP_SERVER=%q: want prosody or ejabberd", s)
		return ""
	}
}

// XMPP returns the test XMPP server, or skips/fails the test (see Required).
func XMPP(t testing.TB) XMPPEnv {
	t.Helper()
	v := env(t, "FIELDGATE_TEST_XMPP_C2S", "FIELDGATE_TEST_XMPP_COMPONENT", "FIELDGATE_TEST_XMPP_SECRET", "FIELDGATE_TEST_XMPP_HTTP")
	sharedXMPP(t)
	return XMPPEnv{
		Server:        xmppServer(t),
		C2S:           v[0],
		ComponentAddr: v[1],
		Secret:        v[2],
		HTTP:          v[3],
		Domain:        domain,
		MUC:           "conference." + domain,
		Upload:        "upload." + domain,
		CertFile:      os.Getenv("FIELDGATE_TEST_XMPP_CERT"),
	}
}

// Component leases one of the component names reports1..8.stadt.localhost
// for the rest of the test: the server accepts one connection per component,
// so parallel tests (and packages) must not share one. It blocks up to two
// minutes for a free name. Connect with XMPP(t).ComponentAddr and Secret,
// and close the connection before the test ends.
func Component(t testing.TB) string {
	t.Helper()
	XMPP(t) // skip early without services
	slots := make([]string, numComponents)
	for i := range slots {
		slots[i] = fmt.Sprintf("reports%d.%s", i+1, domain)
	}
	return lease(t, "component", slots)
}

// User leases one of the accounts tester1..16@stadt.localhost (password
// "test") for the rest of the test, so that no other test sees its messages
// or its roster changes. It blocks up to two minutes for a free account.
func User(t testing.TB) Account {
	t.Helper()
	XMPP(t)
	slots := make([]string, numTestUsers)
	for i := range slots {
		slots[i] = fmt.Sprintf("tester%d", i+1)
	}
	return Account{JID: lease(t, "user", slots) + "@" + domain, Password: "test"}
}

// RoomAdmin leases the account raumadmin@stadt.localhost (password
// "test"), the only admin of the test server's room service
// gesperrt.stadt.localhost, where nobody else may create rooms
// (deploy/dev/prosody.cfg.lua.in). It blocks up to two minutes while
// another test holds it.
func RoomAdmin(t testing.TB) Account {
	t.Helper()
	XMPP(t)
	return Account{JID: lease(t, "user", []string{"raumadmin"}) + "@" + domain, Password: "test"}
}

// demoUsers are the demo town's accounts seeded by deploy/dev/services.
var demoUsers = map[string]bool{
	"streife1": true, "streife2": true, // field workers
	"anna": true, "ben": true, // Tiefbau
	"carla":  true, // Jugendamt on-call
	"emil":   true, // Tiefbau Süd
	"frieda": true, // Jugendamt
	"greta":  true, // Ordnungsamt
	"dora":   true, // dispatcher
}

// DemoUser returns a demo account (streife1, streife2, anna, ben, carla,
// dora, emil, frieda, greta) with its dev password "<name>-demo". It is not leased: tests that
// log in with it must not depend on being alone. It panics on an unknown
// name.
func DemoUser(name string) Account {
	if !demoUsers[name] {
		panic("testsvc: unknown demo user " + name)
	}
	return Account{JID: name + "@" + domain, Password: name + "-demo"}
}
