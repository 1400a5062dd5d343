package dispatch_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestReply: a team member answers the reporter with free text and with a
// canned text; the room is told without the reporter's JID; an API report
// keeps the reply in its history.
func TestReply(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, RulesFile: lifecycleRulesFile(t), Config: dispatch.Config{AssemblyWindow: -1,
		Templates: map[string]map[string]string{"gesperrt": {"de": "Die Stelle ist abgesperrt ({case})."}}}})
	start(t, svc)
	ctx := context.Background()
	r := xmppReport(t, svc, rec, "max@stadt.localhost", "Schlagloch am Markt", nil)

	cmd := dispatch.ReplyCommand{Ref: r.CaseNumber, Text: "/erledigt Danke für das Foto.", Actor: "otto@stadt.localhost", Via: "room", Room: roomOrdnung}
	res, err := svc.Reply(ctx, cmd)
	if err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("reply: %+v %v", res, err)
	}
	cmd.Text = "/gesperrt"
	if _, err := svc.Reply(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	cmd.Text = "Wir kommen morgen früh."
	if _, err := svc.Reply(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three replies and three room notes", func() bool {
		p, c := rec.snapshot()
		return chatsTo(c, "max@stadt.localhost", "Antwort zu Ihrer Meldung "+r.CaseNumber+" (Ordnungsamt)") == 3 &&
			postsTo(p, roomOrdnung, "Antwort zu "+r.CaseNumber+" an den Melder gesendet") == 3
	})
	posts, chats := rec.snapshot()
	if chatsTo(chats, "max@stadt.localhost", "Schaden ist behoben. Vielen Dank für Ihren Hinweis!\nDanke für das Foto.") != 1 {
		t.Errorf("canned text with extra text not delivered: %+v", chats)
	}
	if chatsTo(chats, "max@stadt.localhost", "Die Stelle ist abgesperrt ("+r.CaseNumber+").") != 1 {
		t.Errorf("configured canned text not delivered: %+v", chats)
	}
	for _, c := range chats {
		if c.To == "max@stadt.localhost" && strings.HasPrefix(c.Body, "Antwort") && c.From != "info" {
			t.Errorf("reply sent from %q, want the address the reporter wrote to", c.From)
		}
	}
	for _, p := range posts {
		if strings.Contains(p.Body, "max@stadt.localhost") {
			t.Errorf("the reporter's JID was shown in the room: %q", p.Body)
		}
	}
	_, evs := events(t, svc, r)
	if countEvents(evs, "reply") != 3 {
		t.Errorf("%d reply events, want 3", countEvents(evs, "reply"))
	}

	cmd.Text = "/gibtsnicht"
	if _, err := svc.Reply(ctx, cmd); !errors.Is(err, dispatch.ErrNotFound) || !strings.Contains(err.Error(), "/erledigt") {
		t.Errorf("unknown canned text: %v", err)
	}
	cmd.Text = "  "
	if _, err := svc.Reply(ctx, cmd); !errors.Is(err, dispatch.ErrInvalid) {
		t.Errorf("empty reply: %v", err)
	}
	cmd.Text, cmd.Room = "hallo", roomGruen
	if _, err := svc.Reply(ctx, cmd); !errors.Is(err, dispatch.ErrForbidden) {
		t.Errorf("reply from another team's room: %v", err)
	}

	// An API reporter cannot be messaged: the reply is kept in the history.
	api, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "info", Sender: "token:app", Text: "Schlagloch"})
	if err != nil {
		t.Fatal(err)
	}
	res, err = svc.Reply(ctx, dispatch.ReplyCommand{Ref: api.CaseNumber, Text: "/unterwegs", Actor: "token:console", Via: "api", Dispatcher: true})
	if err != nil || !strings.Contains(res.Reply.In("de"), "im Verlauf gespeichert") {
		t.Fatalf("reply to an API reporter: %+v %v", res, err)
	}
	v, err := svc.GetReport(ctx, api.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range v.Events {
		if e.Kind == "reply" && strings.Contains(e.Detail["text"].(string), "unterwegs") {
			found = true
		}
	}
	if !found {
		t.Errorf("reply not in the API report's history: %+v", v.Events)
	}
}
