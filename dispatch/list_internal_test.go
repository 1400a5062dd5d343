package dispatch

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/media"
)

func TestPlausibilityFlags(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	old := at.Add(-72 * time.Hour)
	here := &Position{Lat: 51.04, Lon: 7.58}
	far := &Position{Lat: 51.05, Lon: 7.58} // ~1.1 km north
	photo := func(p *media.Position, taken *time.Time) []MediaObject {
		return []MediaObject{{Metadata: &media.Metadata{Position: p, Taken: taken}}}
	}
	for _, tc := range []struct {
		name     string
		reports  []Report
		district string
		want     []string
		wantSrc  string
	}{
		{"none", []Report{{ReceivedAt: at}}, "", []string{FlagNoPosition}, ""},
		{"exif in district", []Report{{Position: here, PositionSource: SourceEXIF, ReceivedAt: at}}, "Nordstadt", []string{}, SourceEXIF},
		{"sender outside", []Report{{Position: here, PositionSource: SourceAPI, ReceivedAt: at}}, "", []string{FlagOutsideArea, FlagSenderPosition}, SourceAPI},
		{"two reports far apart", []Report{{Position: here, PositionSource: SourceEXIF, ReceivedAt: at}, {Position: far, PositionSource: SourceGeoURI, ReceivedAt: at}},
			"Nordstadt", []string{FlagSourcesDiffer}, SourceEXIF},
		{"old photo whose GPS disagrees", []Report{{Position: here, PositionSource: SourceGeoURI, ReceivedAt: at,
			Media: photo(&media.Position{Lat: far.Lat, Lon: far.Lon}, &old)}}, "Nordstadt", []string{FlagPhotoOld, FlagSourcesDiffer, FlagSenderPosition}, SourceGeoURI},
	} {
		pos, src, flags := plausibility(tc.reports, tc.district, time.UTC)
		if fmt.Sprint(flags) != fmt.Sprint(tc.want) || src != tc.wantSrc || (pos == nil) != (tc.wantSrc == "") {
			t.Errorf("%s: flags %v source %q pos %v; want %v %q", tc.name, flags, src, pos, tc.want, tc.wantSrc)
		}
	}
}

func TestCursorRoundTripAndForgery(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 123456000, time.UTC)
	id := uuid.Must(uuid.NewV7())
	gotAt, gotID, err := decodeCursor(encodeCursor(at, id))
	if err != nil || !gotAt.Equal(at) || gotID != id {
		t.Fatalf("round trip: %v %v %v", gotAt, gotID, err)
	}
	for _, bad := range []string{"", "!!", "MTIz", "YWJjLmRlZg"} {
		if _, _, err := decodeCursor(bad); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

func TestListQueryBindsEveryValue(t *testing.T) {
	evil := "x'); DROP TABLE incidents; --"
	sql, args, _, err := listQuery(IncidentFilter{Team: evil, District: evil, Query: evil, Scope: []string{evil}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sql, "DROP") {
		t.Errorf("a filter value reached the SQL text: %s", sql)
	}
	if len(args) != 6 { // scope, team, district, status, query, limit
		t.Errorf("args %d: %v", len(args), args)
	}
	if got := likeEscape(`50%_\`); got != `50\%\_\\` {
		t.Errorf("likeEscape: %q", got)
	}
}
