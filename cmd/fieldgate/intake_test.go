package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// intakeCase is what the table test reads back of one case of a sender.
type intakeCase struct {
	Number, Team, District, Source, State string
	Lat, Lon                              *float64
	Reports                               int
}

// sendersCases lists a sender's cases, oldest first.
func sendersCases(t *testing.T, db, sender string) []intakeCase {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT i.case_number, coalesce(i.team,''), i.district, i.state, m.position_source, m.lat, m.lon,
		       (SELECT count(*) FROM reports x WHERE x.incident_id = i.id)
		FROM incidents i JOIN reports m ON m.incident_id = i.id AND m.kind = 'report'
		WHERE i.id IN (SELECT incident_id FROM reports WHERE sender = $1)
		ORDER BY i.created_at`, sender)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []intakeCase
	for rows.Next() {
		var c intakeCase
		if err := rows.Scan(&c.Number, &c.Team, &c.District, &c.State, &c.Source, &c.Lat, &c.Lon, &c.Reports); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// waitCases waits until the sender has n cases whose reports are all
// processed, and returns them.
func waitCases(t *testing.T, db, sender string, n int, done func([]intakeCase) bool) []intakeCase {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		cs := sendersCases(t, db, sender)
		if len(cs) == n && (done == nil || done(cs)) {
			return cs
		}
		if time.Now().After(deadline) {
			t.Fatalf("sender %s: cases %+v, want %d", sender, cs, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func near(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-6 }

func located(cs []intakeCase) bool {
	for _, c := range cs {
		if c.Lat == nil || c.Team == "" {
			return false
		}
	}
	return true
}

// TestIntakeSequences drives the real chain (Prosody, the gateway,
// PostgreSQL, MinIO) with the message sequences field workers' messengers
// produce, and checks cases, positions, teams, room posts and what the
// reporter is told. Default grouping settings (60 s part window, 100 m).
func TestIntakeSequences(t *testing.T) {
	// Duplicate detection (a report within 30 m of an open case of the
	// same team becomes "+1" there) is off: several sequences use the
	// same photos, and duplicates have tests of their own.
	s := startStack(t, map[string]string{"FIELDGATE_XMPP_UPLOAD_HOSTS": "http://" + testsvc.XMPP(t).HTTP,
		"FIELDGATE_REPORTS_DUPLICATE_DISTANCE_M": "-1"})
	nord, sued, jugend := testsvc.Room("tiefbau", s.suffix), testsvc.Room("tiefbau-sued", s.suffix), testsvc.Room("jugendamt", s.suffix)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	anna.JoinRoom(nord, "anna-"+s.suffix)
	carla := testsvc.Login(t, testsvc.DemoUser("carla"))
	carla.JoinRoom(jugend, "carla-"+s.suffix)
	to := s.address("tiefbau")
	post := func(t *testing.T, c *testsvc.Client, what string, match func(testsvc.Message) bool) testsvc.Message {
		t.Helper()
		return waitMsg(t, c, what, func(m testsvc.Message) bool { return s.fromGateway(m) && match(m) })
	}
	reply := func(t *testing.T, c *testsvc.Client, what string, parts ...string) testsvc.Message {
		t.Helper()
		return waitMsg(t, c, what, func(m testsvc.Message) bool {
			for _, p := range parts {
				if !strings.Contains(m.Body, p) {
					return false
				}
			}
			return m.Type != "groupchat"
		})
	}
	mitte := testsvc.PhotoExpected(t, "gps_decimal_degrees.jpg") // 51.0234, 7.5921: Mitte, Tiefbau Nord
	munich := testsvc.PhotoExpected(t, "gps_ne.jpg")
	sydney := testsvc.PhotoExpected(t, "gps_se.jpg")
	xmp := testsvc.PhotoExpected(t, "xmp_gps_only.jpg")

	type worker struct {
		c   *testsvc.Client
		jid string
	}
	newWorker := func(t *testing.T) worker {
		t.Helper()
		acct := testsvc.User(t)
		return worker{testsvc.Login(t, acct), acct.JID}
	}
	rio := testsvc.PhotoExpected(t, "gps_sw.jpg")
	newYork := testsvc.PhotoExpected(t, "gps_nw.jpg")
	photo := func(w worker, p testsvc.PhotoInfo) { u := w.c.Upload(p.Path, p.Type); w.c.SendReport(to, "", u, u) }

	cases := []struct {
		name string
		run  func(t *testing.T, w worker)
	}{
		{"photo then caption", func(t *testing.T, w worker) {
			photo(w, mitte)
			first := reply(t, w.c, "the case number", "angenommen – weitergeleitet an Tiefbau Nord")
			caseNo := caseFromReply(t, first.Body)
			w.c.SendReport(to, "", "Schlagloch vor der Schule", "")
			reply(t, w.c, "the part receipt", "Zu Meldung "+caseNo+" hinzugefügt")
			orig := post(t, anna, "the post", func(m testsvc.Message) bool { return strings.Contains(m.Body, caseNo) && m.Replace == nil })
			post(t, anna, "the corrected post", func(m testsvc.Message) bool {
				return m.Replace != nil && m.Replace.ID == orig.ID && strings.Contains(m.Body, "Schlagloch vor der Schule") &&
					strings.Contains(m.Body, "geo:51.023400,7.592100") && strings.Contains(m.Body, "Foto (EXIF)")
			})
			cs := waitCases(t, s.db, w.jid, 1, located)
			if cs[0].Reports != 2 || !near(cs[0].Lat, *mitte.Lat) || cs[0].Source != "exif" || cs[0].Team != "tiefbau" {
				t.Errorf("case %+v, want one case with both parts at the photo's EXIF position", cs[0])
			}
		}},
		{"caption then photo", func(t *testing.T, w worker) {
			w.c.SendReport(to, "", "Gully verstopft", "")
			first := reply(t, w.c, "the case number", "angenommen", "fehlt der Standort")
			caseNo := caseFromReply(t, first.Body)
			orig := post(t, anna, "the post without position", func(m testsvc.Message) bool {
				return strings.Contains(m.Body, caseNo) && strings.Contains(m.Body, "Standort wird erfragt")
			})
			photo(w, mitte)
			reply(t, w.c, "the location receipt", "Standort zu Meldung "+caseNo+" erhalten")
			post(t, anna, "the post corrected with the photo's position", func(m testsvc.Message) bool {
				return m.Replace != nil && m.Replace.ID == orig.ID && strings.Contains(m.Body, "Gully verstopft") &&
					strings.Contains(m.Body, "geo:51.023400,7.592100") && len(m.OOB) == 1
			})
			cs := waitCases(t, s.db, w.jid, 1, located)
			if cs[0].State != "routed" || cs[0].District != "Mitte" || cs[0].Source != "exif" {
				t.Errorf("case %+v, want routed in Mitte from EXIF", cs[0])
			}
		}},
		{"three photos from three places within 10 s", func(t *testing.T, w worker) {
			photo(w, munich)
			photo(w, sydney)
			photo(w, rio)
			cs := waitCases(t, s.db, w.jid, 3, located)
			if !near(cs[0].Lat, *munich.Lat) {
				t.Errorf("first case %+v, want the first photo's position", cs[0])
			}
			for _, want := range []testsvc.PhotoInfo{munich, sydney, rio} {
				found := false
				for _, c := range cs {
					if c.Reports == 1 && near(c.Lat, *want.Lat) && near(c.Lon, *want.Lon) && c.Source == "exif" {
						found = true
						post(t, anna, "the post of "+c.Number, func(m testsvc.Message) bool {
							return strings.Contains(m.Body, c.Number) && strings.Contains(m.Body, fmt.Sprintf("geo:%.6f,%.6f", *want.Lat, *want.Lon))
						})
					}
				}
				if !found {
					t.Errorf("no case of its own at %s's position: %+v", want.File, cs)
				}
			}
			reply(t, w.c, "why a photo is a case of its own", "m von Meldung "+cs[0].Number+" entfernt")
		}},
		{"photo with GPS while an earlier case is open", func(t *testing.T, w worker) {
			w.c.SendReport(to, "", "Ampel ausgefallen geo:51.0251,7.5919", "")
			first := reply(t, w.c, "the first case", "angenommen – weitergeleitet an Tiefbau Nord (Bezirk Mitte)")
			caseNo := caseFromReply(t, first.Body)
			photo(w, newYork)
			cs := waitCases(t, s.db, w.jid, 2, located)
			if cs[0].Number != caseNo || cs[0].Source != "geo_uri" || cs[1].Source != "exif" || !near(cs[1].Lat, *newYork.Lat) {
				t.Errorf("cases %+v, want the open case kept and the photo in a new case at its own position", cs)
			}
			post(t, anna, "the new case's post", func(m testsvc.Message) bool {
				return strings.Contains(m.Body, cs[1].Number) && strings.Contains(m.Body, "entfernt gemeldet")
			})
		}},
		{"text without position, then geo: in another district", func(t *testing.T, w worker) {
			w.c.SendReport(to, "", "neu Gehwegplatte lose", "")
			first := reply(t, w.c, "the case number", "angenommen – weitergeleitet an Tiefbau Nord.", "fehlt der Standort")
			caseNo := caseFromReply(t, first.Body)
			orig := post(t, anna, "the post in Tiefbau Nord", func(m testsvc.Message) bool { return strings.Contains(m.Body, caseNo) })
			if strings.Contains(orig.Body, "neu Gehwegplatte") || !strings.Contains(orig.Body, "Gehwegplatte lose") {
				t.Errorf("post keeps the 'neu' prefix or lost the text:\n%s", orig.Body)
			}
			w.c.SendReport(to, "", "geo:51.0100,7.5750", "") // Südstadt
			reply(t, w.c, "the move", "Meldung "+caseNo+": Standort erhalten – weitergeleitet an Tiefbau Süd (Bezirk Südstadt)")
			// Nobody of the demo town is a member of Tiefbau Süd's room: the
			// gateway's post there is checked by the room's reflection.
			waitRoomPost(t, s.db, caseNo, sued)
			post(t, anna, "the note in Tiefbau Nord", func(m testsvc.Message) bool {
				return strings.Contains(m.Body, caseNo) && strings.Contains(m.Body, "weitergeleitet")
			})
			cs := waitCases(t, s.db, w.jid, 1, func(cs []intakeCase) bool { return cs[0].Team == "tiefbau-sued" })
			if cs[0].District != "Südstadt" || cs[0].Source != "geo_uri" {
				t.Errorf("case %+v, want Tiefbau Süd in Südstadt from the geo: URI", cs[0])
			}
		}},
		{"comma-decimal geo:", func(t *testing.T, w worker) {
			w.c.SendReport(to, "", "Gully-Deckel lose geo:51,02510,7,59190;u=9", "")
			reply(t, w.c, "the hint", "Meinten Sie geo:51.0251,7.5919?")
			w.c.SendReport(to, "", "geo:48,137154,11,576124", "")
			reply(t, w.c, "the hint for a bare URI", "geo:48.137154,11.576124", "nichts gespeichert")
			cs := waitCases(t, s.db, w.jid, 1, func(cs []intakeCase) bool { return cs[0].Team != "" })
			if cs[0].Lat != nil || cs[0].Reports != 1 {
				t.Errorf("case %+v, want no position and nothing stored of the bare URI", cs[0])
			}
		}},
		{"Android geo:0,0?q=…(label)", func(t *testing.T, w worker) {
			w.c.SendReport(to, "", "geo:0,0?q=51.0251,7.5919(Kanaldeckel klappert)", "")
			cs := waitCases(t, s.db, w.jid, 1, located)
			if !near(cs[0].Lat, 51.0251) || !near(cs[0].Lon, 7.5919) || cs[0].Source != "geo_uri" || cs[0].District != "Mitte" {
				t.Errorf("case %+v, want 51.0251,7.5919 from the intent's q", cs[0])
			}
			post(t, anna, "the post with the label", func(m testsvc.Message) bool {
				return strings.Contains(m.Body, cs[0].Number) && strings.Contains(m.Body, "Kanaldeckel klappert")
			})
		}},
		{"XMP-only GPS", func(t *testing.T, w worker) {
			photo(w, xmp)
			cs := waitCases(t, s.db, w.jid, 1, located)
			if !near(cs[0].Lat, *xmp.Lat) || !near(cs[0].Lon, *xmp.Lon) || cs[0].Source != "xmp" {
				t.Errorf("case %+v, want %v,%v from XMP", cs[0], *xmp.Lat, *xmp.Lon)
			}
			post(t, anna, "the post naming XMP", func(m testsvc.Message) bool {
				return strings.Contains(m.Body, cs[0].Number) && strings.Contains(m.Body, "Foto (XMP)")
			})
		}},
		{"urgent address posts without waiting", func(t *testing.T, w worker) {
			w.c.SendReport(s.address("jugendamt-bereitschaft"), "", "Kind allein auf Spielplatz, weint", "")
			m := post(t, carla, "the urgent post", func(m testsvc.Message) bool { return strings.Contains(m.Body, "Kind allein") })
			if !strings.Contains(m.Body, "DRINGEND") {
				t.Errorf("urgent post not marked:\n%s", m.Body)
			}
		}},
		{"a part after the case was taken", func(t *testing.T, w worker) {
			w.c.SendReport(to, "", "Bauzaun umgefallen geo:51.0251,7.5919", "")
			first := reply(t, w.c, "the case number", "angenommen – weitergeleitet an Tiefbau Nord")
			caseNo := caseFromReply(t, first.Body)
			post(t, anna, "the post", func(m testsvc.Message) bool { return strings.Contains(m.Body, caseNo) })
			anna.Groupchat(nord, "ok "+shortRef(caseNo))
			reply(t, w.c, "the take", caseNo, "bearbeitet")
			w.c.SendReport(to, "", "Noch ein Zaunteil auf der Fahrbahn", "")
			reply(t, w.c, "why it is a new case", "Meldung "+caseNo+" wird bereits bearbeitet")
			cs := waitCases(t, s.db, w.jid, 2, nil)
			if cs[0].Number != caseNo || cs[0].Reports != 1 || cs[1].Reports != 1 {
				t.Errorf("cases %+v, want the taken case untouched and a new one", cs)
			}
		}},
		{"a location for a taken case without one", func(t *testing.T, w worker) {
			w.c.SendReport(to, "", "Straßenlaterne brennt tagsüber", "")
			first := reply(t, w.c, "the case number", "angenommen", "fehlt der Standort")
			caseNo := caseFromReply(t, first.Body)
			post(t, anna, "the post without position", func(m testsvc.Message) bool {
				return strings.Contains(m.Body, caseNo) && strings.Contains(m.Body, "Standort wird erfragt")
			})
			anna.Groupchat(nord, "ok "+shortRef(caseNo))
			reply(t, w.c, "the take", caseNo, "bearbeitet")
			cs := waitCases(t, s.db, w.jid, 1, func(cs []intakeCase) bool { return cs[0].State == "acknowledged" })
			if cs[0].Lat != nil {
				t.Fatalf("case %+v has a position before the location was sent", cs[0])
			}
			w.c.SendReport(to, "", "geo:51.0251,7.5919", "")
			reply(t, w.c, "the reporter's receipt", "Standort zu Meldung "+caseNo+" erhalten und an die Bearbeitung weitergegeben")
			notice := waitMsg(t, anna, "the owner's 1:1 notice", func(m testsvc.Message) bool {
				return m.Type != "groupchat" && strings.Contains(m.Body, "Standort zu "+caseNo+" nachgereicht: geo:51.025100,7.591900")
			})
			// From the case's function address (in the owner's roster like
			// the reporter's), not from the bare component domain.
			if from := strings.SplitN(notice.From, "/", 2)[0]; !strings.EqualFold(from, to) {
				t.Errorf("the owner's notice comes from %q, want the case's address %s", from, to)
			}
			add := post(t, anna, "the addition line in the room", func(m testsvc.Message) bool {
				return m.Replace == nil && strings.Contains(m.Body, caseNo) && strings.Contains(m.Body, "geo:51.025100,7.591900")
			})
			if strings.Contains(add.Body, "Übernehmen") || !strings.Contains(add.Body, "erledigt "+shortRef(caseNo)) {
				t.Errorf("the addition to a taken case offers to take it, or not to resolve it:\n%s", add.Body)
			}
			cs = waitCases(t, s.db, w.jid, 1, located)
			if cs[0].Number != caseNo || cs[0].State != "acknowledged" || cs[0].Team != "tiefbau" || cs[0].Reports != 2 ||
				!near(cs[0].Lat, 51.0251) || !near(cs[0].Lon, 7.5919) || cs[0].Source != "geo_uri" {
				t.Errorf("case %+v, want %s still taken by Tiefbau Nord, with the geo: URI's position and both parts", cs[0], caseNo)
			}
		}},
		{"a bare neu undoes the last join", func(t *testing.T, w worker) {
			w.c.SendReport(to, "", "Wasserrohrbruch geo:51.0251,7.5919", "")
			first := reply(t, w.c, "the case number", "angenommen – weitergeleitet an Tiefbau Nord")
			caseNo := caseFromReply(t, first.Body)
			post(t, anna, "the post", func(m testsvc.Message) bool { return strings.Contains(m.Body, caseNo) && m.Replace == nil })
			w.c.SendReport(to, "", "Ampel an der Kreuzung ist aus", "")
			reply(t, w.c, "the part receipt", "Zu Meldung "+caseNo+" hinzugefügt")
			// The corrected post shows the part was processed: "neu" now undoes it.
			post(t, anna, "the corrected post", func(m testsvc.Message) bool {
				return m.Replace != nil && strings.Contains(m.Body, caseNo) && strings.Contains(m.Body, "Ampel an der Kreuzung")
			})
			w.c.SendReport(to, "", "neu", "")
			told := reply(t, w.c, "the split", "von Meldung "+caseNo+" abgetrennt und jetzt die eigene Meldung")
			newNo := strings.TrimSuffix(strings.Fields(strings.SplitN(told.Body, "eigene Meldung ", 2)[1])[0], ".")
			post(t, anna, "the new case's post", func(m testsvc.Message) bool {
				return m.Replace == nil && strings.Contains(m.Body, newNo) && strings.Contains(m.Body, "Ampel an der Kreuzung")
			})
			cs := waitCases(t, s.db, w.jid, 2, func(cs []intakeCase) bool { return cs[1].Team != "" })
			if cs[0].Number != caseNo || cs[0].Reports != 1 || cs[1].Number != newNo || cs[1].Reports != 1 {
				t.Errorf("cases %+v, want %s with its first message and %s with the split part", cs, caseNo, newNo)
			}
		}},
	}
	// Each sequence has a field worker of its own (leased for the whole
	// test): one worker's later sequence would rightly join its earlier case.
	workers := make([]worker, len(cases))
	for i := range cases {
		workers[i] = newWorker(t)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, workers[i]) })
	}
}

// waitMsg waits for a message c received that match accepts; it fails t
// (not the test that logged c in).
func waitMsg(t *testing.T, c *testsvc.Client, what string, match func(testsvc.Message) bool) testsvc.Message {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		msgs := c.Messages()
		for _, m := range msgs {
			if match(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			var got strings.Builder
			for _, m := range msgs {
				fmt.Fprintf(&got, "\n  %s %s: %.300q", m.Type, m.From, m.Body)
			}
			t.Fatalf("%s did not receive %s within 60s; got %d messages:%s", c.JID, what, len(msgs), got.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitRoomPost waits until a fresh post of caseNo was reflected by room.
func waitRoomPost(t *testing.T, db, caseNo, room string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM room_posts p JOIN incidents i ON i.id = p.incident_id
			WHERE i.case_number = $1 AND p.room = $2 AND p.replaces IS NULL AND p.posted_at IS NOT NULL`,
			caseNo, strings.ToLower(room)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no post of %s reflected by %s within 60s", caseNo, room)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
