package dispatch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// stuckChatMessenger is the messenger of TestHelperReplyProcess: room
// posts go to its file; a 1:1 message is announced on stdout ("sending
// ID") and never written (mode "before"), or written to the file and
// announced ("sent ID") (mode "after"); either way the call then never
// returns, so that the process is killed inside it.
type stuckChatMessenger struct {
	fileMessenger
	mode string
}

func (m *stuckChatMessenger) SendChat(_ context.Context, c dispatch.ChatMessage) error {
	if m.mode == "after" {
		m.write("chat", c.To, c.ID+" "+c.Body)
		fmt.Printf("sent %s\n", c.ID)
	} else {
		fmt.Printf("sending %s\n", c.ID)
	}
	select {} // until SIGKILL
}

// TestHelperReplyProcess is the child of TestReplySurvivesKill: a replica
// that takes one messenger report of FG_KILLTEST_SENDER, prints its case
// number, and is killed inside the direct send of its "angenommen" reply.
func TestHelperReplyProcess(t *testing.T) {
	if os.Getenv("FG_KILLTEST_CHILD") != "reply" {
		t.Skip("helper process of TestReplySurvivesKill")
	}
	ctx := context.Background()
	pool, f := childPoolAndLog(t)
	m := &stuckChatMessenger{fileMessenger: fileMessenger{f: f}, mode: os.Getenv("FG_KILLTEST_MODE")}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Rules: demoRules(t), Messenger: m, Logger: discard()},
		dispatch.Config{PollInterval: 50 * time.Millisecond, DuplicateDistance: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: os.Getenv("FG_KILLTEST_SENDER"),
		IdempotencyKey: "origin:kill-reply", Text: "Ampel ausgefallen", Position: &dispatch.Position{Lat: 51.0251, Lon: 7.5919},
		PositionSource: dispatch.SourceGeoURI})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("committed %s\n", r.CaseNumber)
	time.Sleep(2 * time.Minute) // until SIGKILL
}

// replyChild is a TestHelperReplyProcess run.
type replyChild struct {
	sender, id, out string
}

// startReplyChild runs TestHelperReplyProcess in mode on the database url
// and returns once the child is inside its reply's send (mode "before":
// nothing written; "after": written, not recorded), with the function
// that kills it.
func startReplyChild(t *testing.T, url, mode string) (*replyChild, func() error) {
	c := &replyChild{sender: "kill-" + mode + "@stadt.localhost", out: filepath.Join(t.TempDir(), "child.log")}
	id, kill := startHelper(t, "TestHelperReplyProcess", []string{"FG_KILLTEST_CHILD=reply", "FG_KILLTEST_DB=" + url,
		"FG_KILLTEST_OUT=" + c.out, "FG_KILLTEST_MODE=" + mode, "FG_KILLTEST_SENDER=" + c.sender},
		map[string]string{"before": "sending ", "after": "sent "}[mode])
	c.id = strings.TrimSpace(id)
	return c, kill
}

// TestReplySurvivesKill: a replica commits a messenger report and is
// SIGKILLed inside the direct send of the reporter's "angenommen" reply,
// once before the message is written (mode before) and once after it was
// written but before it was recorded as sent (mode after). The reply has
// no queue job; its chat_outbox row waits for its hand-over time. A fresh
// replica on the same database then sends each reply once, under the id
// the killed one chose (after: a repeat the reporter's client
// recognises); its own reporter's reply meanwhile goes out once, directly,
// and is not sent again by the hand-over.
func TestReplySurvivesKill(t *testing.T) {
	ctx := context.Background()
	url := testsvc.DatabaseURL(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	var children []*replyChild
	for _, mode := range []string{"before", "after"} {
		c, kill := startReplyChild(t, url, mode)
		var origin string
		var ahead float64 // seconds
		if err := pool.QueryRow(ctx, `SELECT origin_id, extract(epoch FROM handover_at - clock_timestamp())::float8 FROM chat_outbox WHERE to_jid = $1`,
			c.sender).Scan(&origin, &ahead); err != nil {
			t.Fatalf("%s: the reply's row: %v", mode, err)
		}
		if origin != c.id || ahead <= 0 {
			t.Fatalf("%s: row with origin-id %q, hand-over %.1f s ahead; the child sends %q: the test proves nothing", mode, origin, ahead, c.id)
		}
		var jobs int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE queue = 'xmpp'`).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		if jobs != 0 {
			t.Errorf("%s: %d xmpp jobs before the kill, want 0 (the reply is sent directly)", mode, jobs)
		}
		if err := kill(); err != nil {
			t.Fatal(err)
		}
		children = append(children, c)
	}
	b, _ := os.ReadFile(children[0].out)
	if strings.Contains(string(b), "chat\t") {
		t.Errorf("the child killed before its send wrote:\n%s", b)
	}
	b, _ = os.ReadFile(children[1].out)
	if n := strings.Count(string(b), "chat\t"+children[1].sender+"\t\""+children[1].id+" "); n != 1 {
		t.Errorf("the child killed after its send wrote it %d times, want 1:\n%s", n, b)
	}

	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Config: dispatch.Config{DuplicateDistance: -1}})
	start(t, svc)
	// A report taken meanwhile by the fresh replica: its reply goes out
	// directly, once.
	const own = "streife7@stadt.localhost"
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: own,
		IdempotencyKey: "origin:fresh", Text: "Gully verstopft", Position: &dispatch.Position{Lat: 51.0252, Lon: 7.5918},
		PositionSource: dispatch.SourceGeoURI})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fresh replica's own reply", func() bool { _, c := rec.snapshot(); return chatsTo(c, own, r.CaseNumber) == 1 })

	sentTo := func(c *replyChild) []dispatch.ChatMessage {
		_, chats := rec.snapshot()
		var out []dispatch.ChatMessage
		for _, m := range chats {
			if m.To == c.sender {
				out = append(out, m)
			}
		}
		return out
	}
	for _, c := range children {
		waitFor(t, "the killed replica's reply sent by the fresh one", func() bool { return len(sentTo(c)) > 0 })
	}
	waitOutboxEmpty(t, pool)
	time.Sleep(time.Second) // time for a second send to show
	for _, c := range children {
		got := sentTo(c)
		if len(got) != 1 || got[0].ID != c.id || !strings.Contains(got[0].Body, " angenommen") {
			t.Errorf("%s: the fresh replica sent %+v, want one \"angenommen\" with id %s", c.sender, got, c.id)
		}
	}
	_, chats := rec.snapshot()
	if n := chatsTo(chats, own, r.CaseNumber); n != 1 {
		t.Errorf("the fresh replica's own reply was sent %d times, want 1", n)
	}
	var jobs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE queue = 'xmpp' AND state <> 'completed'`).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 0 {
		t.Errorf("%d xmpp jobs not completed", jobs)
	}
}
