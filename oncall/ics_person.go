package oncall

// Who an event puts on call.

import (
	"fmt"
	"slices"
	"strings"

	ics "github.com/arran4/golang-ical"
)

// eventPerson finds the person an event names (see Calendar): the
// X-FIELDGATE-PERSON property, a JID in SUMMARY, or the one attendee who
// takes part (RFC 5545 §3.2.12 PARTSTAT) other than the organizer, else
// the organizer if the organizer is such an attendee. It returns "" when
// the event names nobody, and an error when it is ambiguous or malformed.
func eventPerson(cb *ics.ComponentBase) (string, error) {
	if v := icsValue(cb, "X-FIELDGATE-PERSON"); v != "" {
		if j := normalizePerson(v); j != "" {
			return j, nil
		}
		return "", fmt.Errorf("X-FIELDGATE-PERSON %q is not a JID", v)
	}
	switch js := jidsInText(icsValue(cb, "SUMMARY")); len(js) {
	case 0:
	case 1:
		return js[0], nil
	default: // "Tausch: anna@… für ben@…" – who is on call is a guess
		return "", fmt.Errorf("ambiguous: SUMMARY names %d people (%s); name the person on call with X-FIELDGATE-PERSON, or name only that person in SUMMARY",
			len(js), strings.Join(js, ", "))
	}
	org := ""
	if o := icsProp(cb, "ORGANIZER"); o != nil {
		org = attendeeAddress(o)
	}
	atts := icsProps(cb, "ATTENDEE")
	// Exporters that do not track replies write no PARTSTAT at all; then
	// every attendee counts. Otherwise a missing PARTSTAT is its default,
	// NEEDS-ACTION (RFC 5545 §3.2.12), which does not count.
	tracked := slices.ContainsFunc(atts, func(a *ics.IANAProperty) bool { return icsParam(a, "PARTSTAT") != "" })
	var taking []string
	orgTakes := false
	for _, a := range atts {
		j := attendeeAddress(a)
		if j == "" || !takesPart(a, tracked) {
			continue
		}
		if j == org {
			orgTakes = true
			continue
		}
		if !slices.Contains(taking, j) {
			taking = append(taking, j)
		}
	}
	switch {
	case len(taking) == 1:
		return taking[0], nil
	case len(taking) > 1:
		return "", fmt.Errorf("ambiguous: %d attendees accepted (%s); name the person on call with X-FIELDGATE-PERSON or in SUMMARY",
			len(taking), strings.Join(taking, ", "))
	case orgTakes:
		return org, nil
	}
	return "", nil
}

// attendeeAddress is the JID of an ATTENDEE or ORGANIZER: its mailto:
// or xmpp: value, else its EMAIL parameter (RFC 7986 §6.2), which iCloud
// and Nextcloud write beside a urn:uuid: value.
func attendeeAddress(a *ics.IANAProperty) string {
	if j := normalizePerson(a.Value); j != "" {
		return j
	}
	return normalizePerson(icsParam(a, "EMAIL"))
}

// takesPart reports whether an attendee counts as on call: an individual
// (CUTYPE, §3.2.3) participant (ROLE, §3.2.16) who accepted.
func takesPart(a *ics.IANAProperty, tracked bool) bool {
	switch strings.ToUpper(icsParam(a, "CUTYPE")) {
	case "", "INDIVIDUAL":
	default: // GROUP, RESOURCE, ROOM, UNKNOWN
		return false
	}
	if strings.EqualFold(icsParam(a, "ROLE"), "NON-PARTICIPANT") {
		return false
	}
	switch strings.ToUpper(icsParam(a, "PARTSTAT")) {
	case "ACCEPTED":
		return true
	case "":
		return !tracked
	}
	return false // NEEDS-ACTION, DECLINED, TENTATIVE, DELEGATED, …
}

// jidsInText finds the distinct bare JIDs in free text, in order.
func jidsInText(s string) []string {
	var out []string
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool {
		return strings.ContainsRune(" \t,;:()<>[]\"'", r)
	}) {
		if !strings.Contains(f, "@") {
			continue
		}
		f = strings.TrimRight(f, ".")
		if j := normalizePerson(f); j != "" && !slices.Contains(out, j) {
			out = append(out, j)
		}
	}
	return out
}

// normalizePerson turns "carla@stadt.localhost", "xmpp:carla@…" or
// "mailto:Carla@…" into a lower-case bare JID, or "" if it is none.
// A mailto: address is taken as the person's JID (towns that use the
// same address for mail and XMPP).
func normalizePerson(s string) string {
	s = strings.TrimSpace(s)
	for _, scheme := range []string{"xmpp:", "mailto:"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			s = s[len(scheme):]
			break
		}
	}
	if i := strings.IndexAny(s, "?/"); i >= 0 {
		s = s[:i]
	}
	s = strings.ToLower(s)
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || at == len(s)-1 || len(s) > 1023 {
		return ""
	}
	domain := s[at+1:]
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return ""
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("\"&'/:<>\\", r) {
			return ""
		}
	}
	return s
}
