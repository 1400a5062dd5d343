package dispatch_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/google/uuid"
)

// sender sends XMPP messages of one field worker to an address.
type sender struct {
	t    *testing.T
	svc  *dispatch.Service
	from string
	to   string
}

func (s sender) send(key, text string, pos *dispatch.Position) dispatch.Receipt {
	s.t.Helper()
	in := dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: s.to, Sender: s.from, IdempotencyKey: key, Text: text, Position: pos}
	if pos != nil {
		in.PositionSource = dispatch.SourceGeoURI
	}
	r, err := s.svc.Intake(context.Background(), in)
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

// waitProcessed waits until the report's processing job has run.
func waitProcessed(t *testing.T, svc *dispatch.Service, what string, report uuid.UUID) {
	t.Helper()
	waitFor(t, what, func() bool {
		v, err := svc.GetReport(context.Background(), report)
		return err == nil && v.Report.ProcessedAt != nil
	})
}

// TestPartsCompleteTheCase: the first message is posted at once; a late
// location joins and re-routes it, a caption corrects the post in place
// (XEP-0308), a resent message adds nothing, a location far away and
// "neu …" open new cases.
func TestPartsCompleteTheCase(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec})
	start(t, svc)
	ctx := context.Background()
	w := sender{t, svc, "streife1@stadt.localhost", "tiefbau"}

	first := w.send("m1", "Schlagloch, ca. 30 cm tief", nil)
	waitFor(t, "the first post", func() bool { p, _ := rec.snapshot(); return len(p) == 1 })
	posts, _ := rec.snapshot()
	if !strings.Contains(posts[0].Body, "Standort wird erfragt") || posts[0].Replaces != "" {
		t.Fatalf("first post = %q (replaces %q)", posts[0].Body, posts[0].Replaces)
	}
	v, _ := svc.GetReport(ctx, first.ReportID)
	if v.Incident.State != dispatch.StateNeedsLocation {
		t.Fatalf("state %s, want needs_location", v.Incident.State)
	}

	loc := w.send("m2", "", &dispatch.Position{Lat: 51.025, Lon: 7.59194})
	again := w.send("m2", "", &dispatch.Position{Lat: 51.025, Lon: 7.59194})
	if loc.Mode != dispatch.ModeFollowUp || loc.CaseNumber != first.CaseNumber || !again.Replayed {
		t.Fatalf("location: %+v, resent: %+v", loc, again)
	}
	waitFor(t, "the corrected post with the position", func() bool {
		p, _ := rec.snapshot()
		return len(p) == 2 && p[1].Replaces == posts[0].OriginID && strings.Contains(p[1].Body, "geo:51.025000,7.591940") &&
			strings.Contains(p[1].Body, "Bezirk Mitte") && strings.Contains(p[1].Body, "Schlagloch")
	})
	v, _ = svc.GetReport(ctx, first.ReportID)
	if v.Incident.State != dispatch.StateRouted || v.Report.Position == nil || v.Report.PositionSource != dispatch.SourceGeoURI || v.Incident.District != "Mitte" {
		t.Fatalf("after the location: state %s position %+v district %q", v.Incident.State, v.Report.Position, v.Incident.District)
	}

	caption := w.send("m3", "Absperrung steht jetzt", nil)
	if caption.Mode != dispatch.ModeAppended || caption.IncidentID != first.IncidentID {
		t.Fatalf("caption receipt = %+v", caption)
	}
	waitFor(t, "the post corrected with the caption", func() bool {
		p, _ := rec.snapshot()
		last := p[len(p)-1]
		return len(p) >= 3 && last.Replaces == posts[0].OriginID && strings.Contains(last.Body, "Schlagloch, ca. 30 cm tief\n") &&
			strings.Contains(last.Body, "Absperrung steht jetzt\n")
	})
	if p, _ := rec.snapshot(); len(p) != 3 {
		for _, x := range p {
			t.Logf("post (replaces %q): %q", x.Replaces, x.Body)
		}
		t.Errorf("%d posts, want the post and two corrections", len(p))
	}

	far := w.send("m4", "", &dispatch.Position{Lat: 51.0300, Lon: 7.59194})
	if far.CaseNumber == first.CaseNumber || far.Mode != dispatch.ModeNew {
		t.Fatalf("a location 555 m away joined the case: %+v", far)
	}
	fresh := w.send("m5", "neu: Ampel ausgefallen", nil)
	if fresh.Mode != dispatch.ModeNew || fresh.CaseNumber == far.CaseNumber {
		t.Fatalf("'neu' did not open a new case: %+v", fresh)
	}
	v, _ = svc.GetReport(ctx, fresh.ReportID)
	if v.Report.Text != "Ampel ausgefallen" {
		t.Errorf("the 'neu' prefix was kept: %q", v.Report.Text)
	}
	waitFor(t, "the reporter's messages", func() bool {
		_, c := rec.snapshot()
		var joined, located, notJoined bool
		for _, m := range c {
			joined = joined || strings.Contains(m.Body, "Zu Meldung "+first.CaseNumber+" hinzugefügt")
			located = located || strings.Contains(m.Body, "Standort zu Meldung "+first.CaseNumber+" erhalten")
			notJoined = notJoined || strings.Contains(m.Body, "von Meldung "+first.CaseNumber+" entfernt") && strings.Contains(m.Body, far.CaseNumber)
		}
		return joined && located && notJoined
	})
	var reasons []string
	rows, _ := pool.Query(ctx, `SELECT coalesce(detail->>'reason', detail->>'grouping') FROM incident_events
		WHERE kind IN ('grouped','received') ORDER BY id`)
	for rows.Next() {
		var r string
		_ = rows.Scan(&r)
		reasons = append(reasons, r)
	}
	rows.Close()
	want := "no_recent_case late_location within_part_window far_position reporter_new"
	if strings.Join(reasons, " ") != want {
		t.Errorf("grouping reasons in the trail = %v, want %s", reasons, want)
	}
}

