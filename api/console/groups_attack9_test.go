package console

import (
	"encoding/json"
	"slices"
	"testing"
)

// The groups claim as identity providers write it: a list (Keycloak with
// group paths, Authentik, Dex, Entra ID), one string, or an object keyed
// by role (Zitadel's project roles). Before, only the list gave roles, so
// a Zitadel user, which docs/console.md names, was refused.
func TestGroupsClaimShapes(t *testing.T) {
	c := New(Config{OIDC: OIDCConfig{Groups: map[string][]string{"leitstelle": {"dispatcher"}, "tiefbau": {"team:tiefbau"}, "admins": {"admin"}}}},
		nil, nil, nil, nil, nil)
	for _, tc := range []struct {
		claim string
		want  []string
	}{
		{`["/leitstelle", "andere"]`, []string{"dispatcher"}},
		{`["tiefbau", "leitstelle", "tiefbau"]`, []string{"dispatcher", "team:tiefbau"}},
		{`"tiefbau"`, []string{"team:tiefbau"}},
		{`{"tiefbau": {"123": "stadt.example"}, "leitstelle": {"123": "stadt.example"}}`, []string{"dispatcher", "team:tiefbau"}},
		{`{"admins": {}}`, nil},
		{`42`, nil},
	} {
		var v any
		if err := json.Unmarshal([]byte(tc.claim), &v); err != nil {
			t.Fatal(err)
		}
		got := c.groupRoles(v)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("groups claim %s: roles %v, want %v", tc.claim, got, tc.want)
		}
	}
}
