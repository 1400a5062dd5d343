package msg

import "golang.org/x/text/language"

var matcher = language.NewMatcher([]language.Tag{language.German, language.English})

// Negotiate picks the catalogue language ("de" or "en") for an HTTP
// Accept-Language header (RFC 9110 §12.5.4, weights honoured): the best
// match among German and English, or fallback when the header is absent,
// malformed or names neither.
func Negotiate(acceptLanguage, fallback string) string {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return fallback
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return fallback
	}
	return Languages[i]
}
