package api

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestXMPPCollectorExportsEveryState(t *testing.T) {
	state := "standby"
	c := newXMPPCollector(func() string { return state })
	want := func(connected, standby, disconnected int) string {
		return strings.NewReplacer("C", itoa(connected), "S", itoa(standby), "D", itoa(disconnected)).Replace(`
# HELP fieldgate_xmpp_connection_state XMPP component connection of this replica: 1 for the current state (connected, standby, disconnected), 0 for the others.
# TYPE fieldgate_xmpp_connection_state gauge
fieldgate_xmpp_connection_state{state="connected"} C
fieldgate_xmpp_connection_state{state="disconnected"} D
fieldgate_xmpp_connection_state{state="standby"} S
`)
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want(0, 1, 0))); err != nil {
		t.Error(err)
	}
	state = "connected"
	if err := testutil.CollectAndCompare(c, strings.NewReader(want(1, 0, 0))); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