// TestLateLocationMovesTheCase: a text without position goes to the
// default team at once; a location in the south moves it to Tiefbau Süd
// (a fresh post there, a note in the old room) and the reporter is told.
func TestLateLocationMovesTheCase(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec})
	start(t, svc)
	ctx := context.Background()
	w := sender{t, svc, "streife2@stadt.localhost", "tiefbau"}
	r := w.send("s1", "neu Gehwegplatte lose", nil)
	waitFor(t, "the first post", func() bool { p, _ := rec.snapshot(); return len(p) == 1 })
	w.send("s2", "", &dispatch.Position{Lat: 51.0100, Lon: 7.5750}) // Südstadt
	waitFor(t, "the move", func() bool {
		p, c := rec.snapshot()
		var fresh, note, told bool
		for _, x := range p {
			fresh = fresh || x.Room == "tiefbau-sued@conference.stadt.localhost" && strings.Contains(x.Body, "Gehwegplatte lose") && x.Replaces == ""
			note = note || x.Room == "tiefbau@conference.stadt.localhost" && strings.Contains(x.Body, "weitergeleitet")
		}
		for _, m := range c {
			told = told || strings.Contains(m.Body, "Standort erhalten – weitergeleitet an")
		}
		return fresh && note && told
	})
	v, _ := svc.GetReport(ctx, r.ReportID)
	if v.Incident.Team != "tiefbau-sued" || v.Incident.District != "Südstadt" || v.Report.Text != "Gehwegplatte lose" {
		t.Fatalf("after the location: team %q district %q text %q", v.Incident.Team, v.Incident.District, v.Report.Text)
	}
	p, _ := rec.snapshot()
	if strings.Contains(p[0].Body, "neu ") {
		t.Errorf("the 'neu' prefix is in the post: %q", p[0].Body)
	}
}

// TestPartAfterTakeOpensNewCase: once someone took the case, a further
// text is a new case, and the reporter hears why.
func TestPartAfterTakeOpensNewCase(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec})
	start(t, svc)
	ctx := context.Background()
	w := sender{t, svc, "streife3@stadt.localhost", "tiefbau"}
	first := w.send("t1", "Ampel blinkt", &dispatch.Position{Lat: 51.025, Lon: 7.59194})
	waitFor(t, "the post", func() bool { p, _ := rec.snapshot(); return len(p) == 1 })
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: first.CaseNumber,
		Actor: "anna@stadt.localhost", Via: "room", Room: "tiefbau@conference.stadt.localhost"}); err != nil {
		t.Fatal(err)
	}
	next := w.send("t2", "Noch ein Schlagloch daneben", nil)
	if next.CaseNumber == first.CaseNumber || next.Mode != dispatch.ModeNew {
		t.Fatalf("a part after the take joined the taken case: %+v", next)
	}
	waitFor(t, "the reason", func() bool {
		_, c := rec.snapshot()
		for _, m := range c {
			if strings.Contains(m.Body, "Meldung "+first.CaseNumber+" wird bereits bearbeitet") {
				return true
			}
		}
		return false
	})
}

