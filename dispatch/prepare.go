package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/fieldgate/fieldgate/media"
)

// PreparedMedium is an attachment's metadata and team copy, worked on from
// its bytes while the rest of its report is still arriving and being
// committed (PrepareMedium): the report's processing after the commit
// finds them done instead of starting them then. Pass it in
// NewReport.Prepared.
type PreparedMedium struct {
	done   chan struct{}
	res    mediumResult
	forget func()             // drops it from the process's prepared work
	cancel context.CancelFunc // stops the work (Outputs)
	held   int64              // bytes it counts in its report's HeldRoom
}

// mediumResult is what reading one attachment gave: its metadata and team
// copy, each with the error that stopped it.
type mediumResult struct {
	md    media.Metadata
	mdErr error
	d     media.Derivative
	dErr  error
}

// PrepareMedium starts reading obj's metadata and making its team copy
// from src, the bytes just stored, in the background (bounded like every
// team copy by the media store's decode slots). It returns nil when there
// is no media store or the bytes do not fit the memory kept for originals
// (OriginalsBudget): the report's processing then reads them as usual.
// Work on a report that is not accepted is discarded with Outputs.
//
// Each work is charged at least minPreparedCharge against the budget, so
// that many tiny attachments start at most OriginalsBudget /
// minPreparedCharge works (goroutines waiting for a decode slot) at once.
func (s *Service) PrepareMedium(obj media.Object, src []byte) *PreparedMedium {
	charge := max(int64(len(src)), minPreparedCharge)
	if s.media == nil || src == nil || !s.direct.keep(charge) {
		return nil
	}
	ctx, cancel := context.WithCancel(s.bg)
	p := &PreparedMedium{done: make(chan struct{}), cancel: cancel}
	p.forget = func() { s.direct.forgetPrepared(obj.Key, p) }
	// Also for the report's queue job in this process, if no direct run
	// takes it (Service.held), until preparedKeep after the work ends.
	s.direct.offerPrepared(obj.Key, p)
	go func() {
		defer close(p.done)
		defer cancel()
		defer s.direct.unkeep(charge)
		p.res = s.workMedium(ctx, obj, src)
		time.AfterFunc(preparedKeep, p.forget)
	}()
	return p
}

// preparedKeep is how long finished prepared work waits for its report's
// queue job in this process (a report that found no free direct slot is
// processed by its job, due at once; a part waits for its case) before it
// is dropped and the job, wherever it runs, reads the photo from S3.
const preparedKeep = time.Minute

// minPreparedCharge is the least a prepared medium counts against
// OriginalsBudget (1024 works at once at most).
const minPreparedCharge = 64 << 10

// result waits for the work.
func (p *PreparedMedium) result(ctx context.Context) (mediumResult, error) {
	select {
	case <-p.done:
		return p.res, nil
	case <-ctx.Done():
		return mediumResult{}, ctx.Err()
	}
}

// Outputs is for a report that was not accepted: it stops the work (a
// team copy still waiting for a decode slot is not made; one being
// stored is not kept), waits for it and returns the keys of the objects
// it stored (the team copy and thumbnail): its caller deletes them with
// the original.
func (p *PreparedMedium) Outputs(ctx context.Context) []string {
	if p.forget != nil {
		p.forget()
		p.cancel()
	}
	r, err := p.result(ctx)
	if err != nil || r.dErr != nil {
		return nil
	}
	return []string{r.d.Key, r.d.ThumbKey}
}

// workMedium reads an attachment's metadata and makes its team copy, from
// src if not nil, else from S3. A storage failure of the metadata read
// leaves the team copy unmade (it would fail the same way).
func (s *Service) workMedium(ctx context.Context, obj media.Object, src []byte) mediumResult {
	var r mediumResult
	if src == nil {
		w := s.media.ReadAndDerive(ctx, obj)
		r = mediumResult{md: w.Metadata, mdErr: w.MetadataErr, d: w.Derivative, dErr: w.DerivativeErr}
		if r.mdErr != nil && storageTransient(r.mdErr) {
			r.dErr = r.mdErr
		} else if r.mdErr != nil {
			r.md = media.Metadata{NoPositionReason: "metadata unreadable"}
		}
		return r
	}
	r.md, r.mdErr = s.media.ReadMetadataFrom(ctx, obj, src)
	if r.mdErr != nil {
		if storageTransient(r.mdErr) {
			r.dErr = r.mdErr
			return r
		}
		r.md = media.Metadata{NoPositionReason: "metadata unreadable"}
	}
	r.d, r.dErr = s.media.MakeDerivativeFrom(ctx, obj, r.md, src)
	return r
}

// MaxHeldPerReport bounds the attachment bytes one report holds in memory
// from its upload until it is processed (HoldMedium); larger attachments
// are read back from S3.
const MaxHeldPerReport = 16 << 20

// HeldRoom is how many more attachment bytes in may hold (HoldMedium):
// pass it as the keep limit of the upload (media.Store.PutHold).
func (in *NewReport) HeldRoom() int64 {
	return max(0, MaxHeldPerReport-in.held)
}

// HoldMedium gives in the bytes of an attachment just stored (obj, one of
// in.Media): its metadata and team copy are started at once if there is
// room in OriginalsBudget (PrepareMedium). Otherwise the bytes are not
// held (the processing reads them back from S3): holding them outside the
// budget until the report's request ends would let many concurrent
// requests pin unbounded memory. Bodies over HeldRoom and nil bodies are
// not held.
func (s *Service) HoldMedium(in *NewReport, obj media.Object, body []byte) {
	if body == nil || int64(len(body)) > in.HeldRoom() {
		return
	}
	p := s.PrepareMedium(obj, body)
	if p == nil {
		return
	}
	p.held = int64(len(body))
	in.held += p.held
	if in.Prepared == nil {
		in.Prepared = map[string]*PreparedMedium{}
	}
	in.Prepared[obj.Key] = p
}

// DropHeld is for an attachment given to HoldMedium before it was stored
// (media.Store.PutHold) whose storing then failed: it stops and forgets
// the work prepared from its bytes (the report goes on without it, its
// bytes no longer count against HeldRoom) and returns the keys of the
// objects that work stored (team copy and thumbnail), which its caller
// deletes. Nothing for a key that holds nothing.
func (in *NewReport) DropHeld(ctx context.Context, key string) []string {
	p := in.Prepared[key]
	if p == nil {
		return nil
	}
	delete(in.Prepared, key)
	in.held -= p.held
	return p.Outputs(ctx)
}

// PreparedOutputs waits for in's prepared attachments and returns the keys
// of the team copies they stored, for a report that was not accepted: its
// caller deletes them with the originals.
func (in *NewReport) PreparedOutputs(ctx context.Context) []string {
	var keys []string
	for _, p := range in.Prepared {
		keys = append(keys, p.Outputs(ctx)...)
	}
	return keys
}

// errNotPrepared: a prepared medium's work was cut short (its process is
// stopping); it is read again.
var errNotPrepared = errors.New("prepared medium not finished")
