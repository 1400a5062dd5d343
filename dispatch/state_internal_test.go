package dispatch

import "testing"

func TestTransitions(t *testing.T) {
	allowed := []struct{ from, to State }{
		{StateReceived, StateNeedsLocation}, {StateReceived, StateRouted}, {StateReceived, StateMerged},
		{StateNeedsLocation, StateRouted}, {StateRouted, StateAcknowledged}, {StateRouted, StateRouted},
		{StateEscalated, StateEscalated}, {StateAcknowledged, StateResolved}, {StateAcknowledged, StateRouted},
		{StateMerged, StateReceived}, {StateEscalated, StateRejected},
	}
	for _, c := range allowed {
		if !CanTransition(c.from, c.to) {
			t.Errorf("%s → %s refused", c.from, c.to)
		}
	}
	refused := []struct{ from, to State }{
		{StateResolved, StateRouted}, {StateRejected, StateAcknowledged}, {StateMerged, StateRouted},
		{StateAcknowledged, StateEscalated}, {StateRouted, StateReceived}, {StateNeedsLocation, StateMerged},
		{StateAcknowledged, StateAcknowledged}, {StateReceived, StateReassigned},
	}
	for _, c := range refused {
		if CanTransition(c.from, c.to) {
			t.Errorf("%s → %s allowed", c.from, c.to)
		}
	}
	for from, tos := range transitions {
		if !from.Open() && from != StateMerged {
			t.Errorf("final state %s has transitions %v", from, tos)
		}
	}
}
