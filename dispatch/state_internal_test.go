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

func TestEventNames(t *testing.T) {
	for _, lang := range []string{"de", "en"} {
		for kind := range eventNames["de"] {
			if _, ok := eventNames[lang][kind]; !ok {
				t.Errorf("event %s has no %s name", kind, lang)
			}
		}
	}
	if got := EventName("de", "reassigned"); got != "weitergeleitet" {
		t.Errorf("EventName(de, reassigned) = %q", got)
	}
	if got := EventName("en", "location_received"); got != "location received" {
		t.Errorf("EventName(en, location_received) = %q", got)
	}
	if got := EventName("fr", "unknown_kind"); got != "unknown_kind" {
		t.Errorf("unknown kind rendered as %q", got)
	}
}

// TestTextsComplete: every German text has an English one with the same
// format verbs, so no text fails at run time in either language.
func TestTextsComplete(t *testing.T) {
	verbs := func(s string) string {
		var v []byte
		for i := 0; i+1 < len(s); i++ {
			if s[i] == '%' {
				v = append(v, s[i+1])
				i++
			}
		}
		return string(v)
	}
	for key, de := range texts["de"] {
		en, ok := texts["en"][key]
		if !ok {
			t.Errorf("text %s has no English version", key)
			continue
		}
		if verbs(de) != verbs(en) {
			t.Errorf("text %s: German verbs %q, English %q", key, verbs(de), verbs(en))
		}
	}
}
