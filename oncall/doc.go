// Package oncall answers "who is on call for a team at an instant, and
// why". It owns on-call schedules: rotations and overrides declared in the
// rules file (routing.Schedule), shift plans imported from iCalendar
// (RFC 5545) files or https URLs, and an in-memory Directory of those
// calendars that a background loop refreshes, so that a lookup never
// fetches anything (escalation steps ask while they hold an incident's row
// lock).
//
// Files by job: rotation.go (rotations), override.go and resolve.go
// (overrides and precedence), lookup.go (the questions), ics_sanitize.go,
// ics_parse.go, ics_values.go, ics_person.go (reading calendars),
// zones.go (TZID resolution), recurrence.go (RRULE/RDATE/EXDATE
// expansion), fetch.go (https fetching), directory.go (the cache),
// check.go (the report behind `fieldgate oncall check`).
package oncall
