package dispatch

import "fmt"

// Texts people read in chat: German by default, English where configured.
// Keys are stable; the format verbs are filled by the caller.
var texts = map[string]map[string]string{
	"de": {
		"received":          "Meldung %s angenommen. Was Sie in den nächsten %d Sekunden an diese Adresse senden (Fotos, Text, Standort), gehört dazu.",
		"accepted":          "Meldung %s angenommen – weitergeleitet an %s.",
		"accepted_district": "Meldung %s angenommen – weitergeleitet an %s (Bezirk %s).",
		"followup_received": "Nachtrag zu Meldung %s angenommen und weitergeleitet. Für eine neue Meldung beginnen Sie den Text mit „neu“.",
		"followup_post":     "📎 Nachtrag zu %s",
		"need_location":     "Für Meldung %s fehlt der Standort. Bitte teilen Sie Ihren Standort (in Conversations: Büroklammer → Standort; in Dino/Gajim: einen geo:-Link wie geo:51.0254,7.5919 senden). Fotos als Datei senden, damit die GPS-Daten erhalten bleiben.",
		"taken_reporter":    "Ihre Meldung %s wird jetzt von %s bearbeitet.",
		"resolved_reporter": "Ihre Meldung %s wurde erledigt. Vielen Dank!",
		"taken_room":        "✅ %s übernommen von %s.",
		"resolved_room":     "☑️ %s erledigt von %s.",
		"already_taken":     "%s ist bereits von %s übernommen.",
		"closed":            "%s ist bereits abgeschlossen (%s).",
		"not_your_room":     "%s gehört nicht zu diesem Raum.",
		"unknown_case":      "Keinen offenen Fall %s gefunden.",
		"post_header":       "Meldung %s · %s",
		"urgent":            "DRINGEND",
		"no_position":       "📍 Kein Standort bekannt (beim Melder angefragt).",
		"district":          "Bezirk %s",
		"actions":           "Übernehmen: „ok %d“ · Erledigt: „erledigt %d“",
		"photo":             "📷 %s",
	},
	"en": {
		"received":          "Report %s accepted. Whatever you send to this address in the next %d seconds (photos, text, location) belongs to it.",
		"accepted":          "Report %s accepted – forwarded to %s.",
		"accepted_district": "Report %s accepted – forwarded to %s (district %s).",
		"followup_received": "Addition to report %s accepted and forwarded. To start a new report, begin the text with “new”.",
		"followup_post":     "📎 Addition to %s",
		"need_location":     "Report %s has no location. Please share your location (Conversations: paper clip → location; Dino/Gajim: send a geo: link such as geo:51.0254,7.5919). Send photos as a file so their GPS data is kept.",
		"taken_reporter":    "Your report %s is now being handled by %s.",
		"resolved_reporter": "Your report %s has been resolved. Thank you!",
		"taken_room":        "✅ %s taken by %s.",
		"resolved_room":     "☑️ %s resolved by %s.",
		"already_taken":     "%s has already been taken by %s.",
		"closed":            "%s is already closed (%s).",
		"not_your_room":     "%s does not belong to this room.",
		"unknown_case":      "No open case %s found.",
		"post_header":       "Report %s · %s",
		"urgent":            "URGENT",
		"no_position":       "📍 No location known (asked the reporter).",
		"district":          "district %s",
		"actions":           "Take: “ok %d” · Resolve: “erledigt %d”",
		"photo":             "📷 %s",
	},
}

// T renders the text key in lang (falling back to German).
func T(lang, key string, args ...any) string {
	m, ok := texts[lang]
	if !ok {
		m = texts["de"]
	}
	f, ok := m[key]
	if !ok {
		f = texts["de"][key]
	}
	return fmt.Sprintf(f, args...)
}
