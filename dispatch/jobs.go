package dispatch

import (
	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

// processReportArgs: read EXIF, geotag, route, queue the posts and replies.
type processReportArgs struct {
	ReportID uuid.UUID `json:"report_id" river:"unique"`
	// SplitInto is set when a part was split off into a case of its own
	// after it had been processed ("trennen"), so that this job is not
	// refused as a duplicate of the report's first one.
	SplitInto uuid.UUID `json:"split_into,omitempty" river:"unique"`
}

func (processReportArgs) Kind() string { return "process_report" }
func (processReportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueDefault, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// roomPostArgs: one message to a team room. Body empty means "render the
// incident post"; OriginID is fixed at insert so a retry is recognisable.
type roomPostArgs struct {
	IncidentID uuid.UUID `json:"incident_id"`
	ReportID   uuid.UUID `json:"report_id,omitempty"` // set for a follow-up post
	Room       string    `json:"room"`
	// Team is the team whose room Room was when the post was queued ("" in
	// direct posts and jobs of earlier releases: the incident's team is
	// taken then): if the rules give that team another room before the post
	// goes out, it goes there (roomNow).
	Team     string `json:"team,omitempty"`
	OriginID string `json:"origin_id"`
	Body     string `json:"body,omitempty"`
	// Direct: the routing job sends this post itself (postDirect); the job
	// is its fallback and may find it sent already.
	Direct bool `json:"direct,omitempty"`
}

func (roomPostArgs) Kind() string                 { return "room_post" }
func (roomPostArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: queueXMPP} }

// chatArgs: one 1:1 message from a function address to a person.
type chatArgs struct {
	From       string    `json:"from"`
	To         string    `json:"to"`
	Body       string    `json:"body"`
	IncidentID uuid.UUID `json:"incident_id,omitempty"` // for delivery evidence of alerts
}

func (chatArgs) Kind() string                 { return "chat_message" }
func (chatArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: queueXMPP} }

// outboxArgs: a 1:1 message of chat_outbox that its process did not send
// (outbox.go); the row holds the message.
type outboxArgs struct {
	ID int64 `json:"id"`
}

func (outboxArgs) Kind() string                 { return "chat_outbox" }
func (outboxArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: queueXMPP} }
