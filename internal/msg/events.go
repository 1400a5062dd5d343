package msg

// EventKinds are the audit event kinds (dispatch Event.Kind) that have a
// name in every language; histories show any other kind as it is stored.
var EventKinds = []string{
	"received", "routed", "posted", "location_requested", "location_received",
	"grouped", "part_split", "rerouted", "plausibility", "post_corrected",
	"take", "release", "resolve", "confirm", "escalated", "ack_timeout", "reassigned", "rejected",
	"merged", "unmerged", "duplicate_added", "duplicate_removed", "reply", "room_post",
}

var deEvents = map[string]string{
	"received": "eingegangen", "routed": "zugeordnet", "posted": "im Teamraum gemeldet",
	"location_requested": "Standort angefragt", "location_received": "Standort erhalten",
	"grouped": "Teil hinzugefügt", "part_split": "Teil abgetrennt", "rerouted": "nach Standort neu zugeordnet",
	"plausibility": "Plausibilitätshinweis", "post_corrected": "Meldung im Teamraum ergänzt",
	"take": "übernommen", "release": "zurückgegeben", "resolve": "erledigt", "confirm": "bestätigt", "escalated": "eskaliert",
	"ack_timeout": "Übernahme abgelaufen", "reassigned": "weitergeleitet", "rejected": "abgelehnt",
	"merged": "als Duplikat verbunden", "unmerged": "Duplikat getrennt", "duplicate_added": "+1 Meldung",
	"duplicate_removed": "Duplikat entfernt", "reply": "Antwort an Melder", "room_post": "Nachricht im Teamraum",
}

var enEvents = map[string]string{
	"received": "received", "routed": "routed", "posted": "posted in the team room",
	"location_requested": "location requested", "location_received": "location received",
	"grouped": "part added", "part_split": "part split off", "rerouted": "re-routed by location",
	"plausibility": "plausibility note", "post_corrected": "team room post completed",
	"take": "taken", "release": "given back", "resolve": "resolved", "confirm": "confirmed", "escalated": "escalated",
	"ack_timeout": "take expired", "reassigned": "reassigned", "rejected": "rejected",
	"merged": "merged as a duplicate", "unmerged": "duplicate split", "duplicate_added": "+1 report",
	"duplicate_removed": "duplicate removed", "reply": "reply to the reporter", "room_post": "team room message",
}

func eventName(names map[string]string, kind string) string {
	if n, ok := names[kind]; ok {
		return n
	}
	return kind
}

func (de) EventName(kind string) string { return eventName(deEvents, kind) }
func (en) EventName(kind string) string { return eventName(enEvents, kind) }
