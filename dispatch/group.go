package dispatch

import (
	"strings"
	"time"
)

// Grouping: which case a message joins. Messengers send a photo, its
// caption and a location as separate messages seconds apart, and a patrol
// sends several reports in a row. Nothing waits: the first message with
// content is routed and posted at once, later parts complete that case in
// place, and these rules (each decision an audit event "grouped" or the
// "received" event's reason) keep apart what is apart:
//
//   - a text starting with "neu"/"new" always opens a new case (reporter_new);
//   - a part after the case was resolved, rejected or merged opens a new
//     case (case_closed), and so does one after it was taken (case_taken),
//     except a bare location for a taken case that has none, which is added
//     and the owner told (location_for_taken_case);
//   - a part whose own position (EXIF, XMP, geo:, XEP-0080) is more than
//     Config.PartDistance (default 100 m) from the case opens a new case
//     (far_position), also when it was first attached (EXIF is read after
//     intake: the part is then split off, see processPart);
//   - an XEP-0308 correction joins the case of the message it corrects
//     (found by that message's id) while that case is open, also after
//     the part window and after it was taken (correction); a correction
//     of a message fieldgate does not know is grouped like any message;
//   - a bare location for a case that has none joins it within
//     Config.FollowUpWindow (default 2 h) of the sender's last part
//     (late_location) and re-routes it;
//   - any other part joins within Config.AssemblyWindow (default 60 s) of
//     the sender's last part of the case (within_part_window), else it opens
//     a new case (part_window_passed).
//
// Every join can be undone: a dispatcher's "trennen 42" splits the case's
// latest part off, and so does the reporter's bare "neu"/"new" (nothing
// else in the message) when their last message was a part that joined a
// case, at most UndoWindow (10 min) ago, and nobody has taken the case yet
// (undoableJoin; the trail records part_split with reason reporter_new).
//
// Grouping reasons, stored in the trail.
const (
	ReasonReporterNew      = "reporter_new"
	ReasonNoRecentCase     = "no_recent_case"
	ReasonCaseClosed       = "case_closed"
	ReasonCaseTaken        = "case_taken"
	ReasonFarPosition      = "far_position"
	ReasonLateLocation     = "late_location"
	ReasonLocationForTaken = "location_for_taken_case"
	ReasonCorrection       = "correction"
	ReasonWithinWindow     = "within_part_window"
	ReasonWindowPassed     = "part_window_passed"
)

// UndoWindow is how long after a part joined a case the reporter's bare
// "neu" still splits it off again: long enough to notice the receipt
// ("Zu Meldung … hinzugefügt"), short enough that nobody has acted on the
// completed case in the meantime.
const UndoWindow = 10 * time.Minute

// undoableJoin reports whether the reporter's bare "neu" at now may undo
// the join of their last part (joined at joinedAt) to case c: within
// UndoWindow, while the case is open and nobody has taken it.
func undoableJoin(c caseForParts, joinedAt, now time.Time) bool {
	age := now.Sub(joinedAt)
	return c.State.Open() && !c.taken() && age >= 0 && age <= UndoWindow
}

// caseForParts is what grouping needs to know of the sender's latest case.
type caseForParts struct {
	State      State
	Owner      string    // set once someone took it (also the first of two confirmers)
	Position   *Position // the case's position, nil while it has none
	LastPartAt time.Time // when the sender's latest part of it arrived
}

// taken reports whether someone has taken the case.
func (c caseForParts) taken() bool { return c.Owner != "" || c.State == StateAcknowledged }

// partFacts is what grouping needs to know of a new message.
type partFacts struct {
	At           time.Time
	Position     *Position // its own position, if known
	PositionOnly bool      // no text and no media: a location and nothing else
	New          bool      // the sender said "neu"
	Correction   bool      // an XEP-0308 correction of a message of the case
}

// grouping is a decision: join the case or open a new one, and why.
type grouping struct {
	Join      bool
	Reason    string
	DistanceM float64 // for ReasonFarPosition
}

// groupingRules are the tunables of decideGrouping.
type groupingRules struct {
	PartWindow     time.Duration // Config.AssemblyWindow
	LocationWindow time.Duration // Config.FollowUpWindow
	Distance       float64       // Config.PartDistance, metres
}

// decideGrouping decides whether part joins c (nil: the sender has no
// recent case at this address). It is pure, see the rules above.
func decideGrouping(c *caseForParts, p partFacts, r groupingRules) grouping {
	switch {
	case p.New:
		return grouping{Reason: ReasonReporterNew}
	case c == nil:
		return grouping{Reason: ReasonNoRecentCase}
	}
	if g, split := recheckGrouping(*c, p, r); split {
		return g
	}
	if p.Correction {
		return grouping{Join: true, Reason: ReasonCorrection}
	}
	if c.taken() {
		return grouping{Join: true, Reason: ReasonLocationForTaken}
	}
	age := p.At.Sub(c.LastPartAt)
	if p.PositionOnly && c.Position == nil && r.LocationWindow > 0 && age <= r.LocationWindow {
		return grouping{Join: true, Reason: ReasonLateLocation}
	}
	if r.PartWindow > 0 && age <= r.PartWindow {
		return grouping{Join: true, Reason: ReasonWithinWindow}
	}
	return grouping{Reason: ReasonWindowPassed}
}

// recheckGrouping applies the rules that can change after a part was
// attached (the case was taken meanwhile, the photo's EXIF is far away):
// split reports whether the part must leave the case.
func recheckGrouping(c caseForParts, p partFacts, r groupingRules) (g grouping, split bool) {
	if !c.State.Open() {
		return grouping{Reason: ReasonCaseClosed}, true
	}
	if c.taken() && !(p.PositionOnly && c.Position == nil) && !p.Correction {
		return grouping{Reason: ReasonCaseTaken}, true
	}
	if p.Position != nil && c.Position != nil && r.Distance > 0 {
		if d := distanceM(p.Position.Lat, p.Position.Lon, c.Position.Lat, c.Position.Lon); d > r.Distance {
			return grouping{Reason: ReasonFarPosition, DistanceM: d}, true
		}
	}
	return grouping{}, false
}

// cutNewPrefix removes a leading "neu"/"new" (with ":" or "#") from text.
func cutNewPrefix(text string) (string, bool) {
	t := strings.TrimSpace(text)
	low := strings.ToLower(t)
	for _, p := range []string{"#neu", "#new", "neu", "new"} {
		if !strings.HasPrefix(low, p) {
			continue
		}
		rest := t[len(p):]
		switch {
		case rest == "":
			return "", true
		case rest[0] == ':' || rest[0] == ' ' || rest[0] == '\n' || rest[0] == ',' || rest[0] == '!':
			return strings.TrimSpace(strings.TrimLeft(rest, ":,! \n")), true
		}
	}
	return text, false
}
