package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// DefaultProcessFallback is how long, by default (Config.ProcessFallback),
// a report that is processed right after its commit (direct processing)
// waits for that run before the queue gets it: its hand-over time (a
// report or messenger part with attachments, or a messenger part) or its
// fallback job (a text report whose routing at intake failed) is that far
// ahead, and the queue processes it
// only if the direct run failed (then at once) or its process died or
// hung. A direct run that is still working by then loses nothing:
// whichever of the two commits the processing first does it (the routing
// transaction locks the incident and marks the report processed only if
// it was not), the other finds the job gone or the report processed.
const DefaultProcessFallback = 15 * time.Second

// directRun is a report's processing right after its intake commit, in the
// intake's process, without a queue hop. Its durable fallback is either
// the report's hand-over time (handover: no job; the statement that marks
// the report processed clears it, and handOverProcessing queues a job
// for a report whose time has come), or a processing job queued in the
// intake transaction, due Config.ProcessFallback later, which the routing
// transaction takes out of the queue (claimJob). Either way the
// processing commits exactly once.
type directRun struct {
	// jobID is the fallback job (0: none, handover).
	jobID    int64
	handover bool
	// rep is the report as its intake wrote it (nil: read it).
	rep *Report
	// prepared are attachments worked on while the report was received.
	prepared map[string]*PreparedMedium
	claimed  bool
}

// held returns the work prepared in this process for the attachment key
// (nil if none): d's (nil for a queue job), else that of a report whose
// direct run did not take it (no free slot; a part whose case was not
// routed yet), so that its queue job does not make the team copy a second
// time. Prepared work is taken once.
func (s *Service) held(d *directRun, key string) *PreparedMedium {
	var p *PreparedMedium
	if d != nil {
		p = d.prepared[key]
	}
	if q := s.direct.takePrepared(key); p == nil {
		p = q
	}
	return p
}

// errProcessQueued: the report's processing job runs or ran; the direct
// run leaves the report to it.
var errProcessQueued = errors.New("the processing job has the report")

// directSlots bounds direct runs at twice Config.Workers at once (the
// queue works Config.Workers; a direct run costs less, no fetch and no
// completion, and mostly waits on the database and the room): a report
// that finds no free slot is processed by its job, due at once.
type directSlots struct {
	free chan struct{}
	// mu orders reserving (running, wg.Add) against stopping, and guards
	// kept.
	mu      sync.Mutex
	running bool
	wg      sync.WaitGroup
	kept    int64
	// prepared is the prepared work of this process by object key, until
	// a run takes it or it expires (PrepareMedium).
	prepared map[string]*PreparedMedium
}

// offerPrepared makes p the prepared work of the attachment key.
func (d *directSlots) offerPrepared(key string, p *PreparedMedium) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.prepared == nil {
		d.prepared = map[string]*PreparedMedium{}
	}
	d.prepared[key] = p
}

// takePrepared returns and forgets the prepared work of key (nil if none).
func (d *directSlots) takePrepared(key string) *PreparedMedium {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.prepared[key]
	delete(d.prepared, key)
	return p
}

// forgetPrepared forgets p if it is still the prepared work of key.
func (d *directSlots) forgetPrepared(key string, p *PreparedMedium) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.prepared[key] == p {
		delete(d.prepared, key)
	}
}

// OriginalsBudget bounds the bytes of attachments that a process keeps in
// memory from the upload at once, while they are prepared (PrepareMedium,
// each counted at least minPreparedCharge). Bytes that do not fit are read
// back from S3.
const OriginalsBudget = 64 << 20

func newDirectSlots(n int) *directSlots { return &directSlots{free: make(chan struct{}, n)} }

// keep admits originals of n bytes into the budget; false if they do not
// fit (then they are dropped and read from S3).
func (d *directSlots) keep(n int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.kept+n > OriginalsBudget {
		return false
	}
	d.kept += n
	return true
}

func (d *directSlots) unkeep(n int64) {
	d.mu.Lock()
	d.kept -= n
	d.mu.Unlock()
}

// isRunning: the slots are open (Start, until Stop).
func (d *directSlots) isRunning() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.running
}

// setRunning opens (Start) or closes (Stop) the slots.
func (d *directSlots) setRunning(on bool) {
	d.mu.Lock()
	d.running = on
	d.mu.Unlock()
}

// reserveDirect admits a direct run: with slot, it takes one of the slots
// without waiting (attachments: real work); without, it only counts the
// run for Stop (a report without attachments is routed in its intake
// transaction, and what is left is sending its posts). false if no slot
// is free or the service does not run (not started, or stopping).
func (s *Service) reserveDirect(slot bool) bool {
	d := s.direct
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.running {
		return false
	}
	if !slot {
		d.wg.Add(1)
		return true
	}
	select {
	case d.free <- struct{}{}:
		d.wg.Add(1)
		return true
	default:
		return false
	}
}

