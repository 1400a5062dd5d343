package routing

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeRules writes a rules file (and optionally districts.geojson) into
// a temporary directory and returns the rules file's path.
func writeRules(t testing.TB, rules, geojson string) string {
	t.Helper()
	dir := t.TempDir()
	if geojson != "" {
		if err := os.WriteFile(filepath.Join(dir, "districts.geojson"), []byte(geojson), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(p, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t testing.TB, rules, geojson string) *RuleSet {
	t.Helper()
	rs, err := Load(writeRules(t, rules, geojson))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return rs
}

var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return l
}()

// local is a wall-clock time in Berlin.
func local(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04", s, berlin)
	if err != nil {
		panic(err)
	}
	return t
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04Z", s)
	if err != nil {
		panic(err)
	}
	return t
}

func pos(lat, lon float64) *Point { return &Point{Lat: lat, Lon: lon} }

// sameDecision compares everything but the trail.
func sameDecision(a, b Decision) bool {
	if a.Rule != b.Rule || a.Team != b.Team || a.Priority != b.Priority || a.Policy != b.Policy ||
		a.District != b.District || a.Category != b.Category || len(a.CC) != len(b.CC) {
		return false
	}
	for i := range a.CC {
		if a.CC[i] != b.CC[i] {
			return false
		}
	}
	return true
}

// unitGeo: "Quadrat" is the square lon 7.50..7.60, lat 51.00..51.10 with
// a hole lon 7.54..7.56, lat 51.04..51.06; "Loch" fills the hole;
// "Dreieck" is a triangle east of it; "Doppel" is a multipolygon.
const unitGeo = `{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"name": "Quadrat"}, "geometry": {"type": "Polygon", "coordinates": [
   [[7.50, 51.00], [7.60, 51.00], [7.60, 51.10], [7.50, 51.10], [7.50, 51.00]],
   [[7.54, 51.04], [7.54, 51.06], [7.56, 51.06], [7.56, 51.04], [7.54, 51.04]]]}},
 {"type": "Feature", "properties": {"name": "Loch"}, "geometry": {"type": "Polygon", "coordinates": [
   [[7.54, 51.04], [7.56, 51.04], [7.56, 51.06], [7.54, 51.06], [7.54, 51.04]]]}},
 {"type": "Feature", "properties": {"name": "Dreieck"}, "geometry": {"type": "Polygon", "coordinates": [
   [[7.70, 51.00], [7.80, 51.00], [7.75, 51.10], [7.70, 51.00]]]}},
 {"type": "Feature", "properties": {"name": "Doppel"}, "geometry": {"type": "MultiPolygon", "coordinates": [
   [[[7.90, 51.00], [7.95, 51.00], [7.95, 51.05], [7.90, 51.05], [7.90, 51.00]]],
   [[[8.00, 51.00], [8.05, 51.00], [8.05, 51.05], [8.00, 51.05], [8.00, 51.00]]]]}}
]}`

// unitHead is the common head of the unit-test rule files.
const unitHead = `
timezone: Europe/Berlin
holidays: [2026-12-25]
groups:
  streife: [streife1@stadt.localhost, streife2@stadt.localhost]
  partner: [partner.example]
areas:
  file: districts.geojson
  groups:
    dreiecke: [Dreieck]
policies:
  standard:
    levels:
      - {after: 30m, notify: room}
      - {after: 1h, notify: "team:leitstelle"}
  urgent:
    ack_timeout: 2h
    levels:
      - {after: 5m, notify: oncall}
      - {after: 15m, notify: "team:leitstelle", repeat: 2, repeat_every: 10m}
schedules:
  bereitschaft:
    rotation: [carla@stadt.localhost, dave@stadt.localhost]
    start: 2026-01-05T08:00
    period: 7d
    overrides:
      - {from: 2026-12-24T00:00, to: 2026-12-27T00:00, person: dave@stadt.localhost}
teams:
  a: {room: a@conference.stadt.localhost, policy: standard, hours: [{days: [mon-fri], hours: "08:00-16:00"}]}
  b: {room: b@conference.stadt.localhost}
  c: {room: c@conference.stadt.localhost}
  d: {room: d@conference.stadt.localhost}
  e: {room: e@conference.stadt.localhost}
  f: {room: f@conference.stadt.localhost}
  g: {room: g@conference.stadt.localhost}
  h: {room: h@conference.stadt.localhost}
  i: {room: i@conference.stadt.localhost}
  j: {room: j@conference.stadt.localhost}
  k: {room: k@conference.stadt.localhost}
  bereit: {room: a@conference.stadt.localhost, oncall: bereitschaft, policy: urgent}
  leitstelle: {room: leitstelle@conference.stadt.localhost}
addresses:
  adr: {allow: [stadt.localhost]}
  kw: {allow: [public]}
  area: {allow: [public]}
  near: {allow: [public]}
  pos: {allow: [public]}
  nopos: {allow: [public]}
  time: {allow: [public]}
  nottime: {allow: [public]}
  hours: {allow: [public]}
  sender: {allow: [public]}
  urg: {allow: [public]}
  alarm: {allow: [public], urgent: true}
  fallback: {allow: [public], default_team: b}
`
