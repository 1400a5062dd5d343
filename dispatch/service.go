package dispatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/oncall"
	"github.com/fieldgate/fieldgate/routing"
)

// Media is what dispatch needs from the media store.
type Media interface {
	// ReadAndDerive reads a stored original's metadata and makes its team
	// copy, reading it from S3 once.
	ReadAndDerive(ctx context.Context, obj media.Object) media.Work
	// The same in two calls, from the original's bytes in hand (no S3 read).
	ReadMetadataFrom(ctx context.Context, obj media.Object, src []byte) (media.Metadata, error)
	MakeDerivativeFrom(ctx context.Context, obj media.Object, md media.Metadata, src []byte) (media.Derivative, error)
	PresignGet(ctx context.Context, key string) (string, error)
	Delete(ctx context.Context, keys ...string) error
	ListOlder(ctx context.Context, prefix string, cutoff time.Time, batch int, fn func(keys []string) error) error
}

// Rules gives the routing rule set in force right now (it is hot-reloaded).
type Rules interface {
	Current() *routing.RuleSet
}

// RoomPost is a message to a team's group chat.
type RoomPost struct {
	Room     string   // bare JID of the MUC room
	OriginID string   // stable across retries, so the room's echo can be matched
	Body     string   // plain text
	Links    []string // attachment links (sent as XEP-0066 OOB), each also named in Body
	// TeamCopies are the object keys of the team copies behind Links, in
	// the same order: an encrypted room gets the files themselves.
	TeamCopies []string
	// Replaces is the OriginID of an earlier post this one corrects
	// (XEP-0308 Last Message Correction); "" for a new post.
	Replaces string
}

// ChatMessage is a 1:1 message from a function address to a person.
type ChatMessage struct {
	ID   string // message id; stable across retries
	From string // local part of the function address it comes from ("" = the service itself)
	To   string // bare JID
	Body string
}

// Messenger delivers messages over XMPP. PostToRoom returns only when the
// room has reflected the post (then with the room's stanza-id) or failed.
// FindRoomPost searches the room's message archive (XEP-0313) for a post
// of ours with the given origin-id (XEP-0359) sent at or after since, and
// returns the stanza-id the room gave it; it is asked before a post whose
// earlier attempt may have gone out is sent again. A room that keeps no
// archive (or refuses us access) yields an error wrapping ErrNoArchive.
type Messenger interface {
	PostToRoom(ctx context.Context, p RoomPost) (stanzaID string, err error)
	SendChat(ctx context.Context, m ChatMessage) error
	FindRoomPost(ctx context.Context, room, originID string, since time.Time) (stanzaID string, found bool, err error)
}

// ErrNoArchive means a room's archive cannot be searched (the room keeps
// none, or does not let the gateway read it).
var ErrNoArchive = errors.New("room archive not available")

