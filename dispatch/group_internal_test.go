package dispatch

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/media"
)

func TestDecideGrouping(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	here := &Position{Lat: 51.0251, Lon: 7.5919}
	near := &Position{Lat: 51.0255, Lon: 7.5919} // ≈45 m
	far := &Position{Lat: 51.0300, Lon: 7.5919}  // ≈545 m
	r := groupingRules{PartWindow: 60 * time.Second, LocationWindow: 2 * time.Hour, Distance: 100}
	open := func(pos *Position, ago time.Duration) *caseForParts {
		return &caseForParts{State: StateRouted, Position: pos, LastPartAt: t0.Add(-ago)}
	}
	cases := []struct {
		name   string
		c      *caseForParts
		p      partFacts
		join   bool
		reason string
	}{
		{"no case", nil, partFacts{At: t0}, false, ReasonNoRecentCase},
		{"neu", open(here, time.Second), partFacts{At: t0, New: true}, false, ReasonReporterNew},
		{"caption after photo", open(here, 3*time.Second), partFacts{At: t0}, true, ReasonWithinWindow},
		{"photo after caption", open(nil, 3*time.Second), partFacts{At: t0, Position: far}, true, ReasonWithinWindow},
		{"near photo", open(here, 5*time.Second), partFacts{At: t0, Position: near}, true, ReasonWithinWindow},
		{"far photo within seconds", open(here, 2*time.Second), partFacts{At: t0, Position: far}, false, ReasonFarPosition},
		{"far location much later", open(here, time.Hour), partFacts{At: t0, Position: far, PositionOnly: true}, false, ReasonFarPosition},
		{"late location", open(nil, 20*time.Minute), partFacts{At: t0, Position: far, PositionOnly: true}, true, ReasonLateLocation},
		{"too late location", open(nil, 3*time.Hour), partFacts{At: t0, Position: far, PositionOnly: true}, false, ReasonWindowPassed},
		{"text after window", open(here, 2*time.Minute), partFacts{At: t0}, false, ReasonWindowPassed},
		{"taken", &caseForParts{State: StateAcknowledged, Owner: "anna@x", Position: here, LastPartAt: t0.Add(-time.Second)},
			partFacts{At: t0}, false, ReasonCaseTaken},
		{"first of two confirmations", &caseForParts{State: StateRouted, Owner: "anna@x", Position: here, LastPartAt: t0.Add(-time.Second)},
			partFacts{At: t0}, false, ReasonCaseTaken},
		{"location for taken case", &caseForParts{State: StateAcknowledged, Owner: "anna@x", LastPartAt: t0.Add(-time.Minute)},
			partFacts{At: t0, Position: here, PositionOnly: true}, true, ReasonLocationForTaken},
		{"resolved", &caseForParts{State: StateResolved, Position: here, LastPartAt: t0.Add(-time.Second)}, partFacts{At: t0}, false, ReasonCaseClosed},
		{"rejected", &caseForParts{State: StateRejected, LastPartAt: t0.Add(-time.Second)}, partFacts{At: t0, Position: here, PositionOnly: true}, false, ReasonCaseClosed},
		{"merged", &caseForParts{State: StateMerged, LastPartAt: t0.Add(-time.Second)}, partFacts{At: t0}, false, ReasonCaseClosed},
		{"correction after the window", open(here, time.Hour), partFacts{At: t0, Correction: true}, true, ReasonCorrection},
		{"correction of a taken case", &caseForParts{State: StateAcknowledged, Owner: "anna@x", Position: here, LastPartAt: t0.Add(-time.Hour)},
			partFacts{At: t0, Correction: true}, true, ReasonCorrection},
		{"correction of a resolved case", &caseForParts{State: StateResolved, Position: here, LastPartAt: t0.Add(-time.Second)},
			partFacts{At: t0, Correction: true}, false, ReasonCaseClosed},
		{"correction with a far position", open(here, time.Minute), partFacts{At: t0, Position: far, Correction: true}, false, ReasonFarPosition},
	}
	for _, c := range cases {
		g := decideGrouping(c.c, c.p, r)
		if g.Join != c.join || g.Reason != c.reason {
			t.Errorf("%s: got join=%v reason=%s, want join=%v reason=%s", c.name, g.Join, g.Reason, c.join, c.reason)
		}
		if g.Reason == ReasonFarPosition && (g.DistanceM < 500 || g.DistanceM > 600) {
			t.Errorf("%s: distance %.0f m, want about 545", c.name, g.DistanceM)
		}
	}
	// Disabled windows never join anything but a location for a taken case.
	g := decideGrouping(open(here, time.Second), partFacts{At: t0}, groupingRules{PartWindow: -1, LocationWindow: -1, Distance: 100})
	if g.Join {
		t.Errorf("disabled windows joined: %+v", g)
	}
}

