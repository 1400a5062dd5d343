package gateway

import "fmt"

// Replies the gateway sends itself (the rest come from dispatch).
var texts = map[string]map[string]string{
	"de": {
		"not_allowed":       "Entschuldigung, Sie dürfen an %s keine Meldungen senden. Bitte wenden Sie sich an Ihre Leitstelle.",
		"rejected":          "Meldung nicht angenommen: %s",
		"try_again":         "Die Meldung konnte gerade nicht gespeichert werden. Bitte in einer Minute erneut senden.",
		"rate_limited":      "Zu viele Nachrichten in kurzer Zeit. Bitte kurz warten und dann erneut senden.",
		"attachment_failed": "Ein Anhang konnte nicht übernommen werden (%s). Der Text wurde angenommen; bitte den Anhang erneut senden.",
		"room_not_member":   "Nur Mitglieder dieses Teams (und die Leitstelle) können hier Meldungen übernehmen oder bearbeiten.",
		"room_anonymous":    "Ich kann Sie keiner Adresse zuordnen: der Raum muss nicht-anonym sein.",
		"geo_suggest":       "Den Standort „%s“ habe ich nicht übernommen: im geo:-Link trennt ein Komma Breite und Länge, Dezimalstellen stehen nach einem Punkt. Meinten Sie %s? Dann senden Sie ihn bitte genau so.",
		"geo_hint":          "Den Standort „%s“ habe ich nicht übernommen (%s). Richtig ist z. B. geo:51.0251,7.5919 – Breite, Komma, Länge, Dezimalstellen mit Punkt. Oder teilen Sie Ihren Standort über die Büroklammer.",
		"geo_malformed":     "kein gültiger geo:-Link",
		"geo_comma_decimal": "Dezimalkomma statt Punkt",
		"geo_imprecise":     "nur ganze Grad, zu ungenau",
		"geo_out_of_range":  "außerhalb des gültigen Bereichs",
		"geo_other_crs":     "anderes Koordinatensystem als WGS 84",
		"geo_only_hint":     "Es wurde nichts gespeichert.",
	},
	"en": {
		"not_allowed":       "Sorry, you may not send reports to %s. Please contact your control room.",
		"rejected":          "Report not accepted: %s",
		"try_again":         "The report could not be stored right now. Please send it again in a minute.",
		"rate_limited":      "Too many messages in a short time. Please wait a moment and send again.",
		"attachment_failed": "An attachment could not be taken (%s). The text was accepted; please send the attachment again.",
		"room_not_member":   "Only members of this team (and dispatchers) can take or handle reports here.",
		"room_anonymous":    "I cannot tell who you are: the room must be non-anonymous.",
		"geo_suggest":       "I did not take the location “%s”: in a geo: link a comma separates latitude and longitude, and decimals follow a point. Did you mean %s? Then please send it exactly like that.",
		"geo_hint":          "I did not take the location “%s” (%s). The right form is e.g. geo:51.0251,7.5919 – latitude, comma, longitude, decimals with a point. Or share your location with the paper clip.",
		"geo_malformed":     "not a valid geo: link",
		"geo_comma_decimal": "decimal comma instead of a point",
		"geo_imprecise":     "whole degrees only, too imprecise",
		"geo_out_of_range":  "out of range",
		"geo_other_crs":     "coordinate system other than WGS 84",
		"geo_only_hint":     "Nothing was stored.",
	},
}

// T renders a gateway text in lang, German by default.
func T(lang, key string, args ...any) string {
	m, ok := texts[lang]
	if !ok {
		m = texts["de"]
	}
	return fmt.Sprintf(m[key], args...)
}
