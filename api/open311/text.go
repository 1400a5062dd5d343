package open311

import (
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"
)

// msg names a text a client sees; every one exists in German and English.
type msg int

const (
	msgFormat msg = iota
	msgNoEndpoint
	msgJurisdiction
	msgMalformed
	msgAPIKey
	msgAPIKeyRole
	msgAPIKeyAddress
	msgUnknownService
	msgNoLocation
	msgBadPosition
	msgAttrUnknown
	msgAttrRequired
	msgAttrNumber
	msgAttrDatetime
	msgAttrValue
	msgAttrTooLong
	msgAttrOne
	msgMediaURLOff
	msgMediaURLRefused
	msgMediaType
	msgMediaTooLarge
	msgTooMany
	msgField
	msgTooLong
	msgNotFound
	msgTokenNotFound
	msgStorage
	msgInternal
	msgBadDate
	msgBadStatus
	msgBadPage
	msgBadRadius
	msgTooManyIDs
	msgContactDropped
	msgInvalidReport
	msgBadText
)

var texts = map[msg][2]string{ // [de, en]
	msgFormat:          {"Unbekanntes Format: Endung .xml oder .json verwenden", "unknown format: use the .xml or .json extension"},
	msgNoEndpoint:      {"Diesen Endpunkt gibt es nicht", "no such endpoint"},
	msgJurisdiction:    {"jurisdiction_id %q ist hier unbekannt", "jurisdiction_id %q is not served here"},
	msgMalformed:       {"Anfrage nicht lesbar: %s", "malformed request: %s"},
	msgAPIKey:          {"api_key fehlt oder ist ungültig", "api_key was not provided or is invalid"},
	msgAPIKeyRole:      {"Dieser api_key darf keine Meldungen einreichen (Rolle reporter nötig)", "this api_key may not file requests (role reporter needed)"},
	msgAPIKeyAddress:   {"Dieser api_key darf den Dienst %q nicht nutzen", "this api_key may not file to service %q"},
	msgUnknownService:  {"service_code %q nicht gefunden", "service_code %q was not found"},
	msgNoLocation:      {"Ort fehlt: lat und long oder address_string angeben", "no location: send lat and long, or address_string"},
	msgBadPosition:     {"lat/long müssen Dezimalgrad sein (lat -90..90, long -180..180, nicht 0,0)", "lat/long must be decimal degrees (lat -90..90, long -180..180, not 0,0)"},
	msgAttrUnknown:     {"Attribut %q gibt es beim Dienst %q nicht", "attribute %q is not defined for service %q"},
	msgAttrRequired:    {"Pflichtattribut %q fehlt", "required attribute %q is missing"},
	msgAttrNumber:      {"Attribut %q muss eine Zahl sein", "attribute %q must be a number"},
	msgAttrDatetime:    {"Attribut %q muss ein Zeitpunkt nach ISO 8601 mit Zeitzone sein (z. B. 2026-11-30T08:15:00+01:00)", "attribute %q must be an ISO 8601 date-time with zone (e.g. 2026-11-30T08:15:00+01:00)"},
	msgAttrValue:       {"Attribut %q: %q ist keiner der erlaubten Werte (%s)", "attribute %q: %q is not one of the allowed values (%s)"},
	msgAttrTooLong:     {"Attribut %q ist zu lang (höchstens %d Zeichen)", "attribute %q is too long (at most %d characters)"},
	msgAttrOne:         {"Attribut %q erlaubt nur einen Wert", "attribute %q takes a single value"},
	msgMediaURLOff:     {"media_url wird hier nicht abgerufen; das Foto bitte als multipart-Feld media hochladen", "media_url is not fetched by this server; upload the photo as the multipart field media"},
	msgMediaURLRefused: {"media_url wurde nicht abgerufen: %s", "media_url was not fetched: %s"},
	msgMediaType:       {"Dateityp nicht erlaubt: %s", "file type not allowed: %s"},
	msgMediaTooLarge:   {"Datei zu groß: %s", "file too large: %s"},
	msgTooMany:         {"Zu viele Anhänge (höchstens %d)", "too many attachments (at most %d)"},
	msgField:           {"Unbekanntes Feld %q", "unknown field %q"},
	msgTooLong:         {"Feld %q ist zu lang", "field %q is too long"},
	msgNotFound:        {"Meldung %q nicht gefunden", "service request %q was not found"},
	msgTokenNotFound:   {"Token %q nicht gefunden", "token %q was not found"},
	msgStorage:         {"Speicher vorübergehend nicht erreichbar; bitte später erneut senden", "storage is unavailable; retry later"},
	msgInternal:        {"Interner Fehler; er wurde protokolliert", "internal error; it has been logged"},
	msgBadDate:         {"%s muss ein Zeitpunkt nach ISO 8601 mit Zeitzone sein", "%s must be an ISO 8601 date-time with zone"},
	msgBadStatus:       {"status muss open oder closed sein", "status must be open or closed"},
	msgBadPage:         {"page und page_size müssen positive ganze Zahlen sein (page_size höchstens 1000)", "page and page_size must be positive whole numbers (page_size at most 1000)"},
	msgBadRadius:       {"lat, long und radius (Meter, höchstens 50000) gehören zusammen", "lat, long and radius (metres, at most 50000) go together"},
	msgTooManyIDs:      {"Höchstens 100 service_request_id auf einmal", "at most 100 service_request_id at once"},
	msgContactDropped:  {"Ihre Kontaktdaten (E-Mail, Telefon, Name) wurden nicht gespeichert (Datensparsamkeit).", "Your contact data (email, phone, name) was not stored (data minimisation)."},
	msgInvalidReport:   {"Meldung abgelehnt: %s", "request refused: %s"},
	msgBadText:         {"%q enthält ein NUL-Zeichen oder ist kein gültiges UTF-8", "%q contains a NUL character or is not valid UTF-8"},
}

// lang picks de or en from Accept-Language; German is the default.
func lang(c *gin.Context) string {
	al := strings.ToLower(c.GetHeader("Accept-Language"))
	if strings.HasPrefix(al, "en") {
		return "en"
	}
	return "de"
}

func text(l string, m msg, args ...any) string {
	t := texts[m]
	s := t[0]
	if l == "en" {
		s = t[1]
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}
