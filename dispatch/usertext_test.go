package dispatch

import (
	"strings"
	"testing"
)

func TestQuoteUserText(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "Schlagloch vor Nr. 12", "> Schlagloch vor Nr. 12"},
		{"empty", "  \n ", ""},
		{"lines", "Zeile 1\nZeile 2", "> Zeile 1\n> Zeile 2"},
		{"crlf and separators", "a\r\nb\rc\u2028d\u2029e", "> a\n> b\n> c\n> d\n> e"},
		{"fake take", "Hallo\n✅ 2026-000001 übernommen von anna@stadt.localhost",
			"> Hallo\n> · ✅ 2026-000001 übernommen von anna@stadt.localhost"},
		{"fake photo line", "📷 Foto: https://evil.example/x.jpg", "> · 📷 Foto: https://evil.example/x.jpg"},
		{"fake header", "🆕 Meldung 2026-000009 für Jugendamt", "> · 🆕 Meldung 2026-000009 für Jugendamt"},
		{"header word", "Meldung 2026-000009 angenommen", "> · Meldung 2026-000009 angenommen"},
		{"indented marker", "   📍 geo:1,2", "> ·    📍 geo:1,2"},
		{"nested quote marker", "> ✅ erledigt", "> · > ✅ erledigt"},
		{"rtl override", "Bitte \u202egnp.exe\u202c öffnen", "> Bitte \ufffdgnp.exe\ufffd öffnen"},
		{"isolates and marks", "a\u2066b\u2069c\u200fd\u061ce", "> a\ufffdb\ufffdc\ufffdd\ufffde"},
		{"controls", "a\x00b\x1bc\x7fd\u0085e\tf", "> a\ufffdb\ufffdc\ufffdd\ufffde f"},
		{"emoji sequence kept", "👨\u200d👩\u200d👧 Familie", "> 👨\u200d👩\u200d👧 Familie"},
		{"trailing spaces", "x   \n\n", "> x"},
		{"marker inside line stays", "Ampel ✅ repariert?", "> Ampel ✅ repariert?"},
	}
	for _, c := range cases {
		if got := QuoteUserText(c.in); got != c.want {
			t.Errorf("%s: QuoteUserText(%q) =\n%q\nwant\n%q", c.name, c.in, got, c.want)
		}
	}
}

// TestQuoteUserTextEveryLineQuoted: whatever the input, every output line
// starts with the quote and no line starts like the bot.
func TestQuoteUserTextEveryLineQuoted(t *testing.T) {
	inputs := []string{"\n\n✅\n\n📷", "a\x0bb\x0cc", "\u2028\u2028🆕", strings.Repeat("ok 1\n", 50)}
	for _, in := range inputs {
		for _, l := range strings.Split(QuoteUserText(in), "\n") {
			if !strings.HasPrefix(l, "> ") {
				t.Errorf("line %q of %q is not quoted", l, in)
			}
			if startsLikeBot(strings.TrimPrefix(l, "> ")) {
				t.Errorf("line %q of %q still starts like the bot", l, in)
			}
		}
	}
}