func TestCutNewPrefix(t *testing.T) {
	cases := []struct {
		in, out string
		ok      bool
	}{
		{"neu Gehwegplatte lose", "Gehwegplatte lose", true},
		{"Neu: Ampel defekt", "Ampel defekt", true},
		{"#neu Baum", "Baum", true},
		{"new: tree down", "tree down", true},
		{"neu", "", true},
		{"NEU!\nZweite Zeile", "Zweite Zeile", true},
		{"Neuer Schaden am Gully", "Neuer Schaden am Gully", false},
		{"newspaper box broken", "newspaper box broken", false},
		{"Gehweg neu gepflastert", "Gehweg neu gepflastert", false},
	}
	for _, c := range cases {
		out, ok := cutNewPrefix(c.in)
		if out != c.out || ok != c.ok {
			t.Errorf("cutNewPrefix(%q) = %q, %v; want %q, %v", c.in, out, ok, c.out, c.ok)
		}
	}
}

func TestPlausibility(t *testing.T) {
	recv := time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)
	old := recv.Add(-50 * time.Hour)
	fresh := recv.Add(-2 * time.Hour)
	photo := func(taken time.Time, lat, lon float64) MediaObject {
		md := mediaMetadata(taken, lat, lon)
		return MediaObject{Metadata: &md}
	}
	rep := Report{ReceivedAt: recv, Media: []MediaObject{photo(old, 51.0251, 7.5919)}}
	flags := plausibilityFlags(rep, nil, nil, 100, 24*time.Hour, time.UTC)
	if len(flags) != 1 || flags[0].Kind != flagPhotoOld || flags[0].AgeH != 50 {
		t.Errorf("old photo: flags %+v, want one photo_old of 50 h", flags)
	}
	rep = Report{ReceivedAt: recv, Media: []MediaObject{photo(fresh, 51.0251, 7.5919)}}
	sent := &Position{Lat: 51.0300, Lon: 7.5919}
	flags = plausibilityFlags(rep, sent, nil, 100, 24*time.Hour, time.UTC)
	if len(flags) != 1 || flags[0].Kind != flagPositionsDisagree || flags[0].DistanceM < 500 {
		t.Errorf("geo: and EXIF 545 m apart: flags %+v, want positions_disagree", flags)
	}
	if flags := plausibilityFlags(rep, &Position{Lat: 51.0252, Lon: 7.5919}, nil, 100, 24*time.Hour, time.UTC); len(flags) != 0 {
		t.Errorf("agreeing positions and a fresh photo flagged: %+v", flags)
	}
	for _, lang := range []string{"de", "en"} {
		for _, f := range []flag{{Kind: flagPhotoOld, TakenAt: old, AgeH: 50}, {Kind: flagPositionsDisagree, DistanceM: 545},
			{Kind: flagPositionsDisagree, DistanceM: 545, Other: "2026-000001"}} {
			if s := flagText(lang, time.UTC, f); s == "" || containsBadVerb(s) {
				t.Errorf("flag text %s %+v = %q", lang, f, s)
			}
		}
	}
}

func mediaMetadata(taken time.Time, lat, lon float64) media.Metadata {
	return media.Metadata{Taken: &taken, Position: &media.Position{Lat: lat, Lon: lon}}
}

func containsBadVerb(s string) bool { return strings.Contains(s, "%!") }

