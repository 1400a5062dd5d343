package dispatch

import "fmt"

// Texts people read in chat: German by default, English where configured.
// Keys are stable; the format verbs are filled by the caller.
var texts = map[string]map[string]string{
	"de": {
		"received":              "Meldung %s angenommen. Was Sie in den nächsten %d Sekunden an diese Adresse senden (Fotos, Text, Standort), gehört dazu.",
		"accepted":              "Meldung %s angenommen – weitergeleitet an %s.",
		"accepted_district":     "Meldung %s angenommen – weitergeleitet an %s (Bezirk %s).",
		"followup_received":     "Nachtrag zu Meldung %s angenommen und weitergeleitet. Für eine neue Meldung beginnen Sie den Text mit „neu“.",
		"followup_post":         "📎 Nachtrag zu %s",
		"need_location":         "Für Meldung %s fehlt der Standort. Bitte teilen Sie Ihren Standort (in Conversations: Büroklammer → Standort; in Dino/Gajim: einen geo:-Link wie geo:51.0254,7.5919 senden). Fotos als Datei senden, damit die GPS-Daten erhalten bleiben.",
		"taken_reporter":        "Ihre Meldung %s wird jetzt von %s bearbeitet.",
		"resolved_reporter":     "Ihre Meldung %s wurde erledigt. Vielen Dank!",
		"taken_room":            "✅ %s übernommen von %s.",
		"resolved_room":         "☑️ %s erledigt von %s.",
		"already_taken":         "%s ist bereits von %s übernommen.",
		"taken_first_room":      "✅ %s übernommen von %s – zweite Bestätigung nötig: „ok %d“",
		"confirmed_room":        "✅ %s bestätigt von %s – übernommen von %s, zweite Bestätigung erteilt.",
		"already_confirmed":     "Sie haben bereits bestätigt; eine zweite Person muss bestätigen.",
		"closed":                "%s ist bereits abgeschlossen (%s).",
		"not_your_room":         "%s gehört nicht zu diesem Raum.",
		"not_your_team":         "%s gehört zum Team %s; nur dessen Mitglieder (und die Leitstelle) können den Fall bearbeiten.",
		"unknown_case":          "Keinen offenen Fall %s gefunden.",
		"post_header":           "Meldung %s · %s",
		"urgent":                "DRINGEND",
		"no_position":           "📍 Standort wird erfragt (beim Melder angefragt).",
		"district":              "Bezirk %s",
		"actions":               "Übernehmen: „ok %d“ · Erledigt: „erledigt %d“",
		"photo":                 "📷 %s",
		"attachment_no_preview": "📎 Anhang %s, %s – keine Vorschau; abrufbar über die API/Leitstelle (Fall %s)",
		// intake: parts, grouping, late locations, plausibility
		"new_needs_content":       "Nach „neu“ bitte den Text, ein Foto oder den Standort der neuen Meldung senden.",
		"part_joined":             "Zu Meldung %s hinzugefügt.",
		"location_received":       "Standort zu Meldung %s erhalten.",
		"location_taken":          "Standort zu Meldung %s erhalten und an die Bearbeitung weitergegeben.",
		"location_owner":          "📍 Standort zu %s nachgereicht: %s",
		"location_moved":          "Meldung %s: Standort erhalten – weitergeleitet an %s.",
		"location_moved_district": "Meldung %s: Standort erhalten – weitergeleitet an %s (Bezirk %s).",
		"moved_old_room":          "↪️ %s hat einen Standort erhalten und wurde an %s weitergeleitet (%s).",
		"not_joined_case_taken":   "Meldung %s wird bereits bearbeitet, daher ist Ihre Nachricht die neue Meldung %s.",
		"not_joined_case_closed":  "Meldung %s ist abgeschlossen, daher ist Ihre Nachricht die neue Meldung %s.",
		"not_joined_far_position": "Ihre Nachricht liegt %d m von Meldung %s entfernt und ist daher die neue Meldung %s. Gehört sie doch dazu, sagen Sie es bitte der Leitstelle.",
		"source":                  "Quelle: %s",
		"source_exif":             "Foto (EXIF)",
		"source_xmp":              "Foto (XMP)",
		"source_api":              "App",
		"source_geo_uri":          "geo:-Link",
		"source_xep0080":          "Standortfreigabe (XEP-0080)",
		"flag_photo_old":          "Foto aufgenommen am %s, %s vor Eingang – ist es aktuell?",
		"flag_positions_disagree": "Standortangaben weichen um %d m voneinander ab – bitte prüfen.",
		"flag_split_far":          "%d m von %s entfernt gemeldet – als eigene Meldung geführt.",
		"part_split_reporter":     "Die Leitstelle hat Ihre letzte Nachricht zu Meldung %s als eigene Meldung %s abgetrennt.",
		"part_split_reply":        "Letzter Teil von %s abgetrennt: jetzt eigene Meldung %s.",
		"two_person":              "👥 Zwei-Personen-Regel: %d Bestätigungen nötig („ok“ von zwei Personen).",
		"unit_d":                  "Tg.",
		// lifecycle (escalation, reassignment, duplicates, replies)
		"unit_s":              "Sek.",
		"unit_min":            "Min.",
		"unit_h":              "Std.",
		"esc_reminder":        "⏰ Erinnerung: %s ist seit %s nicht übernommen. Übernehmen mit „ok %d“",
		"esc_room":            "🚨 Eskalation Stufe %d: %s (%s) ist seit %s nicht übernommen.\n%s\nÜbernehmen mit „ok %d“",
		"esc_chat":            "🚨 Eskalation Stufe %d: %s (%s) ist seit %s nicht übernommen.\n%s\nÜbernehmen: hier mit „ok %d“ antworten.",
		"esc_nobody":          "⚠️ %s: Stufe %d sollte die Bereitschaft (%s) alarmieren, aber niemand hat Dienst.",
		"esc_second_missing":  "Bestätigt von %s – die zweite Bestätigung fehlt noch.",
		"ack_timeout_room":    "⏰ %s wurde von %s übernommen, ist aber seit %s nicht erledigt – wieder offen, die Eskalation beginnt erneut. Übernehmen mit „ok %d“",
		"ack_timeout_owner":   "⏰ Sie haben %s vor %s übernommen; der Fall ist nicht erledigt und wurde wieder freigegeben.",
		"not_alerted":         "%s: Sie wurden für diesen Fall nicht alarmiert; bitte im Teamraum übernehmen.",
		"merged_closed":       "%s ist ein Duplikat von %s – bitte dort übernehmen („ok %d“).",
		"dispatcher_only":     "Nur Disponenten (Leitstelle) dürfen das.",
		"unknown_team":        "Kein Team „%s“. Teams: %s",
		"same_team":           "%s ist bereits bei %s.",
		"reassigned_new":      "↪️ %s an %s weitergeleitet von %s (vorher: %s).%s\nVerlauf:\n%s",
		"reassigned_old":      "↪️ %s an %s weitergegeben von %s.%s",
		"reassigned_reporter": "Ihre Meldung %s wurde an %s weitergeleitet.",
		"reassigned_reply":    "%s an %s weitergeleitet.",
		"reason":              " Grund: %s",
		"reject_needs_reason": "Bitte einen Grund angeben: „abgelehnt %d Grund“.",
		"rejected_room":       "⛔ %s abgelehnt von %s: %s",
		"rejected_reporter":   "Ihre Meldung %s liegt nicht in unserer Zuständigkeit: %s",
		"rejected_reply":      "%s abgelehnt.",
		"dup_room":            "➕ +1 Meldung zu %s (%s, %d m entfernt):\n%s",
		"dup_reporter":        "Ihre Meldung %s betrifft denselben Fall wie %s, der bereits bearbeitet wird. Wir haben sie dort angefügt – vielen Dank!",
		"not_merged":          "%s ist kein Duplikat.",
		"unmerged_room":       "➖ %s ist doch kein Duplikat von %s und wird eigenständig bearbeitet.",
		"unmerged_reporter":   "Ihre Meldung %s wird nun eigenständig bearbeitet.",
		"unmerged_reply":      "%s wird wieder eigenständig bearbeitet.",
		"merged_reply":        "%s wurde als Duplikat mit %s zusammengeführt.",
		"merge_invalid":       "%s kann nicht mit %s zusammengeführt werden: beide müssen offen und verschieden sein.",
		"reply_reporter":      "Antwort zu Ihrer Meldung %s (%s):\n%s",
		"reply_room":          "✉️ Antwort zu %s an den Melder gesendet (%s).",
		"reply_room_jids":     "✉️ Antwort zu %s an %s gesendet (%s).",
		"reply_api_only":      "%s wurde über die App/API gemeldet: die Antwort ist im Verlauf gespeichert, der Melder kann sie dort abrufen.",
		"reply_empty":         "Bitte einen Text oder Textbaustein angeben: „antwort %d /erledigt“. Bausteine: %s",
		"unknown_template":    "Keinen Textbaustein „/%s“. Vorhanden: %s",
	},
	"en": {
		"received":                "Report %s accepted. Whatever you send to this address in the next %d seconds (photos, text, location) belongs to it.",
		"accepted":                "Report %s accepted – forwarded to %s.",
		"accepted_district":       "Report %s accepted – forwarded to %s (district %s).",
		"followup_received":       "Addition to report %s accepted and forwarded. To start a new report, begin the text with “new”.",
		"followup_post":           "📎 Addition to %s",
		"need_location":           "Report %s has no location. Please share your location (Conversations: paper clip → location; Dino/Gajim: send a geo: link such as geo:51.0254,7.5919). Send photos as a file so their GPS data is kept.",
		"taken_reporter":          "Your report %s is now being handled by %s.",
		"resolved_reporter":       "Your report %s has been resolved. Thank you!",
		"taken_room":              "✅ %s taken by %s.",
		"resolved_room":           "☑️ %s resolved by %s.",
		"already_taken":           "%s has already been taken by %s.",
		"taken_first_room":        "✅ %s taken by %s – a second confirmation is needed: “ok %d”",
		"confirmed_room":          "✅ %s confirmed by %s – taken by %s, second confirmation given.",
		"already_confirmed":       "You have already confirmed; a second person must confirm.",
		"closed":                  "%s is already closed (%s).",
		"not_your_room":           "%s does not belong to this room.",
		"not_your_team":           "%s belongs to team %s; only its members (and dispatchers) can handle it.",
		"unknown_case":            "No open case %s found.",
		"post_header":             "Report %s · %s",
		"urgent":                  "URGENT",
		"no_position":             "📍 Location being requested (asked the reporter).",
		"district":                "district %s",
		"actions":                 "Take: “ok %d” · Resolve: “erledigt %d”",
		"photo":                   "📷 %s",
		"attachment_no_preview":   "📎 Attachment %s, %s – no preview; available through the API/control room (case %s)",
		"new_needs_content":       "After “new”, please send the new report's text, a photo or the location.",
		"part_joined":             "Added to report %s.",
		"location_received":       "Location for report %s received.",
		"location_taken":          "Location for report %s received and passed on to whoever handles it.",
		"location_owner":          "📍 Location for %s added: %s",
		"location_moved":          "Report %s: location received – forwarded to %s.",
		"location_moved_district": "Report %s: location received – forwarded to %s (district %s).",
		"moved_old_room":          "↪️ %s received a location and was forwarded to %s (%s).",
		"not_joined_case_taken":   "Report %s is already being handled, so your message is the new report %s.",
		"not_joined_case_closed":  "Report %s is closed, so your message is the new report %s.",
		"not_joined_far_position": "Your message is %d m away from report %s and therefore the new report %s. If it belongs there after all, please tell the control room.",
		"source":                  "source: %s",
		"source_exif":             "photo (EXIF)",
		"source_xmp":              "photo (XMP)",
		"source_api":              "app",
		"source_geo_uri":          "geo: link",
		"source_xep0080":          "shared location (XEP-0080)",
		"flag_photo_old":          "Photo taken on %s, %s before it was received – is it current?",
		"flag_positions_disagree": "Positions disagree by %d m – please check.",
		"flag_split_far":          "Reported %d m away from %s – handled as a case of its own.",
		"part_split_reporter":     "The control room split your latest message to report %s off into a report of its own, %s.",
		"part_split_reply":        "Latest part of %s split off: now report %s of its own.",
		"two_person":              "👥 Two-person rule: %d confirmations needed (“ok” from two people).",
		"unit_d":                  "d",
		"unit_s":                  "s",
		"unit_min":                "min",
		"unit_h":                  "h",
		"esc_reminder":            "⏰ Reminder: %s has not been taken for %s. Take: “ok %d”",
		"esc_room":                "🚨 Escalation level %d: %s (%s) has not been taken for %s.\n%s\nTake: “ok %d”",
		"esc_chat":                "🚨 Escalation level %d: %s (%s) has not been taken for %s.\n%s\nTo take it, answer here with “ok %d”.",
		"esc_nobody":              "⚠️ %s: level %d should alert the on-call person (%s), but nobody is on call.",
		"esc_second_missing":      "Confirmed by %s – the second confirmation is still missing.",
		"ack_timeout_room":        "⏰ %s was taken by %s but is still not resolved after %s – open again, escalation restarts. Take: “ok %d”",
		"ack_timeout_owner":       "⏰ You took %s %s ago; it is not resolved and has been released.",
		"not_alerted":             "%s: you were not alerted for this case; please take it in the team room.",
		"merged_closed":           "%s is a duplicate of %s – please take that one (“ok %d”).",
		"dispatcher_only":         "Only dispatchers may do that.",
		"unknown_team":            "No team “%s”. Teams: %s",
		"same_team":               "%s is already with %s.",
		"reassigned_new":          "↪️ %s reassigned to %s by %s (before: %s).%s\nHistory:\n%s",
		"reassigned_old":          "↪️ %s handed over to %s by %s.%s",
		"reassigned_reporter":     "Your report %s has been forwarded to %s.",
		"reassigned_reply":        "%s reassigned to %s.",
		"reason":                  " Reason: %s",
		"reject_needs_reason":     "Please give a reason: “abgelehnt %d reason”.",
		"rejected_room":           "⛔ %s rejected by %s: %s",
		"rejected_reporter":       "Your report %s is not our responsibility: %s",
		"rejected_reply":          "%s rejected.",
		"dup_room":                "➕ +1 report on %s (%s, %d m away):\n%s",
		"dup_reporter":            "Your report %s concerns the same case as %s, which is already being handled. We added it there – thank you!",
		"not_merged":              "%s is not a duplicate.",
		"unmerged_room":           "➖ %s is not a duplicate of %s after all and is handled on its own.",
		"unmerged_reporter":       "Your report %s is now handled on its own.",
		"unmerged_reply":          "%s is handled on its own again.",
		"merged_reply":            "%s was merged into %s as a duplicate.",
		"merge_invalid":           "%s cannot be merged into %s: both must be open and different.",
		"reply_reporter":          "Reply to your report %s (%s):\n%s",
		"reply_room":              "✉️ Reply on %s sent to the reporter (%s).",
		"reply_room_jids":         "✉️ Reply on %s sent to %s (%s).",
		"reply_api_only":          "%s was reported through the app/API: the reply is stored in its history, where the reporter can read it.",
		"reply_empty":             "Please give a text or a canned text: “antwort %d /erledigt”. Canned texts: %s",
		"unknown_template":        "No canned text “/%s”. Available: %s",
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

// notJoinedText tells a sender why a message opened the new case rather
// than joining their previous one.
func notJoinedText(lang string, g grouping, prev, caseNumber string) string {
	switch g.Reason {
	case ReasonFarPosition:
		return T(lang, "not_joined_far_position", int(g.DistanceM), prev, caseNumber)
	case ReasonCaseClosed:
		return T(lang, "not_joined_case_closed", prev, caseNumber)
	}
	return T(lang, "not_joined_case_taken", prev, caseNumber)
}

// eventNames are the audit trail's event kinds as people read them.
var eventNames = map[string]map[string]string{
	"de": {
		"received": "eingegangen", "routed": "zugeordnet", "posted": "im Teamraum gemeldet",
		"location_requested": "Standort angefragt", "location_received": "Standort erhalten",
		"grouped": "Teil hinzugefügt", "part_split": "Teil abgetrennt", "rerouted": "nach Standort neu zugeordnet",
		"plausibility": "Plausibilitätshinweis", "post_corrected": "Meldung im Teamraum ergänzt",
		"take": "übernommen", "resolve": "erledigt", "confirm": "bestätigt", "escalated": "eskaliert",
		"ack_timeout": "Übernahme abgelaufen", "reassigned": "weitergeleitet", "rejected": "abgelehnt",
		"merged": "als Duplikat verbunden", "unmerged": "Duplikat getrennt", "duplicate_added": "+1 Meldung",
		"duplicate_removed": "Duplikat entfernt", "reply": "Antwort an Melder", "room_post": "Nachricht im Teamraum",
	},
	"en": {
		"received": "received", "routed": "routed", "posted": "posted in the team room",
		"location_requested": "location requested", "location_received": "location received",
		"grouped": "part added", "part_split": "part split off", "rerouted": "re-routed by location",
		"plausibility": "plausibility note", "post_corrected": "team room post completed",
		"take": "taken", "resolve": "resolved", "confirm": "confirmed", "escalated": "escalated",
		"ack_timeout": "take expired", "reassigned": "reassigned", "rejected": "rejected",
		"merged": "merged as a duplicate", "unmerged": "duplicate split", "duplicate_added": "+1 report",
		"duplicate_removed": "duplicate removed", "reply": "reply to the reporter", "room_post": "team room message",
	},
}

// EventName renders an audit event kind in lang (German by default); an
// unknown kind is shown as it is stored.
func EventName(lang, kind string) string {
	m, ok := eventNames[lang]
	if !ok {
		m = eventNames["de"]
	}
	if n, ok := m[kind]; ok {
		return n
	}
	return kind
}
