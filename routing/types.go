package routing

import (
	"strings"
	"time"
)

// Point is a WGS 84 position in decimal degrees.
type Point struct{ Lat, Lon float64 }

// Input is what routing needs to know about a report.
type Input struct {
	Address  string    // function address local part, lower-case ("tiefbau"); a full JID or upper case also works, slower
	Text     string    // report text
	Position *Point    // nil when unknown
	At       time.Time // receive time (any zone; converted to the file's time zone)
	Sender   string    // bare JID "user@domain", or "" for API reports
	Urgent   bool      // sender flagged urgent
}

// Decision is where a report goes and why.
//
// CC is shared with the rule set: callers must not modify it.
type Decision struct {
	Rule     string   // name of matched rule ("default" for the final default, "address:NAME" for an address's default team)
	Team     string   // team id
	Priority string   // "low" | "normal" | "high" | "urgent"
	Policy   string   // escalation policy name ("" = none)
	CC       []string // extra team ids
	District string   // name of the area containing Position, "" if none
	Category string   // optional category set by the rule (e.g. "schlagloch")
	Trail    []Step   // only filled by Explain
}

// Step is one rule's outcome in an explanation.
type Step struct {
	Rule    string // rule name
	Line    int    // line of the rule in the rules file
	Matched bool   // true for the rule that decided
	Failed  string // the first condition that failed, in words ("" when Matched)
}

// Priorities, lowest first.
const (
	PriorityLow    = "low"
	PriorityNormal = "normal"
	PriorityHigh   = "high"
	PriorityUrgent = "urgent"
)

// Team is a group of people sharing one XMPP group chat.
type Team struct {
	ID       string
	Name     string   // display name
	Room     string   // MUC bare JID
	OnCall   string   // on-call schedule name ("" = none)
	Policy   string   // default escalation policy ("" = none)
	Members  []string // JIDs, informative
	Language string   // "de" or "en"
	Hours    []Window // working hours (empty = not declared)
}

// Address is a function address such as tiefbau@reports.example.
type Address struct {
	Name        string
	DisplayName string
	Description string
	Allow       []string // "public", "user@domain", or a bare domain "stadt.localhost"
	Language    string   // "de" (default) or "en"
	DefaultTeam string   // team that gets reports no rule matched ("" = the file's default)
	Urgent      bool     // reports to this address are urgent
	// Open311 publishes the address as an Open311 service; nil = not offered.
	Open311 *Open311Service
	// Encryption is the OMEMO policy (XEP-0384): EncryptionPreferred
	// (default: encrypted and plaintext accepted, answers encrypted to who
	// wrote encrypted), EncryptionRequired (plaintext refused) or
	// EncryptionOff (the address publishes no keys).
	Encryption string
}

// OMEMO policies of an address.
const (
	EncryptionPreferred = "preferred"
	EncryptionRequired  = "required"
	EncryptionOff       = "off"
)

// Allows reports whether bareJID may send to the address. An empty JID
// (an API report) is allowed only by public addresses: the API edge
// authorises its callers itself.
func (a Address) Allows(bareJID string) bool {
	jid := strings.ToLower(bareJID)
	domain := ""
	if i := strings.LastIndexByte(jid, '@'); i >= 0 {
		domain = jid[i+1:]
	}
	for _, al := range a.Allow {
		switch {
		case al == "public":
			return true
		case jid == "":
			continue
		case strings.Contains(al, "@"):
			if al == jid {
				return true
			}
		case al == domain:
			return true
		}
	}
	return false
}

// Policy is an escalation policy: who is alerted when an incident stays
// unacknowledged.
type Policy struct {
	Name       string
	AckTimeout time.Duration // after this the incident counts as overdue (0 = none)
	// Confirmers is how many different people must answer "ok" before the
	// incident counts as acknowledged: 1 (the default) or 2 for cases that
	// need a second person, such as child-welfare call-outs.
	Confirmers int
	Levels     []Level
}

// Level is one escalation step, counted from the incident's creation.
type Level struct {
	After       time.Duration
	Targets     []Target
	Repeat      int           // extra repetitions of this level (0 = once)
	RepeatEvery time.Duration // spacing of repetitions
}

// Target is whom a level alerts.
type Target struct {
	Kind string // "room" (the incident's team room), "team" (Ref = team id's room), "oncall" (Ref = schedule name, "" = the team's), "person" (Ref = JID)
	Ref  string
}

// Schedule is an on-call schedule as the rules file declares it. It is
// parsed only; package oncall computes who is on call.
type Schedule struct {
	Name      string
	Rotation  []string // JIDs in order
	Start     time.Time
	Period    time.Duration // e.g. 168h
	Overrides []Override
	ICS       string // optional path (relative to the rules file) or https URL of an iCalendar shift plan
	// ICSCategory, when set, keeps only the calendar's events whose
	// ICSProperty (default CATEGORIES) lists it: one team's shifts out of
	// a shared calendar.
	ICSCategory string
	ICSProperty string
}

// Override puts Person on call from From to To.
type Override struct {
	From, To time.Time
	Person   string
}
