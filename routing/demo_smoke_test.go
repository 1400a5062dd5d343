package routing

import (
	"testing"
	"time"
)

func TestSmokeDemo(t *testing.T) {
	rs, err := Load("../deploy/demo/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := rs.Explain(&Input{Address: "tiefbau", Text: "#Schlagloch", Position: &Point{51.025, 7.59194}, At: time.Now()})
	t.Logf("%+v", d)
	d2 := rs.Decide(&Input{Address: "tiefbau", Text: "#Schlagloch", Position: &Point{51.025, 7.59194}, At: time.Now()})
	t.Logf("%+v", d2)
}