// TestTwoPersonRuleAnnouncedAndReporterTold: the post announces the
// two-person rule, and the reporter hears "wird jetzt bearbeitet" only
// after the second confirmation.
func TestTwoPersonRuleAnnouncedAndReporterTold(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Rules: confirmRules})
	start(t, svc)
	w := sender{t, svc, "streife1@stadt.localhost", "kinder"}
	r := w.send("k1", "Kind allein in der Wohnung", nil)
	waitFor(t, "the post", func() bool {
		p, _ := rec.snapshot()
		return postsTo(p, kinderRoom, "Zwei-Personen-Regel: 2 Bestätigungen") == 1
	})
	told := func() int {
		_, c := rec.snapshot()
		n := 0
		for _, m := range c {
			if strings.Contains(m.Body, r.CaseNumber+" wird jetzt von") {
				n++
			}
		}
		return n
	}
	if _, err := take(svc, r.CaseNumber, "anna@stadt.localhost", kinderRoom); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first confirmation", func() bool { p, _ := rec.snapshot(); return postsTo(p, kinderRoom, "zweite Bestätigung nötig") == 1 })
	if n := told(); n != 0 {
		t.Fatalf("the reporter was told it is being handled after the first of two confirmations (%d)", n)
	}
	if _, err := take(svc, r.CaseNumber, "ben@stadt.localhost", kinderRoom); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reporter's status after the second confirmation", func() bool { return told() == 1 })
}

// TestFullFunctionAddress: the API accepts "tiefbau@reports.…" as well as "tiefbau".
func TestFullFunctionAddress(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool})
	r, err := svc.Intake(context.Background(), dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "Tiefbau@reports.stadt.localhost",
		Sender: "token:app", Text: "Schlagloch", Position: &dispatch.Position{Lat: 51.025, Lon: 7.59194}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := svc.GetReport(context.Background(), r.ReportID)
	if err != nil || v.Report.Address != "tiefbau" {
		t.Fatalf("stored address %q (%v), want tiefbau", v.Report.Address, err)
	}
}

// caseWithPart starts a service and has field worker from send a report
// with a position to tiefbau, then a text that joins it as a part; it
// returns once the part is processed.
func caseWithPart(t *testing.T, from, text, partText string) (*dispatch.Service, *recorder, dispatch.Receipt, dispatch.Receipt) {
	t.Helper()
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: testsvc.Pool(t), Messenger: rec})
	start(t, svc)
	w := sender{t, svc, from, "tiefbau"}
	first := w.send("first", text, &dispatch.Position{Lat: 51.025, Lon: 7.59194})
	waitFor(t, "the post", func() bool { p, _ := rec.snapshot(); return len(p) == 1 })
	part := w.send("part", partText, nil)
	if part.IncidentID != first.IncidentID || part.Mode != dispatch.ModeAppended {
		t.Fatalf("the part did not join: %+v", part)
	}
	waitProcessed(t, svc, "the part processed", part.ReportID)
	return svc, rec, first, part
}