func TestUndoableJoin(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		c    caseForParts
		age  time.Duration
		want bool
	}{
		{"just joined", caseForParts{State: StateRouted}, 5 * time.Second, true},
		{"needs location", caseForParts{State: StateNeedsLocation}, time.Minute, true},
		{"escalated, not taken", caseForParts{State: StateEscalated}, time.Minute, true},
		{"at the window's end", caseForParts{State: StateRouted}, UndoWindow, true},
		{"after the window", caseForParts{State: StateRouted}, UndoWindow + time.Second, false},
		{"taken", caseForParts{State: StateAcknowledged, Owner: "anna@stadt.localhost"}, time.Minute, false},
		{"first of two confirmations", caseForParts{State: StateRouted, Owner: "anna@stadt.localhost"}, time.Minute, false},
		{"resolved", caseForParts{State: StateResolved}, time.Minute, false},
		{"rejected", caseForParts{State: StateRejected}, time.Minute, false},
		{"merged", caseForParts{State: StateMerged}, time.Minute, false},
		{"clock skew: joined in the future", caseForParts{State: StateRouted}, -time.Minute, false},
	} {
		if got := undoableJoin(tc.c, now.Add(-tc.age), now); got != tc.want {
			t.Errorf("%s: undoableJoin = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestPhotoAgeInTheTownsZone: a capture time without its UTC offset is
// the camera's wall clock in the town's zone (media.Metadata.TakenAt), so
// a Berlin photo taken at 13:00 in summer (11:00 UTC) is 25 hours old at
// 12:00 UTC the next day, not 23; one that says its offset is read as it
// says. Both the room post's flag and the incident list's flag read it so.
func TestPhotoAgeInTheTownsZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	recv := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	wall := time.Date(2026, 6, 30, 13, 0, 0, 0, time.UTC) // the camera's 13:00, labelled UTC
	for _, c := range []struct {
		name      string
		zoneKnown bool
		wantOld   bool
		wantAgeH  int
	}{
		{"wall clock in Berlin", false, true, 25},
		{"offset stated (UTC)", true, false, 0},
	} {
		md := mediaMetadata(wall, 51.0251, 7.5919)
		md.TakenZoneKnown = c.zoneKnown
		rep := Report{ReceivedAt: recv, Media: []MediaObject{{Metadata: &md}}}
		flags := plausibilityFlags(rep, nil, nil, 0, 24*time.Hour, berlin)
		old := len(flags) == 1 && flags[0].Kind == flagPhotoOld
		if old != c.wantOld || (old && flags[0].AgeH != c.wantAgeH) {
			t.Errorf("%s: flags %+v, want photo_old %v (%d h)", c.name, flags, c.wantOld, c.wantAgeH)
		}
		rep.Position, rep.PositionSource = &Position{Lat: 51.0251, Lon: 7.5919}, SourceEXIF
		_, _, listFlags := plausibility([]Report{rep}, "Nordstadt", berlin)
		if slices.Contains(listFlags, FlagPhotoOld) != c.wantOld {
			t.Errorf("%s: list flags %v, want photo_old %v", c.name, listFlags, c.wantOld)
		}
	}
}

// TestSeveralOldPhotosOneFlag: a report with two photos older than the
// limit gets one photo-old flag, for the oldest of them (the room post
// repeated the line for each photo).
func TestSeveralOldPhotosOneFlag(t *testing.T) {
	recv := time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)
	photo := func(taken time.Time) MediaObject {
		md := mediaMetadata(taken, 51.0251, 7.5919)
		return MediaObject{Metadata: &md}
	}
	rep := Report{ReceivedAt: recv, Media: []MediaObject{
		photo(recv.Add(-30 * time.Hour)), photo(recv.Add(-50 * time.Hour)), photo(recv.Add(-50 * time.Hour)), photo(recv.Add(-time.Hour))}}
	flags := plausibilityFlags(rep, nil, nil, 100, 24*time.Hour, time.UTC)
	if len(flags) != 1 || flags[0].Kind != flagPhotoOld || flags[0].AgeH != 50 {
		t.Errorf("flags %+v, want one photo_old of 50 h", flags)
	}
}

// TestPhotoTakenAfterItsReceipt: a capture time more than an hour after
// the report's receipt (a wrong camera clock) is flagged once per report,
// with the latest such time, in the room post's flags and the incident
// list's; half an hour after (clocks that differ a little) is not.
func TestPhotoTakenAfterItsReceipt(t *testing.T) {
	recv := time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)
	photo := func(taken time.Time) MediaObject {
		md := mediaMetadata(taken, 51.0251, 7.5919)
		md.TakenZoneKnown = true
		return MediaObject{Metadata: &md}
	}
	for _, c := range []struct {
		name   string
		taken  []time.Time
		want   bool
		wantAt time.Time
	}{
		{"half an hour after", []time.Time{recv.Add(30 * time.Minute)}, false, time.Time{}},
		{"a year after, and two days", []time.Time{recv.Add(48 * time.Hour), recv.AddDate(1, 0, 0), recv.Add(-time.Hour)}, true, recv.AddDate(1, 0, 0)},
	} {
		rep := Report{ReceivedAt: recv, Position: &Position{Lat: 51.0251, Lon: 7.5919}, PositionSource: SourceEXIF}
		for _, at := range c.taken {
			rep.Media = append(rep.Media, photo(at))
		}
		var future []flag
		for _, f := range plausibilityFlags(rep, nil, nil, 100, 24*time.Hour, time.UTC) {
			if f.Kind == flagPhotoFuture {
				future = append(future, f)
			}
		}
		if got := len(future) == 1; got != c.want || len(future) > 1 || (got && !future[0].TakenAt.Equal(c.wantAt)) {
			t.Errorf("%s: future flags %+v, want %v at %s", c.name, future, c.want, c.wantAt)
		}
		for _, f := range future {
			for _, lang := range []string{"de", "en"} {
				if s := flagText(lang, time.UTC, f); !strings.Contains(s, c.wantAt.Format("02.01.2006 15:04")) {
					t.Errorf("%s: %s text %q lacks the capture time", c.name, lang, s)
				}
			}
		}
		_, _, listFlags := plausibility([]Report{rep}, "Nordstadt", time.UTC)
		if slices.Contains(listFlags, FlagPhotoFuture) != c.want {
			t.Errorf("%s: list flags %v, want photo_time_future %v", c.name, listFlags, c.want)
		}
	}
}
