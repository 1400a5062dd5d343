package dispatch

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/media"
)

// State is an incident's place in its lifecycle.
type State string

// Incident states.
const (
	StateReceived      State = "received"
	StateNeedsLocation State = "needs_location"
	StateRouted        State = "routed"
	StateAcknowledged  State = "acknowledged"
	StateResolved      State = "resolved"
	StateEscalated     State = "escalated"
	StateReassigned    State = "reassigned"
	StateMerged        State = "merged"
	StateRejected      State = "rejected"
)

// Open reports whether the incident still needs someone to act.
func (s State) Open() bool {
	switch s {
	case StateResolved, StateMerged, StateRejected:
		return false
	}
	return true
}

// Channels a report can arrive through.
const (
	ChannelAPI     = "api"
	ChannelXMPP    = "xmpp"
	ChannelOpen311 = "open311" // Open311 GeoReport v2 (api/open311)
)

// Position sources, most trusted first.
const (
	SourceEXIF    = "exif"
	SourceXMP     = "xmp" // a photo's GPS only in XMP (exif:GPSLatitude)
	SourceAPI     = "api"
	SourceGeoURI  = "geo_uri"
	SourceXEP0080 = "xep0080"
)

// Position is a WGS84 point.
type Position struct {
	Lat, Lon float64
	Alt      *float64
}

// NewReport is what an edge hands to Intake.
type NewReport struct {
	Channel        string // ChannelAPI or ChannelXMPP
	Address        string // function address local part
	Sender         string // bare JID, or "token:<name>"
	IdempotencyKey string // origin-id / stanza id / Idempotency-Key; empty = none
	Language       string // "de" (default) or "en"
	Text           string
	Position       *Position // from the sender, if any
	PositionSource string    // SourceAPI, SourceGeoURI, SourceXEP0080
	Urgent         bool
	Media          []media.Object // already stored in S3
	// Prepared are attachments of Media, by object key, whose metadata
	// and team copy were worked on while the report arrived
	// (Service.PrepareMedium).
	Prepared map[string]*PreparedMedium
	held     int64 // bytes of Prepared (HoldMedium)
	// Attributes are structured fields a channel collected (Open311
	// attribute values, address_string); stored with the report as JSON.
	Attributes map[string]string
}

// AttrCorrects is the attribute of an XMPP report that corrects an earlier
// message of its sender (XEP-0308 §3): that message's id. The report joins
// the case of the corrected message while it is open (see group.go).
const AttrCorrects = "xmpp_corrects"

// Receipt is what the sender is told.
type Receipt struct {
	ReportID   uuid.UUID
	IncidentID uuid.UUID
	CaseNumber string
	Replayed   bool   // the idempotency key was seen before; nothing new was stored
	Mode       string // ModeNew, ModeAppended or ModeFollowUp
}

// Incident is a case a team handles.
type Incident struct {
	ID              uuid.UUID
	CaseNumber      string
	State           State
	Address         string
	Team            string
	Priority        string
	Policy          string
	Rule            string
	District        string
	Category        string
	Owner           string
	EscalationLevel int
	CreatedAt       time.Time
	UpdatedAt       time.Time
	AcknowledgedAt  *time.Time
	ResolvedAt      *time.Time
}

// Report is one submission and what was learned from it.
type Report struct {
	ID             uuid.UUID
	IncidentID     uuid.UUID
	CaseNumber     string
	Kind           string // "report" or "followup"
	Channel        string
	Address        string
	Sender         string
	Language       string
	Text           string
	Position       *Position
	PositionSource string
	Urgent         bool
	ReceivedAt     time.Time
	ProcessedAt    *time.Time
	Media          []MediaObject
	Corrects       string // the message id an XMPP correction corrects (AttrCorrects), "" for none
}

// MediaObject is a stored attachment of a report.
type MediaObject struct {
	ID            uuid.UUID
	Object        media.Object
	DerivativeKey string
	ThumbKey      string
	Metadata      *media.Metadata
}

// Event is one line of an incident's audit trail.
type Event struct {
	At     time.Time
	Kind   string
	Actor  string
	Via    string
	From   State
	To     State
	Detail map[string]any
	// ReporterActor is set when loaded (not stored): the actor sent a
	// report of this incident, or of the case the event names in its
	// detail ("case": a duplicate its reporter separated with „neu“).
	// FromReporter also counts the kinds of event only reporters make.
	ReporterActor bool
}

// reporterKinds are the audit events only a reporter makes (their JID is
// the actor).
var reporterKinds = []string{"received", "followup", "location_received", "grouped"}

// FromReporter reports whether e's actor is a reporter: a reporter's kind
// of event, a part they split off with a bare „neu“, or an actor who sent
// a report of the incident or of the case the event names
// (ReporterActor). A reporter's JID is personal data that only
// dispatchers see; team rooms and team members see "reporter" or nothing.
func (e Event) FromReporter() bool {
	return e.ReporterActor || slices.Contains(reporterKinds, e.Kind) ||
		e.Kind == "part_split" && e.Detail["reason"] == ReasonReporterNew
}

// reporterActorSQL is ReporterActor for the incident_events row e.
const reporterActorSQL = `(EXISTS (SELECT 1 FROM reports r WHERE r.incident_id = e.incident_id AND r.sender = e.actor)
	OR EXISTS (SELECT 1 FROM incidents c JOIN reports r ON r.incident_id = c.id
		WHERE c.case_number = e.detail->>'case' AND r.sender = e.actor))`

// ReportView is a report with its incident and trail, for status queries.
type ReportView struct {
	Report   Report
	Incident Incident
	Events   []Event
}