// TestTrennenSplitsLastPart: a dispatcher's "trennen" on a case that is
// not a duplicate undoes the grouping of its latest part, which becomes a
// case of its own, routed and posted; the reporter is told.
func TestTrennenSplitsLastPart(t *testing.T) {
	svc, rec, first, part := caseWithPart(t, "streife2@stadt.localhost", "Schlagloch", "Ampel gegenüber ist auch aus")
	ctx := context.Background()
	if _, err := svc.Unmerge(ctx, dispatch.UnmergeCommand{Ref: first.CaseNumber, Actor: "anna@stadt.localhost", Via: "room"}); err == nil {
		t.Fatal("a member who is no dispatcher split a part off")
	}
	res, err := svc.Unmerge(ctx, dispatch.UnmergeCommand{Ref: first.CaseNumber, Actor: "dora@stadt.localhost", Via: "room", Dispatcher: true})
	if err != nil || !strings.Contains(res.Reply.In("de"), "abgetrennt") {
		t.Fatalf("trennen: %+v %v", res, err)
	}
	waitFor(t, "the split part routed as a case of its own", func() bool {
		v, err := svc.GetReport(ctx, part.ReportID)
		return err == nil && v.Report.IncidentID != first.IncidentID && v.Incident.Team == "tiefbau" && v.Report.Kind == "report"
	})
	waitFor(t, "its post and the reporter's message", func() bool {
		p, c := rec.snapshot()
		posted, told := false, false
		for _, x := range p {
			posted = posted || strings.Contains(x.Body, "Ampel gegenüber") && !strings.Contains(x.Body, first.CaseNumber) && x.Replaces == ""
		}
		for _, m := range c {
			told = told || strings.Contains(m.Body, "als eigene Meldung")
		}
		return posted && told
	})
	if _, err := svc.Unmerge(ctx, dispatch.UnmergeCommand{Ref: first.CaseNumber, Actor: "dora@stadt.localhost", Via: "room", Dispatcher: true}); err == nil {
		t.Error("a case without parts was split again")
	}
}

// TestBareNeuUndoesLastJoin: a reporter's bare "neu" right after a part
// joined their case splits that part off into a case of its own (routed and
// posted, the old post corrected, the trail and the reporter told); a
// resend of the same "neu" does not split again; with nothing to undo, or
// once the case is taken, "neu" alone asks for the new report's content.
func TestBareNeuUndoesLastJoin(t *testing.T) {
	svc, rec, first, part := caseWithPart(t, "streife5@stadt.localhost", "Gullydeckel fehlt", "Laterne flackert")
	ctx := context.Background()
	w := sender{t, svc, "streife5@stadt.localhost", "tiefbau"}

	undo := w.send("n3", "neu", nil)
	if undo.Mode != dispatch.ModeSplit || undo.ReportID != part.ReportID || undo.CaseNumber == first.CaseNumber {
		t.Fatalf("bare neu: %+v, want the part %s as a new case", undo, part.ReportID)
	}
	waitFor(t, "the split part routed as a case of its own", func() bool {
		v, err := svc.GetReport(ctx, part.ReportID)
		return err == nil && v.Report.IncidentID == undo.IncidentID && v.Report.Kind == "report" && v.Incident.Team == "tiefbau"
	})
	v, err := svc.GetReport(ctx, first.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	split := false
	for _, e := range v.Events {
		split = split || e.Kind == "part_split" && e.Detail["reason"] == dispatch.ReasonReporterNew && e.Detail["to_case"] == undo.CaseNumber && e.Actor == w.from
	}
	if !split {
		t.Errorf("no part_split event with reason %s on %s: %+v", dispatch.ReasonReporterNew, first.CaseNumber, v.Events)
	}
	waitFor(t, "the new case's post, the corrected old post and the reporter's message", func() bool {
		p, c := rec.snapshot()
		posted, corrected, told := false, false, false
		for _, x := range p {
			posted = posted || strings.Contains(x.Body, undo.CaseNumber) && strings.Contains(x.Body, "Laterne flackert") && x.Replaces == ""
			corrected = corrected || x.Replaces != "" && strings.Contains(x.Body, first.CaseNumber) && !strings.Contains(x.Body, "Laterne flackert")
		}
		for _, m := range c {
			told = told || m.To == w.from && strings.Contains(m.Body, "von Meldung "+first.CaseNumber+" abgetrennt und jetzt die eigene Meldung "+undo.CaseNumber)
		}
		return posted && corrected && told
	})

	// The same "neu" again (a client's resend): the same receipt, no new split.
	again := w.send("n3", "neu", nil)
	if again.CaseNumber != undo.CaseNumber || !again.Replayed {
		t.Errorf("resent neu: %+v, want the replayed receipt of %s", again, undo.CaseNumber)
	}
	// A new "neu": the last message is now a case of its own, nothing to undo.
	if _, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: w.from, IdempotencyKey: "n4", Text: "neu"}); !errors.Is(err, dispatch.ErrInvalid) ||
		!strings.Contains(msgDE(err), "Nach „neu“ bitte den Text") {
		t.Errorf("neu with nothing to undo: %v", err)
	}

	// A part of a taken case cannot be split off by the reporter.
	third := w.send("n5", "Baustellenschild umgefallen", &dispatch.Position{Lat: 51.0301, Lon: 7.6001})
	waitFor(t, "the third post", func() bool {
		p, _ := rec.snapshot()
		for _, x := range p {
			if strings.Contains(x.Body, third.CaseNumber) {
				return true
			}
		}
		return false
	})
	joined := w.send("n6", "liegt auf dem Radweg", nil)
	if joined.IncidentID != third.IncidentID {
		t.Fatalf("the part did not join: %+v", joined)
	}
	waitProcessed(t, svc, "the part processed", joined.ReportID)
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: third.CaseNumber,
		Actor: "anna@stadt.localhost", Via: "room", Room: "tiefbau@conference.stadt.localhost"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: w.from, IdempotencyKey: "n7", Text: "neu"}); !errors.Is(err, dispatch.ErrInvalid) {
		t.Errorf("neu after the take: %v, want the request for content", err)
	}
	if v, err := svc.GetReport(ctx, joined.ReportID); err != nil || v.Report.IncidentID != third.IncidentID {
		t.Errorf("the part of the taken case moved: %+v %v", v.Report, err)
	}
}

