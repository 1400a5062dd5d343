package dispatch

import (
	"strings"
	"unicode"
)

// botMarkers are the symbols that start lines the gateway itself writes
// into team rooms (posts, confirmations, alerts; see text.go). A line of a
// reporter's text that starts with one is escaped, so that it cannot pass
// for a line of the bot.
var botMarkers = []string{
	"🆕", "✅", "☑", "📷", "📎", "📍", "⚠", "🚨", "⏰", "✉", "⛔", "➕", "➖", "↪", "ℹ", "🔁", "❗",
}

// quoteEscape precedes an escaped line inside the quote.
const quoteEscape = "· "

// QuoteUserText renders text a reporter wrote for a team-room post so
// that it is unmistakably theirs and cannot forge the post's structure:
//
//   - every line becomes an XEP-0393 block quote ("> " prefix, §5.1.2),
//     so the reporter's lines stand apart from the bot's;
//   - control characters (C0 except tab and newline, DEL, C1) and the
//     Unicode bidirectional formatting characters (Unicode TR #9: LRE,
//     RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM, ALM) are replaced
//     by U+FFFD, so a right-to-left override cannot reorder what follows;
//   - CR, CRLF and the Unicode line and paragraph separators become
//     newlines, so every line is quoted;
//   - a line that starts like one of the bot's own lines (🆕, ✅, 📷, 📍 …)
//     gets "· " in front of it inside the quote.
//
// Empty input gives "". The result has no trailing newline.
func QuoteUserText(text string) string {
	text = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u2028", "\n", "\u2029", "\n").Replace(text)
	text = strings.Map(neutralise, text)
	text = strings.Trim(text, "\n")
	if strings.TrimSpace(text) == "" {
		return ""
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if startsLikeBot(l) {
			l = quoteEscape + l
		}
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n")
}

// neutralise maps control and bidi formatting characters to U+FFFD.
func neutralise(r rune) rune {
	switch {
	case r == '\n':
		return r
	case r == '\t':
		return ' '
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return unicode.ReplacementChar
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return unicode.ReplacementChar
	}
	return r
}

// startsLikeBot reports whether a line begins (after spaces and quote
// marks) with one of the bot's markers or its "Meldung" header word.
func startsLikeBot(line string) bool {
	l := strings.TrimLeftFunc(line, func(r rune) bool { return unicode.IsSpace(r) || r == '>' })
	for _, m := range botMarkers {
		if strings.HasPrefix(l, m) {
			return true
		}
	}
	return strings.HasPrefix(strings.ToLower(l), "meldung ") || strings.HasPrefix(strings.ToLower(l), "report ")
}
