package routing

import "testing"

// The commented reference in deploy/ stays valid.
func TestExampleFileLoads(t *testing.T) {
	rs, err := Load("../deploy/rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	at := local("2026-11-24T10:00") // Tuesday
	for _, c := range []struct {
		in   Input
		rule string
	}{
		{Input{Address: "info", Text: "Gasgeruch im Keller", At: at}, "gasgeruch"},
		{Input{Address: "tiefbau", Position: pos(51.01, 7.60), At: at}, "tiefbau-sued"},
		{Input{Address: "tiefbau", Position: pos(50.9925, 7.605), At: at}, "tiefbau-hafen-nah"}, // ~170 m south of the exclave
		{Input{Address: "tiefbau", Sender: "streife1@stadt.localhost", At: local("2026-11-24T22:00")}, "tiefbau-nachts"},
		{Input{Address: "tiefbau", Sender: "streife1@stadt.localhost", At: at}, "address:tiefbau"},
		{Input{Address: "info", Text: "Straße kaputt", At: local("2026-12-25T21:00")}, "default"},
		{Input{Address: "info", Text: "Straße kaputt", At: local("2026-12-25T19:00")}, "info-strasse"},
	} {
		if d := rs.Decide(&c.in); d.Rule != c.rule {
			t.Errorf("%+v: rule %q, want %q", c.in, d.Rule, c.rule)
		}
	}
	p, _ := rs.Policy("urgent")
	if l := p.Levels[1]; l.Repeat != 2 || l.RepeatEvery.Minutes() != 10 || len(l.Targets) != 2 || l.Targets[1] != (Target{Kind: "person", Ref: "dora@stadt.localhost"}) {
		t.Errorf("urgent level 2: %+v", l)
	}
	s, _ := rs.Schedule("bereitschaft")
	if len(s.Overrides) != 1 || s.Overrides[0].Person != "dave@stadt.localhost" || !s.Overrides[0].From.Equal(local("2026-12-24T08:00")) {
		t.Errorf("schedule: %+v", s)
	}
}