// msgDE is a domain error as a German reader sees it.
func msgDE(err error) string {
	var de *dispatch.Error
	if errors.As(err, &de) {
		return de.In("de")
	}
	return ""
}

// TestNotJoinedTextReportOneReply: a field worker's second text report,
// 1 km from the first and within the window, is a case of its own,
// routed at intake like the first: the reporter gets one reply that says
// why it did not join the first case and where the new one went, and
// the new incident's trail is the lean one (received, routed, posted).
func TestNotJoinedTextReportOneReply(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec})
	start(t, svc)
	ctx := context.Background()
	w := sender{t, svc, "streife2@stadt.localhost", "tiefbau"}
	first := w.send("n1", "Schlagloch vor Hausnummer 12", &dispatch.Position{Lat: 51.0251, Lon: 7.59194})
	second := w.send("n2", "Gullydeckel fehlt", &dispatch.Position{Lat: 51.0341, Lon: 7.59194})
	if second.Mode != dispatch.ModeNew || second.CaseNumber == first.CaseNumber {
		t.Fatalf("second report %+v joined the first %s", second, first.CaseNumber)
	}
	waitFor(t, "both cases posted", func() bool { p, _ := rec.snapshot(); return len(p) == 2 })
	waitFor(t, "the replies", func() bool { _, c := rec.snapshot(); return chatsTo(c, w.from, second.CaseNumber) > 0 })
	time.Sleep(200 * time.Millisecond) // a second reply would be queued by now
	_, chats := rec.snapshot()
	if n := chatsTo(chats, w.from, second.CaseNumber); n != 1 {
		t.Fatalf("%d replies name %s, want 1: %+v", n, second.CaseNumber, chats)
	}
	for _, c := range chats {
		if strings.Contains(c.Body, second.CaseNumber) &&
			(!strings.Contains(c.Body, "von Meldung "+first.CaseNumber+" entfernt") || !strings.Contains(c.Body, second.CaseNumber+" angenommen")) {
			t.Errorf("the reply does not say both why and where: %q", c.Body)
		}
	}
	trail := func() string {
		var kinds []string
		rows, err := pool.Query(ctx, `SELECT kind FROM incident_events WHERE incident_id = $1 ORDER BY id`, second.IncidentID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			kinds = append(kinds, k)
		}
		return strings.Join(kinds, " ")
	}
	const want = "received routed posted"
	deadline := time.Now().Add(10 * time.Second)
	for got := trail(); got != want; got = trail() {
		if time.Now().After(deadline) {
			t.Fatalf("trail of the second incident %q, want %q", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNotJoinedTextReportRetriedAtOnce: the messenger resends a message
// that opens a case of its own (1 km from the sender's previous one) five
// times at once, with one origin-id, while the first is being stored.
// One incident, one post and one reply come of it, and every attempt is
// answered with its case number.
func TestNotJoinedTextReportRetriedAtOnce(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec})
	start(t, svc)
	ctx := context.Background()
	const from = "streife4@stadt.localhost"
	w := sender{t, svc, from, "tiefbau"}
	first := w.send("r1", "Ampel ausgefallen", &dispatch.Position{Lat: 51.0251, Lon: 7.59194})
	waitFor(t, "the first post", func() bool { p, _ := rec.snapshot(); return len(p) == 1 })

	const attempts = 5
	receipts := make([]dispatch.Receipt, attempts)
	errs := make([]error, attempts)
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			receipts[i], errs[i] = svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: from,
				IdempotencyKey: "r2", Text: "Baum auf der Fahrbahn", Position: &dispatch.Position{Lat: 51.0341, Lon: 7.59194},
				PositionSource: dispatch.SourceGeoURI})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if receipts[i].IncidentID != receipts[0].IncidentID || receipts[i].CaseNumber != receipts[0].CaseNumber || receipts[i].CaseNumber == first.CaseNumber {
			t.Fatalf("attempt %d answered %+v, attempt 0 %+v (first case %s)", i, receipts[i], receipts[0], first.CaseNumber)
		}
	}
	second := receipts[0]
	var incidents int
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT incident_id) FROM reports WHERE sender = $1`, from).Scan(&incidents); err != nil {
		t.Fatal(err)
	}
	if incidents != 2 {
		t.Errorf("%d incidents for the sender, want 2", incidents)
	}
	waitFor(t, "the second post and its reply", func() bool {
		p, c := rec.snapshot()
		return len(p) == 2 && chatsTo(c, from, second.CaseNumber) > 0
	})
	time.Sleep(200 * time.Millisecond) // a second post or reply would be out by now
	posts, chats := rec.snapshot()
	if len(posts) != 2 || chatsTo(chats, from, second.CaseNumber) != 1 {
		t.Errorf("%d posts and %d replies naming %s, want 2 and 1", len(posts), chatsTo(chats, from, second.CaseNumber), second.CaseNumber)
	}
	if n := eventCount(t, pool, second.IncidentID, "received"); n != 1 {
		t.Errorf("%d received events for %s, want 1", n, second.CaseNumber)
	}
}

// TestResendRacingItsFirstIsReplayed: a messenger resends a stanza whose
// acknowledgement it missed (XEP-0198) under the same XEP-0359 origin-id
// while the first is still being stored (here: both wait for the
// sender's earlier message). The key was looked up before the sender's
// lock, so the resend found nothing and ran as a message of its own: a
// resent bare "neu" found nothing left to undo and was refused ("neu"
// needs content), and the worker was told their message failed. Now the
// key is looked up after the lock: both get the split's receipt, one of
// them as a replay, and nothing is split twice.
func TestResendRacingItsFirstIsReplayed(t *testing.T) {
	svc, _, first, part := caseWithPart(t, "streife7@stadt.localhost", "Gullydeckel fehlt", "Laterne flackert")
	ctx := context.Background()
	w := sender{t, svc, "streife7@stadt.localhost", "tiefbau"}

	release, waiting := dispatch.HoldSenderLock(t, svc, w.from, "tiefbau")
	var recs [2]dispatch.Receipt
	var errs [2]error
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			recs[i], errs[i] = svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: w.from,
				IdempotencyKey: "origin:n3", Text: "neu"})
		})
	}
	waitFor(t, "the message and its resend waiting for the sender's lock", func() bool { return waiting() == 2 })
	release()
	wg.Wait()
	replayed := 0
	for i := range 2 {
		if errs[i] != nil || recs[i].ReportID != part.ReportID || recs[i].CaseNumber != recs[0].CaseNumber {
			t.Errorf("intake %d: %+v, %v; want the split part %s's receipt", i, recs[i], errs[i], part.ReportID)
		}
		if recs[i].Replayed {
			replayed++
		}
	}
	if replayed != 1 {
		t.Errorf("%d of the two receipts replayed, want 1: %+v", replayed, recs)
	}
	v, err := svc.GetReport(ctx, first.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if n := countEvents(v.Events, "part_split"); n != 1 {
		t.Errorf("%d part_split events on %s, want 1: %+v", n, first.CaseNumber, v.Events)
	}
}