// releaseDirect ends a run admitted by reserveDirect(slot).
func (s *Service) releaseDirect(slot bool) {
	if slot {
		<-s.direct.free
	}
	s.direct.wg.Done()
}

// stopDirect closes the slots and waits for the runs in flight until ctx
// ends; then it cancels them (their fallback jobs do the rest).
func (s *Service) stopDirect(ctx context.Context) {
	s.direct.setRunning(false)
	finished := make(chan struct{})
	go func() { s.direct.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
		s.stopBg()
		<-finished
	}
	s.stopBg()
}

// startDirect processes a committed report in the background, holding the
// slot reserveDirect took. A failure (also a run cancelled by Stop) leaves
// the report to the queue at once: its job is made due, or the report is
// handed over.
func (s *Service) startDirect(reportID uuid.UUID, d *directRun, slot bool) {
	go func() {
		defer s.releaseDirect(slot)
		ctx := s.bg
		err := s.processReport(ctx, reportID, d)
		switch {
		case err == nil, errors.Is(err, errProcessQueued):
			return
		case errors.Is(err, errCaseNotReady):
			// A part whose case is not routed yet: its job waits for it.
		default:
			s.log.WarnContext(ctx, "direct processing failed; the queue job processes the report", "report", reportID, "err", err)
		}
		if d.handover {
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handOverTimeout)
			defer cancel()
			if _, herr := s.handOverProcessing(hctx, reportID); herr != nil {
				s.log.WarnContext(ctx, "could not queue the report now; it is queued at its hand-over time", "report", reportID, "err", herr)
			}
			return
		}
		if _, rerr := s.queue.JobRetry(context.WithoutCancel(ctx), d.jobID); rerr != nil && !errors.Is(rerr, rivertype.ErrNotFound) {
			s.log.WarnContext(ctx, "could not make the processing job due now; it runs on schedule", "job", d.jobID, "err", rerr)
		}
	}()
}

// handOverTimeout bounds the hand-over after a failed direct run.
const handOverTimeout = 5 * time.Second

// handOverProcessing queues, as process_report jobs due at once, reports
// stored with a processing hand-over time (insertNew) that are not
// processed: the report id (a failed direct run), or with uuid.Nil those
// whose hand-over time has come by the database's clock (their process
// died or hung; every process calls this once a second, see leaseLoop).
// The time is written and compared by the database's clock, so that
// replicas whose clocks disagree cannot hand over a report early. Each
// report is handed over once: its hand-over time is cleared in the
// transaction that queues its job (rows another process is handing over
// are skipped, FOR UPDATE SKIP LOCKED). It returns how many it queued.
func (s *Service) handOverProcessing(ctx context.Context, report uuid.UUID) (int, error) {
	// Two queries, so that each uses its index: the primary key, or the
	// partial index of reports waiting for their hand-over.
	sql, args := `
		UPDATE reports SET processing_handover_at = NULL
		WHERE id IN (
			SELECT id FROM reports
			WHERE processed_at IS NULL AND processing_handover_at IS NOT NULL
			  AND processing_handover_at <= (SELECT clock_timestamp()) -- a value: an index condition
			ORDER BY processing_handover_at LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING id`, []any{handOverBatch}
	if report != uuid.Nil {
		sql, args = `
		UPDATE reports SET processing_handover_at = NULL
		WHERE id = $1 AND processed_at IS NULL AND processing_handover_at IS NOT NULL
		RETURNING id`, []any{report}
	}
	n, err := s.handOverRows(ctx, "reports", sql, args, func(row pgx.CollectableRow) (river.InsertManyParams, error) {
		var id uuid.UUID
		if err := row.Scan(&id); err != nil {
			return river.InsertManyParams{}, err
		}
		opts := processReportArgs{}.InsertOpts()
		return river.InsertManyParams{Args: processReportArgs{ReportID: id}, InsertOpts: &opts}, nil
	})
	if n > 0 && err == nil {
		s.log.InfoContext(ctx, "reports handed to the queue for processing", "reports", n)
	}
	return n, err
}

// claimJob takes a direct run's fallback job out of the queue in the
// transaction that commits the processing; errProcessQueued if the job
// runs or ran. No-op for a queue job (d nil), for a run without a job
// (handover: the processed mark clears its hand-over time) and after the
// first claim.
func (s *Service) claimJob(ctx context.Context, tx pgx.Tx, d *directRun) error {
	if d == nil || d.claimed || d.jobID == 0 {
		return nil
	}
	if _, err := s.queue.JobDeleteTx(ctx, tx, d.jobID); err != nil {
		if errors.Is(err, rivertype.ErrJobRunning) || errors.Is(err, rivertype.ErrNotFound) {
			return errProcessQueued
		}
		return fmt.Errorf("take processing job %d: %w", d.jobID, err)
	}
	d.claimed = true
	return nil
}

