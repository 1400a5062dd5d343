package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/routing"
)

// fakeDomain is the one fake of Dispatch: tokens, incidents and reports in
// maps, and a record of every call that changes something.
type fakeDomain struct {
	mu           sync.Mutex
	tokens       map[string]dispatch.Token    // secret → token
	incidents    map[string]dispatch.Incident // case number → incident
	reports      map[uuid.UUID]dispatch.ReportView
	replays      map[string]dispatch.Receipt // idempotency key → receipt
	intakeErr    error                       // returned by Intake when set
	authErr      error                       // returned by Authenticate when set
	store        *fakeMedia                  // where DiscardObjects deletes
	pingErr      error
	noThumbnails bool             // IncidentCoverThumbnail finds none
	outcome      dispatch.Outcome // of Execute; "" = applied

	intakes       []dispatch.NewReport
	replayLookups int   // calls of Replay
	commands      []any // dispatch.Command, ReassignCommand, … in call order
}

var _ Dispatch = (*fakeDomain)(nil)

func newFakeDomain() *fakeDomain {
	return &fakeDomain{
		tokens:    map[string]dispatch.Token{},
		incidents: map[string]dispatch.Incident{},
		reports:   map[uuid.UUID]dispatch.ReportView{},
		replays:   map[string]dispatch.Receipt{},
	}
}

func notFound(what string) error {
	return &dispatch.Error{Kind: dispatch.ErrNotFound, Text: msg.Fixed(what + " not found")}
}

func (f *fakeDomain) Intake(_ context.Context, in dispatch.NewReport) (dispatch.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.intakeErr != nil {
		return dispatch.Receipt{}, f.intakeErr
	}
	if r, ok := f.replays[in.Channel+"|"+in.Sender+"|"+in.IdempotencyKey]; ok && in.IdempotencyKey != "" {
		return r, nil // as dispatch.Intake: the key's insert finds it taken, nothing is stored
	}
	f.intakes = append(f.intakes, in)
	return dispatch.Receipt{ReportID: uuid.New(), IncidentID: uuid.New(), CaseNumber: fmt.Sprintf("2026-%06d", len(f.intakes)), Mode: dispatch.ModeNew}, nil
}

func (f *fakeDomain) Replay(_ context.Context, channel, sender, key string) (dispatch.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replayLookups++
	if r, ok := f.replays[channel+"|"+sender+"|"+key]; ok {
		return r, nil
	}
	return dispatch.Receipt{}, notFound("idempotency key")
}

func (f *fakeDomain) GetReport(_ context.Context, id uuid.UUID) (dispatch.ReportView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.reports[id]; ok {
		return v, nil
	}
	return dispatch.ReportView{}, notFound("report")
}

func (f *fakeDomain) Authenticate(_ context.Context, secret string) (dispatch.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.authErr != nil {
		return dispatch.Token{}, f.authErr
	}
	if t, ok := f.tokens[secret]; ok {
		return t, nil
	}
	return dispatch.Token{}, &dispatch.Error{Kind: dispatch.ErrForbidden, Text: msg.Texts.TokenInvalid}
}

func (f *fakeDomain) Incident(_ context.Context, ref string) (dispatch.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if inc, ok := f.incidents[ref]; ok {
		return inc, nil
	}
	return dispatch.Incident{}, notFound("incident " + ref)
}

// record notes a command and answers it like the domain would for the
// incident it names: dispatcher-only commands are refused without the role.
func (f *fakeDomain) record(cmd any, ref string, dispatcherOnly, isDispatcher bool) (dispatch.CommandResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commands = append(f.commands, cmd)
	if dispatcherOnly && !isDispatcher {
		return dispatch.CommandResult{}, &dispatch.Error{Kind: dispatch.ErrForbidden, Text: msg.Texts.DispatcherOnly}
	}
	return dispatch.CommandResult{Incident: f.incidents[ref], Outcome: dispatch.OutcomeApplied}, nil
}

func (f *fakeDomain) Execute(_ context.Context, cmd dispatch.Command) (dispatch.CommandResult, error) {
	res, err := f.record(cmd, cmd.Ref, false, cmd.Dispatcher)
	if f.outcome != "" {
		res.Outcome, res.Reply = f.outcome, func(t msg.Texts) string { return t.AlreadyTaken("2026-000001", "anna@stadt.localhost") }
	}
	return res, err
}

func (f *fakeDomain) Reassign(_ context.Context, cmd dispatch.ReassignCommand) (dispatch.CommandResult, error) {
	return f.record(cmd, cmd.Ref, true, cmd.Dispatcher)
}

func (f *fakeDomain) Reply(_ context.Context, cmd dispatch.ReplyCommand) (dispatch.CommandResult, error) {
	return f.record(cmd, cmd.Ref, false, cmd.Dispatcher)
}

func (f *fakeDomain) Reject(_ context.Context, cmd dispatch.RejectCommand) (dispatch.CommandResult, error) {
	return f.record(cmd, cmd.Ref, false, cmd.Dispatcher)
}

func (f *fakeDomain) Unmerge(_ context.Context, cmd dispatch.UnmergeCommand) (dispatch.CommandResult, error) {
	return f.record(cmd, cmd.Ref, true, cmd.Dispatcher)
}

