package routing

import (
	"errors"
	"strings"
	"testing"
)

const confirmersRules = `teams:
  a: {room: a@conference.stadt.localhost, policy: zwei}
policies:
  eins:
    levels: [{after: 5m, notify: room}]
  zwei:
    confirmers: 2
    levels: [{after: 5m, notify: room}]
  explizit:
    confirmers: 1
    levels: [{after: 5m, notify: room}]
default: {team: a}
`

// A policy's confirmers default to 1; 2 asks for a second person.
func TestPolicyConfirmers(t *testing.T) {
	rs := mustLoad(t, confirmersRules, "")
	for name, want := range map[string]int{"eins": 1, "zwei": 2, "explizit": 1} {
		if p, ok := rs.Policy(name); !ok || p.Confirmers != want {
			t.Errorf("policy %s: confirmers %d, want %d", name, p.Confirmers, want)
		}
	}
}

// Only 1 or 2 confirmers are allowed; a mistake is reported with its line.
func TestPolicyConfirmersInvalid(t *testing.T) {
	for _, c := range []struct{ value, msg string }{
		{"0", `rules.yaml:7: policy "zwei": confirmers 0: use 1 or 2`},
		{"3", `rules.yaml:7: policy "zwei": confirmers 3: use 1 or 2`},
		{"-1", `rules.yaml:7: policy "zwei": confirmers -1: use 1 or 2`},
		{"zwei", "rules.yaml:7: cannot unmarshal !!str `zwei`"},
	} {
		_, err := Load(writeRules(t, strings.Replace(confirmersRules, "confirmers: 2", "confirmers: "+c.value, 1), ""))
		var verr *Error
		if !errors.As(err, &verr) || !errors.Is(err, ErrInvalid) {
			t.Fatalf("confirmers %s: err = %v, want a validation error", c.value, err)
		}
		if len(verr.Problems) != 1 || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("confirmers %s: got\n%v\nwant one problem %q", c.value, err, c.msg)
		}
	}
}
