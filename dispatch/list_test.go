package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// fileReport files an API report and waits until it is routed.
func fileReport(t testing.TB, svc *dispatch.Service, to, text string, lat, lon float64) dispatch.Receipt {
	t.Helper()
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{
		Channel: dispatch.ChannelAPI, Address: to, Sender: "token:app", Text: text,
		Position: &dispatch.Position{Lat: lat, Lon: lon}, PositionSource: dispatch.SourceAPI,
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "routing of "+r.CaseNumber, func() bool {
		inc, err := svc.Incident(ctx, r.CaseNumber)
		return err == nil && inc.Team != ""
	})
	return r
}

func cases(p dispatch.IncidentPage) []string {
	out := []string{}
	for _, it := range p.Items {
		out = append(out, it.CaseNumber)
	}
	return out
}

func TestListIncidentsFiltersScopeAndPaging(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}, Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond}})
	start(t, svc)
	ctx := context.Background()

	hole := fileReport(t, svc, "tiefbau", "Schlagloch vor Nr. 12", 51.04, 7.58)
	tree := fileReport(t, svc, "info", "Baum umgestürzt im Park", 51.03, 7.57)
	hole2 := fileReport(t, svc, "tiefbau", "Gehweg abgesackt", 51.045, 7.60)

	all, err := svc.ListIncidents(ctx, dispatch.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cases(all); fmt.Sprint(got) != fmt.Sprint([]string{hole2.CaseNumber, tree.CaseNumber, hole.CaseNumber}) {
		t.Fatalf("all open, newest first: %v", got)
	}
	first := all.Items[2]
	if first.Text != "Schlagloch vor Nr. 12" || first.Position == nil || first.Position.Lat != 51.04 || first.PositionSource != dispatch.SourceAPI || first.Reports != 1 {
		t.Errorf("summary of the first report: %+v", first)
	}

	teamOnly, err := svc.ListIncidents(ctx, dispatch.IncidentFilter{Scope: []string{"tiefbau"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := cases(teamOnly); fmt.Sprint(got) != fmt.Sprint([]string{hole2.CaseNumber, hole.CaseNumber}) {
		t.Errorf("team scope tiefbau sees %v, want only its two", got)
	}
	none, err := svc.ListIncidents(ctx, dispatch.IncidentFilter{Scope: []string{}})
	if err != nil || len(none.Items) != 0 {
		t.Errorf("empty scope sees %v (%v), want nothing", cases(none), err)
	}

	search, err := svc.ListIncidents(ctx, dispatch.IncidentFilter{Query: "baum"})
	if err != nil || fmt.Sprint(cases(search)) != fmt.Sprint([]string{tree.CaseNumber}) {
		t.Errorf("search baum: %v %v", cases(search), err)
	}
	literal, err := svc.ListIncidents(ctx, dispatch.IncidentFilter{Query: "%"})
	if err != nil || len(literal.Items) != 0 {
		t.Errorf("search %% must match literally, got %v %v", cases(literal), err)
	}

	// Resolve one: it leaves the open list and appears under closed.
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionResolve, Ref: hole.CaseNumber, Actor: "token:d", Via: "api", Dispatcher: true}); err != nil {
		t.Fatal(err)
	}
	closed, err := svc.ListIncidents(ctx, dispatch.IncidentFilter{Status: dispatch.StatusClosed})
	if err != nil || fmt.Sprint(cases(closed)) != fmt.Sprint([]string{hole.CaseNumber}) {
		t.Errorf("closed: %v %v", cases(closed), err)
	}

	// Paging: one per page walks the whole list exactly once.
	var walked []string
	cursor := ""
	for range 5 {
		p, err := svc.ListIncidents(ctx, dispatch.IncidentFilter{Status: dispatch.StatusAll, Limit: 1, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		walked = append(walked, cases(p)...)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if fmt.Sprint(walked) != fmt.Sprint([]string{hole2.CaseNumber, tree.CaseNumber, hole.CaseNumber}) {
		t.Errorf("paged walk: %v", walked)
	}

	for name, f := range map[string]dispatch.IncidentFilter{
		"cursor":  {Cursor: "not-a-cursor"},
		"limit":   {Limit: 5000},
		"urgency": {Priority: "sofort"},
		"state":   {States: []dispatch.State{"gone"}},
		"status":  {Status: "maybe"},
	} {
		if _, err := svc.ListIncidents(ctx, f); !errors.Is(err, dispatch.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestIncidentDetailHasTrailAndFlags(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}, Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond}})
	start(t, svc)
	ctx := context.Background()
	r := fileReport(t, svc, "tiefbau", "Schlagloch", 51.04, 7.58)
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "anna@stadt.localhost", Via: "api", Dispatcher: true}); err != nil {
		t.Fatal(err)
	}
	d, err := svc.IncidentDetail(ctx, r.CaseNumber)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Reports) != 1 || d.Reports[0].Text != "Schlagloch" {
		t.Errorf("reports: %+v", d.Reports)
	}
	var kinds []string
	for _, e := range d.Events {
		kinds = append(kinds, e.Kind)
	}
	if len(kinds) < 3 || kinds[0] != "received" || !slices.Contains(kinds, "take") {
		t.Errorf("timeline kinds %v: want received first and the take", kinds)
	}
	if d.Position == nil || d.PositionSource != dispatch.SourceAPI {
		t.Errorf("position %+v source %q", d.Position, d.PositionSource)
	}
	if fmt.Sprint(d.Flags) != fmt.Sprint([]string{dispatch.FlagSenderPosition}) {
		t.Errorf("flags %v, want only sender_position (district %q)", d.Flags, d.District)
	}
	if _, err := svc.IncidentDetail(ctx, "2026-999999"); !errors.Is(err, dispatch.ErrNotFound) {
		t.Errorf("unknown case: %v", err)
	}
}