// Config tunes the service. Zero values take the documented defaults.
type Config struct {
	// TimeZone for case-number years and texts shown to people. Default Europe/Berlin.
	TimeZone *time.Location
	// XMPPWorkers is how many outgoing messages are sent at once. Default 4.
	XMPPWorkers int
	// Workers is how many reports are processed at once by the queue, and
	// twice as many right after their intake commit (direct.go). Default 8.
	Workers int
	// ProcessFallback is how long a report processed right after its
	// commit waits for that run before the queue gets it: its hand-over
	// time, or its fallback job (direct.go). Default 15s.
	ProcessFallback time.Duration
	// RescueStuckJobsAfter is how soon a job whose worker died is retried.
	// river's default is an hour; an alert must not wait that long. Default 1m.
	RescueStuckJobsAfter time.Duration
	// LeaseTTL: a job still running under a process that has not renewed
	// its lease for this long is handed back to the queue by the others (or
	// by the restarted process); see lease.go. Default 5s.
	LeaseTTL time.Duration
	// LeaseRenewInterval is how often the lease is renewed and expired
	// leases are looked for. Default 1s.
	LeaseRenewInterval time.Duration
	// PollInterval is the fallback poll for new jobs. An idle queue is woken
	// within milliseconds by LISTEN/NOTIFY, but river sends at most one
	// insert notification per queue per fetch cooldown (5ms), so a job
	// inserted right after another one may wait for the next fetch: at the
	// latest this long. Each poll is one indexed query per queue. Default
	// 200ms.
	PollInterval time.Duration
	// AssemblyWindow: an XMPP message from the same sender to the same
	// address within this time after their latest part of a case joins that
	// case as a part (messengers send photo, caption and location
	// separately), unless the grouping rules in group.go keep it apart.
	// Nothing waits for it: every report is routed and posted at once and a
	// part completes the post in place. Default 60s; negative disables.
	AssemblyWindow time.Duration
	// FollowUpWindow: a bare location for a case that has none joins it
	// within this time after the sender's latest part, and re-routes it.
	// Default 2h; negative disables.
	FollowUpWindow time.Duration
	// PartDistance: a part whose own position is more than this many
	// metres from its case opens a new case; positions of one report that
	// disagree by more are flagged. Default 100.
	PartDistance float64
	// MaxPhotoAge: a photo taken (EXIF capture time) more than this long
	// before it was received is flagged in the post and the trail. Default 24h.
	MaxPhotoAge time.Duration
	// CorrectionWindow: a part corrects the room post in place (XEP-0308)
	// while the post is younger than this and the case is not taken; later
	// it is posted as an addition line. Default 15m.
	CorrectionWindow time.Duration
	// EscalationWorkers is how many escalation steps run at once, in their
	// own queue so that a burst of reports never delays an alert. river
	// fetches at most this many per fetch cooldown (100ms), so it bounds the
	// escalations per second per replica (10 → about 100/s). Default 10.
	EscalationWorkers int
	// TimerPollInterval is how often each replica looks for escalation
	// timers that have come due; it bounds how late one fires on an idle
	// system (one indexed query per interval). Default the smaller of
	// PollInterval and 200ms.
	TimerPollInterval time.Duration
	// DuplicateDistance: a new report within this many metres of an open
	// incident of the same team and category is linked to it as a duplicate.
	// Default 30; negative disables duplicate detection.
	DuplicateDistance float64
	// DuplicateWindow: only incidents opened within this time before the new
	// report are duplicate candidates. Default 24h.
	DuplicateWindow time.Duration
	// Templates are the canned replies to reporters ("antwort 42 /erledigt"):
	// name → language → text; "{case}" is replaced by the case number.
	// Default DefaultTemplates(); entries given here replace those names.
	Templates map[string]map[string]string
	// ShowReporterJID: confirmations of replies in the team room name the
	// reporter's JID. Default false: the room never sees it.
	ShowReporterJID bool
	// Sweep: the periodic removal of objects no row references (sweep.go).
	Sweep SweepConfig
	// Retention: how long reports, media and personal data are kept.
	Retention RetentionConfig
	// ElectXMPPLeader: outgoing messages are sent only by the replica that
	// holds the XMPP lock (see LeadXMPP). Default false: this process
	// sends whenever it has a Messenger (single instance, tests).
	ElectXMPPLeader bool
	// TokenCache: the in-process cache of authenticated API tokens, kept
	// in step by WatchTokens (tokencache.go).
	TokenCache TokenCacheConfig
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Deps are the service's collaborators.
type Deps struct {
	Pool *pgxpool.Pool
	// QueuePool, if set, holds the job queue's own connections (river's
	// fetches, completions, leader election, LISTEN and maintenance);
	// nil: Pool. Jobs inserted or completed in a transaction of the
	// service use that transaction's connection.
	QueuePool *pgxpool.Pool
	Media     Media
	Rules     Rules
	Messenger Messenger       // nil: outgoing messages stay queued (e.g. `fieldgate migrate`)
	OnCall    OnCallDirectory // nil: an oncall.Directory with default settings, run by Start
	Logger    *slog.Logger
}

// Service runs the incident lifecycle.
type Service struct {
	pool *pgxpool.Pool
	// queuePool: the job queue's connections (Deps.QueuePool, or pool);
	// transactions that complete a job run on it (withJobTx).
	queuePool *pgxpool.Pool
	media     Media
	rules     Rules
	msgr      Messenger
	log       *slog.Logger
	cfg       Config
	queue     *river.Client[pgx.Tx]
	metric    *metrics
	// oncall answers who is on call from memory; its own loop refreshes
	// the imported calendars (never inside an incident transaction).
	oncall     OnCallDirectory
	stopOnCall context.CancelFunc
	leader     atomic.Bool
	// stopLease ends the lease loop (lease.go) and waits for it.
	stopLease func()
	// inHand: the jobs this process is working (lease.go).
	inHand *jobsInHand
	// Direct processing after the intake commit (direct.go): its slots
	// and the context of its runs (ended by Stop once they had their time).
	direct *directSlots
	bg     context.Context
	stopBg context.CancelFunc
	// tok checks API tokens, with a cache (tokens.go, tokencache.go).
	tok *Tokens
	// intakes and postRecords group the batches of concurrent new
	// reports, and the records of concurrent direct room posts, into one
	// transaction each (groupcommit.go).
	intakes, postRecords *batchGroup
	// chats are the direct 1:1 messages of this process from their write
	// until their row is deleted (outbox.go).
	chats chatsInFlight
}

// fetchCooldown is the shortest time between two fetches of one queue
// (river's default is 100ms: with a report crossing two queue hops under
// load, that alone would add up to 200ms). river also drops a process's
// insert notification for a queue within fetchCooldown of its previous
// one; if the fetch that one woke ran before the later job committed, the
// later job waits for the next poll (PollInterval, 200 ms): a messenger's
// "accepted" reply, queued a few ms after a notice to the same sender,
// did so in 11 of 15 reports at 5 ms (TestMessengerReplyNotLeftToThePoll).
const fetchCooldown = time.Millisecond

// Queues used by the job queue.
const (
	queueDefault = river.QueueDefault
	queueXMPP    = "xmpp"
	// queueEscalation has its own workers: alerts must not wait behind reports.
	queueEscalation = "escalation"
)

// New builds the service and its job queue client; Start begins working jobs.
func New(deps Deps, cfg Config) (*Service, error) {
	if deps.Pool == nil || deps.Rules == nil {
		return nil, fmt.Errorf("dispatch: pool and rules are required")
	}
	cfg.TimeZone = cmp.Or(cfg.TimeZone, mustBerlin())
	cfg.XMPPWorkers = cmp.Or(cfg.XMPPWorkers, 4)
	cfg.Workers = cmp.Or(cfg.Workers, 8)
	cfg.ProcessFallback = cmp.Or(cfg.ProcessFallback, DefaultProcessFallback)
	cfg.RescueStuckJobsAfter = cmp.Or(cfg.RescueStuckJobsAfter, time.Minute)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, 200*time.Millisecond)
	cfg.LeaseTTL = cmp.Or(cfg.LeaseTTL, 5*time.Second)
	cfg.LeaseRenewInterval = cmp.Or(cfg.LeaseRenewInterval, min(time.Second, cfg.LeaseTTL/3))
	cfg.AssemblyWindow = cmp.Or(cfg.AssemblyWindow, 60*time.Second)
	cfg.FollowUpWindow = cmp.Or(cfg.FollowUpWindow, 2*time.Hour)
	cfg.PartDistance = cmp.Or(cfg.PartDistance, 100)
	cfg.MaxPhotoAge = cmp.Or(cfg.MaxPhotoAge, 24*time.Hour)
	cfg.CorrectionWindow = cmp.Or(cfg.CorrectionWindow, 15*time.Minute)
	cfg.EscalationWorkers = cmp.Or(cfg.EscalationWorkers, 10)
	cfg.TimerPollInterval = cmp.Or(cfg.TimerPollInterval, min(cfg.PollInterval, 200*time.Millisecond))
	cfg.DuplicateDistance = cmp.Or(cfg.DuplicateDistance, 30)
	cfg.DuplicateWindow = cmp.Or(cfg.DuplicateWindow, 24*time.Hour)
	cfg.Templates = withDefaultTemplates(cfg.Templates)
	cfg.Retention = cfg.Retention.withDefaults()
	cfg.Sweep = cfg.Sweep.withDefaults()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{
		pool:   deps.Pool,
		media:  deps.Media,
		rules:  deps.Rules,
		msgr:   deps.Messenger,
		log:    cmp.Or(deps.Logger, slog.Default()),
		cfg:    cfg,
		metric: newMetrics(),
		inHand: newJobsInHand(),
		direct: newDirectSlots(2 * cfg.Workers),
	}
	s.intakes = &batchGroup{q: deps.Pool, timeout: poolBatchTimeout}
	s.postRecords = &batchGroup{q: deps.Pool, timeout: DirectPostTimeout}
	s.bg, s.stopBg = context.WithCancel(context.Background())
	s.tok = NewTokens(s.pool, cfg.Now).WithCache(cfg.TokenCache, s.log)
	s.oncall = deps.OnCall
	if s.oncall == nil {
		s.oncall = oncall.NewDirectory(oncall.DirectoryConfig{Now: cfg.Now, Logger: s.log})
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &processReportWorker{s: s})
	river.AddWorker(workers, &roomPostWorker{s: s})
	river.AddWorker(workers, &roomCorrectWorker{s: s})
	river.AddWorker(workers, &chatWorker{s: s})
	river.AddWorker(workers, &outboxWorker{s: s})
	river.AddWorker(workers, &escalateWorker{s: s})
	river.AddWorker(workers, &ackTimeoutWorker{s: s})
	river.AddWorker(workers, &retentionWorker{s: s})
	river.AddWorker(workers, &mediaLateWorker{s: s})
	river.AddWorker(workers, &deleteObjectsWorker{s: s})
	river.AddWorker(workers, &sweepWorker{s: s})
	queues := map[string]river.QueueConfig{
		queueDefault:    {MaxWorkers: cfg.Workers},
		queueEscalation: {MaxWorkers: cfg.EscalationWorkers, FetchPollInterval: cfg.TimerPollInterval},
	}
	if s.msgr != nil && !cfg.ElectXMPPLeader {
		queues[queueXMPP] = river.QueueConfig{MaxWorkers: cfg.XMPPWorkers}
	}
	s.queuePool = deps.QueuePool
	if s.queuePool == nil {
		s.queuePool = deps.Pool
	}
	client, err := river.NewClient(riverpgxv5.New(s.queuePool), &river.Config{
		Queues:               queues,
		Workers:              workers,
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(cfg.PollInterval, fetchCooldown),
		JobTimeout:           30 * time.Second, // below RescueStuckJobsAfter, as river requires
		Logger:               slog.New(warnOnly{s.log.Handler()}).With("component", "queue"),
		MaxAttempts:          25,
		// A finished job's arguments hold personal data (a room post's
		// text, an alert's addressee and text) that nothing reads once the
		// job is done: river's cleaner deletes completed jobs after
		// CompletedJobRetention instead of its default day. Jobs given up
		// after all attempts stay its default week, for the admin.
		CompletedJobRetentionPeriod: CompletedJobRetention,
		RetryPolicy:                 retryPolicy{},
		PeriodicJobs:                append(s.periodicJobs(), s.sweepJobs()...),
		Hooks:                       []rivertype.Hook{&exactTimers{}, &jobMetricsHook{m: s.metric, now: cfg.Now}, s.inHand},
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: job queue: %w", err)
	}
	s.queue = client
	return s, nil
}

// Start works jobs until Stop.
func (s *Service) Start(ctx context.Context) error {
	// Open before the queue works its first job, so that what the jobs
	// send goes out directly (outbox.go) from the start.
	s.direct.setRunning(true)
	if err := s.queue.Start(ctx); err != nil {
		s.direct.setRunning(false)
		return fmt.Errorf("dispatch: start job queue: %w", err)
	}
	octx, ocancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopOnCall = ocancel
	go s.oncall.Run(octx, s.rules.Current)
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		// What a process committed but did not finish goes to the queue
		// by a loop of its own, which a failing lease renewal does not
		// stop (handover.go).
		handedOver := make(chan struct{})
		go func() { defer close(handedOver); s.handOverLoop(lctx) }()
		s.leaseLoop(lctx)
		<-handedOver
	}()
	stopped := s.queue.Stopped()
	go func() {
		// The lease lives until the queue has stopped working jobs, not
		// merely until ctx ends: an expired lease invites reclaiming.
		select {
		case <-ctx.Done():
			<-stopped
		case <-lctx.Done():
		}
		cancel()
	}()
	s.stopLease = func() { cancel(); <-done }
	return nil
}

