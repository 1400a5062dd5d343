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
	},
	"en": {
		"not_allowed":       "Sorry, you may not send reports to %s. Please contact your control room.",
		"rejected":          "Report not accepted: %s",
		"try_again":         "The report could not be stored right now. Please send it again in a minute.",
		"rate_limited":      "Too many messages in a short time. Please wait a moment and send again.",
		"attachment_failed": "An attachment could not be taken (%s). The text was accepted; please send the attachment again.",
		"room_not_member":   "Only members of this team (and dispatchers) can take or handle reports here.",
		"room_anonymous":    "I cannot tell who you are: the room must be non-anonymous.",
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