func TestChangeFeedDeliversCommittedChangesByScope(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}, Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond}})
	start(t, svc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed := svc.NewChangeFeed()
	done := make(chan error, 1)
	go func() { done <- feed.Run(ctx) }()
	<-feed.Listening()

	all := feed.Subscribe(nil, 0)
	defer all.Close()
	gruen := feed.Subscribe([]string{"gruenflaechen"}, 0)
	defer gruen.Close()

	r := fileReport(t, svc, "tiefbau", "Schlagloch", 51.04, 7.58)
	if _, err := svc.Execute(context.Background(), dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "anna@stadt.localhost", Via: "api", Dispatcher: true}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	var seen []string
	for len(seen) == 0 || seen[len(seen)-1] != "take" {
		select {
		case ch := <-all.C:
			if ch.Incident.CaseNumber != r.CaseNumber {
				t.Fatalf("change of %s, want %s", ch.Incident.CaseNumber, r.CaseNumber)
			}
			seen = append(seen, ch.Kind)
		case <-deadline:
			t.Fatalf("dispatcher feed saw %v, never the take", seen)
		}
	}
	if seen[0] != "received" {
		t.Errorf("first change %q, want received", seen[0])
	}
	select {
	case ch := <-gruen.C:
		t.Errorf("gruenflaechen scope got a change of team %s's incident: %+v", ch.Incident.Team, ch.Kind)
	case <-time.After(300 * time.Millisecond):
	}

	// A subscriber that never reads is dropped, not waited for.
	slow := feed.Subscribe(nil, 1)
	for range 3 {
		fileReport(t, svc, "info", fmt.Sprintf("Baum %d", time.Now().UnixNano()), 51.03, 7.57+float64(time.Now().UnixNano()%1000)/1e5)
	}
	waitFor(t, "slow subscriber closed", func() bool {
		for {
			select {
			case _, ok := <-slow.C:
				if !ok {
					return true
				}
			default:
				return false
			}
		}
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestMergeByHandAndUnmerge(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond}})
	start(t, svc)
	ctx := context.Background()
	a := fileReport(t, svc, "tiefbau", "Schlagloch Nr. 3", 51.04, 7.58)
	b := fileReport(t, svc, "tiefbau", "Loch in der Straße bei Nr. 3", 51.041, 7.582)
	if _, err := svc.Merge(ctx, dispatch.MergeCommand{Ref: b.CaseNumber, Into: a.CaseNumber, Actor: "token:d", Via: "api"}); !errors.Is(err, dispatch.ErrForbidden) {
		t.Errorf("merge without the dispatcher role: %v", err)
	}
	if _, err := svc.Merge(ctx, dispatch.MergeCommand{Ref: a.CaseNumber, Into: a.CaseNumber, Actor: "token:d", Via: "api", Dispatcher: true}); !errors.Is(err, dispatch.ErrConflict) {
		t.Errorf("merge into itself: %v", err)
	}
	res, err := svc.Merge(ctx, dispatch.MergeCommand{Ref: b.CaseNumber, Into: a.CaseNumber, Actor: "token:d", Via: "api", Dispatcher: true})
	if err != nil || res.Incident.State != dispatch.StateMerged {
		t.Fatalf("merge: %+v %v", res, err)
	}
	da, err := svc.IncidentDetail(ctx, a.CaseNumber)
	if err != nil || fmt.Sprint(da.Duplicates) != fmt.Sprint([]string{b.CaseNumber}) {
		t.Errorf("duplicates of %s: %v %v", a.CaseNumber, da.Duplicates, err)
	}
	open, _ := svc.ListIncidents(ctx, dispatch.IncidentFilter{})
	if fmt.Sprint(cases(open)) != fmt.Sprint([]string{a.CaseNumber}) {
		t.Errorf("open after merge: %v", cases(open))
	}
	if _, err := svc.Merge(ctx, dispatch.MergeCommand{Ref: a.CaseNumber, Into: b.CaseNumber, Actor: "token:d", Via: "api", Dispatcher: true}); !errors.Is(err, dispatch.ErrConflict) {
		t.Errorf("merge into a merged case: %v", err)
	}
	if _, err := svc.Unmerge(ctx, dispatch.UnmergeCommand{Ref: b.CaseNumber, Actor: "token:d", Via: "api", Dispatcher: true}); err != nil {
		t.Fatal(err)
	}
	db, _ := svc.IncidentDetail(ctx, b.CaseNumber)
	if !db.State.Open() || db.MergedInto != "" {
		t.Errorf("after unmerge: state %s merged into %q", db.State, db.MergedInto)
	}
}
