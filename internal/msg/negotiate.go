package msg

import (
	"net/http"
	"slices"
	"strings"

	"golang.org/x/text/language"
)

var matcher = language.NewMatcher([]language.Tag{language.German, language.English})

// Negotiate picks the catalogue language ("de" or "en") for an HTTP
// Accept-Language header (RFC 9110 §12.5.4, weights honoured): the best
// match among German and English, or fallback when the header is absent,
// malformed or names neither. Only the first maxAcceptLanguage bytes
// are read (whole entries): parsing costs time in the header's length,
// and a client's real list is far shorter.
func Negotiate(acceptLanguage, fallback string) string {
	if len(acceptLanguage) > maxAcceptLanguage {
		acceptLanguage = acceptLanguage[:maxAcceptLanguage]
		if i := strings.LastIndexByte(acceptLanguage, ','); i >= 0 {
			acceptLanguage = acceptLanguage[:i]
		}
	}
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

// maxAcceptLanguage bounds the Accept-Language read by Negotiate. A
// browser sends well under 100 bytes; 100,000 entries (900 kB, under Go's
// 1 MB header limit) would cost about 0.1 s of CPU per request.
const maxAcceptLanguage = 512

// NegotiateHTTP is Negotiate for an HTTP exchange: it reads the request's
// Accept-Language and marks the response as chosen by it, so that a
// shared cache does not hand one client's language to another (RFC 9110
// §12.5.5 Vary, §8.5 Content-Language). It may be called more than once
// per response.
func NegotiateHTTP(req, resp http.Header, fallback string) string {
	lang := Negotiate(req.Get("Accept-Language"), fallback)
	if !slices.ContainsFunc(resp.Values("Vary"), func(v string) bool {
		return strings.Contains(strings.ToLower(v), "accept-language")
	}) {
		resp.Add("Vary", "Accept-Language")
	}
	resp.Set("Content-Language", lang)
	return lang
}