// ListIncidents returns the incidents in the filter's team scope.
func (f *fakeDomain) ListIncidents(_ context.Context, flt dispatch.IncidentFilter) (dispatch.IncidentPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var page dispatch.IncidentPage
	for _, inc := range f.incidents {
		if flt.Scope == nil || slices.Contains(flt.Scope, inc.Team) {
			page.Items = append(page.Items, dispatch.IncidentSummary{Incident: inc})
		}
	}
	return page, nil
}

func (f *fakeDomain) IncidentDetail(ctx context.Context, ref string) (dispatch.IncidentDetail, error) {
	inc, err := f.Incident(ctx, ref)
	if err != nil {
		return dispatch.IncidentDetail{}, err
	}
	return dispatch.IncidentDetail{Incident: inc}, nil
}

// IncidentCoverThumbnail gives every incident of the fake the same
// thumbnail key, or none (ErrNotFound) when f.noThumbnails is set.
func (f *fakeDomain) IncidentCoverThumbnail(ctx context.Context, ref string) (dispatch.CoverThumbnail, error) {
	inc, err := f.Incident(ctx, ref)
	if err != nil {
		return dispatch.CoverThumbnail{}, err
	}
	if f.noThumbnails {
		return dispatch.CoverThumbnail{Team: inc.Team}, &dispatch.Error{Kind: dispatch.ErrNotFound, Text: func(t msg.Texts) string { return t.NoThumbnail(inc.CaseNumber) }}
	}
	return dispatch.CoverThumbnail{Team: inc.Team, Key: "team/2026/01/cover-thumb.jpg"}, nil
}

func (f *fakeDomain) IncidentStats(context.Context, string, time.Time, []string) (dispatch.Stats, error) {
	return dispatch.Stats{}, nil
}

func (f *fakeDomain) Ping(context.Context) error { return f.pingErr }

func (f *fakeDomain) Merge(context.Context, dispatch.MergeCommand) (dispatch.CommandResult, error) {
	return dispatch.CommandResult{}, nil
}

// DiscardObjects deletes the objects from the fake store, as the domain
// deletes them from S3.
func (f *fakeDomain) HoldMedium(*dispatch.NewReport, media.Object, []byte) {}

func (f *fakeDomain) DiscardObjects(ctx context.Context, keys ...string) {
	if f.store != nil {
		_ = f.store.Delete(ctx, keys...)
	}
}

func (f *fakeDomain) lastCommand() any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.commands) == 0 {
		return nil
	}
	return f.commands[len(f.commands)-1]
}

// fakeMedia is the one fake of Media: objects in a map. Content starting
// with "MZ" (a Windows executable) is refused like the real store does.
type fakeMedia struct {
	mu      sync.Mutex
	objects map[string][]byte
	deleted []string
}

var _ Media = (*fakeMedia)(nil)

func (m *fakeMedia) PutHold(ctx context.Context, r io.Reader, _ int64, _ func(media.Object, []byte)) (media.Object, error) {
	return m.Put(ctx, r)
}

func (m *fakeMedia) Put(_ context.Context, r io.Reader) (media.Object, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return media.Object{}, err
	}
	if bytes.HasPrefix(b, []byte("MZ")) {
		return media.Object{}, fmt.Errorf("put: %w", &media.TypeNotAllowedError{Detected: "application/octet-stream"})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objects == nil {
		m.objects = map[string][]byte{}
	}
	key := media.PrefixOriginal + uuid.NewString()
	m.objects[key] = b
	sum := sha256.Sum256(b)
	return media.Object{Key: key, ContentType: "image/jpeg", Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}, nil
}

func (m *fakeMedia) Delete(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.objects, k)
		m.deleted = append(m.deleted, k)
	}
	return nil
}

func (m *fakeMedia) PresignOriginal(_ context.Context, key string) (string, error) {
	return "https://s3.example/" + key + "?X-Amz-Signature=x", nil
}

func (m *fakeMedia) PresignGet(_ context.Context, key string) (string, error) {
	return "https://s3.example/" + key + "?X-Amz-Signature=t", nil
}

func (m *fakeMedia) Ping(context.Context) error { return nil }

func (m *fakeMedia) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.objects)
}

// staticRules is the one fake of Rules: the demo town's rule set.
type staticRules struct{ rs *routing.RuleSet }

func (r staticRules) Current() *routing.RuleSet { return r.rs }

func demoRuleSet(t testing.TB) *routing.RuleSet {
	t.Helper()
	rs, err := routing.Load(filepath.Join(testsvc.RepoRoot(t), "deploy", "demo", "rules.yaml"))
	if err != nil {
		t.Fatalf("demo rules: %v", err)
	}
	return rs
}

// testServerOptions configures newTestServer.
type testServerOptions struct {
	MaxBodyBytes int64
	XMPPState    func() string
}

// testServer is the API under test with its fakes.
type testServer struct {
	handler http.Handler
	domain  *fakeDomain
	media   *fakeMedia
}

// newTestServer builds the API around a fresh fake domain and media store.
func newTestServer(t testing.TB, opts testServerOptions) *testServer {
	t.Helper()
	d, m := newFakeDomain(), &fakeMedia{}
	d.store = m
	srv := New(d, m, staticRules{demoRuleSet(t)}, Config{MaxBodyBytes: opts.MaxBodyBytes, XMPPState: opts.XMPPState},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	return &testServer{handler: srv.Handler(), domain: d, media: m}
}
