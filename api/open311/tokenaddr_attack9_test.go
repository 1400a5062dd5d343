package open311

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/routing"
)

// TestKeyAddressListApplies: an api_key files only where the same token
// may file over the API (dispatch.Token.MayFileTo): a published service
// whose address is not public needs the address in the token's list.
// The check asked for a method Token does not have and never ran, so a
// key for public addresses only, refused by POST /api/v1/reports, filed
// the same report over Open311.
func TestKeyAddressListApplies(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rules.yaml")
	// tiefbau (strassenschaden) only for the town's own accounts.
	rules := strings.Replace(testRules, "allow: [public]", "allow: [stadt.localhost]", 1)
	if err := os.WriteFile(p, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := routing.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	d := &fakeDomain{tokens: map[string]dispatch.Token{
		"public-only": {Name: "citizen-app", Roles: []string{dispatch.RoleReporter}},
		"tiefbau-key": {Name: "crm", Roles: []string{dispatch.RoleReporter}, Addresses: []string{"tiefbau"}},
	}}
	m := &fakeMedia{}
	d.media = m
	h := New(d, m, nil, staticRules{rs}, Config{}, nil)
	r := gin.New()
	h.Register(r)
	f := fixture{h: r, domain: d, media: m}

	for _, format := range []string{"json", "xml"} {
		form := goodForm()
		form.Set("api_key", "public-only")
		assertError(t, f.post(t, "/open311/v2/requests."+format, form), http.StatusForbidden, "strassenschaden")
		if len(d.intakes) != 0 {
			t.Fatalf("%s: a public-only key filed to a restricted service", format)
		}
	}
	form := goodForm()
	form.Set("api_key", "tiefbau-key")
	if w := f.post(t, "/open311/v2/requests.json", form); w.Code != http.StatusCreated {
		t.Errorf("a key listing the address: %d %s", w.Code, w.Body)
	}
	form = url311Gruen()
	form.Set("api_key", "public-only")
	if w := f.post(t, "/open311/v2/requests.json", form); w.Code != http.StatusCreated {
		t.Errorf("a public-only key, public service: %d %s", w.Code, w.Body)
	}
}

// url311Gruen is a request to the public service "gruen".
func url311Gruen() map[string][]string {
	return map[string][]string{"service_code": {"gruen"}, "lat": {"51.0251"}, "long": {"7.5919"}, "description": {"Ast abgebrochen"}}
}