// enqueueProcessing queues a report's processing job in the intake
// transaction: due at once, or Config.ProcessFallback later when the report is
// processed directly after the commit (direct). It returns the job's id.
// (A report with attachments or a part processed directly has no job but
// a hand-over time: insertNew, joinCase.)
func (s *Service) enqueueProcessing(ctx context.Context, tx pgx.Tx, reportID uuid.UUID, at time.Time, direct bool) (int64, error) {
	opts := processReportArgs{}.InsertOpts()
	opts.ScheduledAt = at
	if direct {
		opts.ScheduledAt = at.Add(s.cfg.ProcessFallback)
		// Nobody waits for a fallback: river's scheduler makes it due
		// (a few seconds late), not an insert notification to every
		// producer after every report (exactTimers).
		opts.Tags = []string{tagFallback}
	}
	res, err := s.queue.InsertTx(ctx, tx, processReportArgs{ReportID: reportID}, &opts)
	if err != nil {
		return 0, fmt.Errorf("enqueue processing: %w", err)
	}
	if res.UniqueSkippedAsDuplicate {
		return 0, nil
	}
	return res.Job.ID, nil
}

// processing is how an intake transaction queues its report's processing:
// Direct asks for a fallback (direct run after the commit); JobID is
// the queued job (0: none was queued, e.g. a replayed message).
type processing struct {
	Direct bool
	// Slot: the direct run holds one of the slots (reserveDirect).
	Slot  bool
	JobID int64
	// Handover: the report was stored with a processing hand-over time
	// and has no job (insertNew, joinCase: processed directly).
	Handover bool
	// Rep is the new report as written, for the direct run.
	Rep *Report
	// Routed: the report was routed in its intake transaction
	// (routeAtIntake); its posts are sent after the commit.
	Routed *routedAtIntake
}

// routedAtIntake is a report routed in its intake transaction.
type routedAtIntake struct {
	rep   Report
	plan  routePlan
	posts []*pendingPost
}

// routeAtIntake routes a new report without attachments in its intake
// transaction, when it is to be processed in this process (proc.Direct):
// there is nothing to read for it, so the processing job, its queue hop
// and a transaction of its own would only cost. It runs in a savepoint:
// if routing fails, the report is still accepted and processed as any
// report (direct run, then its job). routed reports whether it did.
func (s *Service) routeAtIntake(ctx context.Context, tx pgx.Tx, in *NewReport, rec *Receipt, now time.Time, proc *processing) (routed bool, err error) {
	proc.Routed = nil
	if !proc.Direct || len(in.Media) > 0 {
		return false, nil
	}
	rep := Report{ID: rec.ReportID, IncidentID: rec.IncidentID, CaseNumber: rec.CaseNumber, Kind: "report",
		Channel: in.Channel, Address: in.Address, Sender: in.Sender, Language: in.Language, Text: in.Text,
		Position: in.Position, PositionSource: in.PositionSource, Urgent: in.Urgent, ReceivedAt: now}
	plan, err := s.planRoute(rep, rep.Position)
	if err != nil {
		s.log.WarnContext(ctx, "routing at intake failed; the processing job routes the report", "case", rec.CaseNumber, "err", err)
		return false, nil
	}
	sp, err := tx.Begin(ctx) // a savepoint
	if err != nil {
		return false, fmt.Errorf("savepoint: %w", err)
	}
	posts, err := s.routeTx(ctx, sp, rep, rep.Position, rep.PositionSource, nil, plan, now)
	if err == nil {
		err = sp.Commit(ctx)
	}
	if err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return false, fmt.Errorf("roll back to savepoint: %w (after %w)", rerr, err)
		}
		s.log.WarnContext(ctx, "routing at intake failed; the processing job routes the report", "case", rec.CaseNumber, "err", err)
		return false, nil
	}
	proc.Routed = &routedAtIntake{rep: rep, plan: plan, posts: posts}
	return true, nil
}

// startPosting sends the posts of a report routed at intake after the
// commit, in the run reserveDirect admitted.
func (s *Service) startPosting(r *routedAtIntake, slot bool) {
	// The case is this one report, routed as planned, with no flags (it
	// has no attachments): its posts are rendered without reading it back.
	c := routedCase(r.rep, r.plan, nil)
	for _, p := range r.posts {
		p.case_ = &c
	}
	go func() {
		defer s.releaseDirect(slot)
		s.afterRouting(s.bg, r.rep, r.rep.Position, r.rep.PositionSource, r.plan, r.posts)
	}()
}

// routedCase is a case of one report just routed by plan, as committed.
func routedCase(rep Report, plan routePlan, flags []flag) knownCase {
	return knownCase{inc: Incident{ID: rep.IncidentID, CaseNumber: rep.CaseNumber, State: StateReceived,
		Address: rep.Address, Team: plan.team.ID, Priority: plan.priority, Policy: plan.dec.Policy,
		Rule: plan.dec.Rule, District: plan.dec.District, Category: plan.dec.Category}, reps: []Report{rep}, flags: flags}
}
