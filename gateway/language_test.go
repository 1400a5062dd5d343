package gateway

import "testing"

func TestParseLanguageChoice(t *testing.T) {
	for body, want := range map[string]string{
		"English": "en", " english! ": "en", "English please.": "en", "Sprache: Englisch": "en", "auf Englisch": "en",
		"deutsch": "de", "Deutsch!": "de", "German": "de", "sprache deutsch": "de", "„Deutsch“": "de",
		"English text about a pothole": "", "Deutschland": "", "Deutsche Bahn Brücke": "", "en": "", "": "",
	} {
		got, ok := parseLanguageChoice(body)
		if ok != (want != "") || got != want {
			t.Errorf("parseLanguageChoice(%q) = %q, %v; want %q", body, got, ok, want)
		}
	}
}
