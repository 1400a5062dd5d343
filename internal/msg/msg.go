// Package msg is fieldgate's message catalogue: every text a reporter, a
// team member in a room or an API client reads, in German (the default)
// and English.
//
// Each text is one method of [Texts] with typed parameters, implemented
// by a German and an English type, so the compiler sees that both
// languages are complete and that every caller passes the right values.
// Code that decides what to say, but not in which language (a domain
// error, a reply for whoever reads it), holds a [Text]; the edge that
// knows the reader renders it with [Text.In].
package msg

import "strings"

// Languages are the language tags the catalogue speaks, default first.
var Languages = []string{"de", "en"}

// Default is the language of every text whose reader's language is
// unknown or not spoken by the catalogue.
const Default = "de"

// For returns the texts in lang: "en" (or "en-…") for English, German for
// anything else, including "".
func For(lang string) Texts {
	switch lang { // the tags stored everywhere, without Normalize's work
	case "de", "":
		return de{}
	case "en":
		return en{}
	}
	if Normalize(lang) == "en" {
		return en{}
	}
	return de{}
}

// Normalize maps a language tag (BCP 47, as in xml:lang or the rules
// file: "en", "en-GB", "DE") to a language of the catalogue, German when
// it speaks no better one.
func Normalize(lang string) string {
	l := strings.ToLower(strings.TrimSpace(lang))
	if l == "en" || strings.HasPrefix(l, "en-") || strings.HasPrefix(l, "en_") {
		return "en"
	}
	return Default
}

// Text is a message not yet rendered: what to say, with its values, but
// not in which language. Method expressions of Texts without parameters
// are Texts (msg.Texts.TryAgain); others are closures:
//
//	func(t msg.Texts) string { return t.UnknownCase(ref) }
type Text func(Texts) string

// In renders the text in lang (see For).
func (t Text) In(lang string) string {
	if t == nil {
		return ""
	}
	return t(For(lang))
}

// Fixed is a text that is the same in every language, such as a list of
// names or what a person typed; use it only for such values.
func Fixed(s string) Text { return func(Texts) string { return s } }