// Stop finishes running jobs (until ctx ends) and stops.
func (s *Service) Stop(ctx context.Context) error {
	if s.stopOnCall != nil {
		s.stopOnCall()
	}
	// Direct runs finish as the queue's jobs do, until ctx ends.
	directDone := make(chan struct{})
	go func() { s.stopDirect(ctx); close(directDone) }()
	err := s.queue.Stop(ctx)
	<-directDone
	if s.stopLease != nil {
		s.stopLease()
	}
	return err
}

// Ping checks the database: the service's connections and, when it has
// its own (Deps.QueuePool), the job queue's.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return err
	}
	if s.queuePool != s.pool {
		// Jobs (replies, escalations, fallbacks) stall without them.
		if err := s.queuePool.Ping(ctx); err != nil {
			return fmt.Errorf("job queue's connections: %w", err)
		}
	}
	return nil
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

func mustBerlin() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		// The Go toolchain embeds tzdata when built with -tags timetzdata;
		// without any zone database, fall back to a fixed CET rather than fail.
		return time.FixedZone("CET", 3600)
	}
	return loc
}

// withTx runs fn in a transaction and commits it.
// The 1:1 messages it records are sent after the commit (outbox.go).
func (s *Service) withTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.inTx(ctx, s.pool, fn)
}

// withJobTx is withTx on the job queue's connections, for a transaction
// that completes a job (river.JobCompleteTx): river's completion joins
// river_job with an array of job ids, which a plan cached on a
// connection while river_job was small would answer by reading the
// whole table (Deps.QueuePool).
func (s *Service) withJobTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.inTx(ctx, s.queuePool, fn)
}
