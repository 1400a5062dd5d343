package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// Position, if set, is sent with report i as Lat+i·0.001 (110 m apart), so
// that no two reports are merged as duplicates.
type Position struct{ Lat, Lon float64 }

// Bench runs loads against a gateway and its floor.
type Bench struct {
	cfg  Config
	pos  *Position
	log  *slog.Logger
	http *http.Client
	run  string // this run's token, in every text the bench sends

	member *client
	room   *seen
	// replies holds each field worker's case numbers seen in replies
	// for the whole run: a worker logs in afresh for every load, and its
	// first reply in a load may name its last case of the one before
	// ("… von Meldung A entfernt … die neue Meldung B").
	replies map[string]*seen
	// floorRoom is a room of the floor component's own on the team room's
	// MUC service: team rooms are members-only, and the gateway keeps
	// their member lists to the rules.
	floorRoom string
	comp      *componentConn
	s3        *minio.Client
	db        *pgxpool.Pool
	bucket    string
	// sse is the floor PUT's server-side encryption (nil: none) and
	// floorEnc its name for the results.
	sse      encrypt.ServerSide
	floorEnc string
	photoMu  sync.Mutex
	photos   map[string][]byte
}

// New checks cfg and connects to everything the loads need: the room
// member, the floor's S3 bucket, table and component. Close undoes it.
func New(ctx context.Context, cfg Config, pos *Position, log *slog.Logger) (*Bench, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	b := &Bench{cfg: cfg, pos: pos, log: log, run: randToken(4), photos: map[string][]byte{}, replies: map[string]*seen{},
		http: &http.Client{Timeout: cfg.Timeout, Transport: keepAliveTransport()}}
	ok := false
	defer func() {
		if !ok {
			b.Close()
		}
	}()
	b.room = newSeen(roomMarkers)
	var err error
	if b.member, err = login(ctx, cfg.C2SAddr, cfg.Member, b.room); err != nil {
		return nil, err
	}
	if err := b.member.join(ctx, cfg.Room, "bench-"+b.run); err != nil {
		return nil, fmt.Errorf("bench: member joins %s: %w", cfg.Room, err)
	}
	_, service, _ := strings.Cut(cfg.Room, "@")
	b.floorRoom = "fieldgate-bench-floor-" + b.run + "@" + service
	if b.comp, err = dialComponent(ctx, cfg.ComponentAddr, cfg.ComponentDomain, cfg.ComponentSecret); err != nil {
		return nil, err
	}
	// The component creates the floor room (and owns it); rooms may be
	// members-only by default, so it admits the member before it enters.
	if err := b.comp.join(ctx, b.floorRoom, "floor"); err != nil {
		return nil, fmt.Errorf("bench: floor component joins %s: %w", b.floorRoom, err)
	}
	if err := b.comp.grantMember(ctx, b.floorRoom, cfg.Member.JID); err != nil {
		return nil, fmt.Errorf("bench: admit the member to %s: %w", b.floorRoom, err)
	}
	if b.s3, err = minio.New(cfg.S3Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.S3AccessKey, cfg.S3SecretKey, ""), Secure: cfg.S3UseTLS}); err != nil {
		return nil, fmt.Errorf("bench: s3: %w", err)
	}
	b.bucket = cfg.S3Bucket + "-bench-floor"
	if exists, err := b.s3.BucketExists(ctx, b.bucket); err != nil {
		return nil, fmt.Errorf("bench: s3 bucket %s: %w", b.bucket, err)
	} else if !exists {
		if err := b.s3.MakeBucket(ctx, b.bucket, minio.MakeBucketOptions{}); err != nil {
			return nil, fmt.Errorf("bench: s3 bucket %s: %w", b.bucket, err)
		}
	}
	if err := b.floorEncryption(ctx); err != nil {
		return nil, err
	}
	if b.db, err = pgxpool.New(ctx, cfg.DatabaseURL); err != nil {
		return nil, fmt.Errorf("bench: database: %w", err)
	}
	if _, err := b.db.Exec(ctx, `CREATE TABLE IF NOT EXISTS fieldgate_bench_floor (id bigserial PRIMARY KEY, run text, body text, at timestamptz)`); err != nil {
		return nil, fmt.Errorf("bench: floor table: %w", err)
	}
	// Let the joins complete before anything is measured.
	if err := b.probe(ctx); err != nil {
		return nil, err
	}
	// The gateway sets the team room's member list when it joins; a
	// gateway that has just started may not have yet: try again a while.
	for deadline := time.Now().Add(15 * time.Second); b.member.refused(cfg.Room) != ""; {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bench: %s may not enter %s (%s): the member must be one the rules name for that team", cfg.Member.JID, cfg.Room, b.member.refused(cfg.Room))
		}
		time.Sleep(500 * time.Millisecond)
		if err := b.member.join(ctx, cfg.Room, "bench-"+b.run); err != nil {
			return nil, fmt.Errorf("bench: member joins %s: %w", cfg.Room, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	ok = true
	return b, nil
}

// floorEncryption sets the floor PUT's server-side encryption to the
// gateway's (Config.S3Encryption) and checks with one PUT that the server
// accepts it; if not, the floor stores unencrypted and says so, as the
// gateway does with s3.require_encryption off (with it on, the gateway
// would not have started).
func (b *Bench) floorEncryption(ctx context.Context) error {
	b.floorEnc = "none"
	switch b.cfg.S3Encryption {
	case "sse-s3":
		b.sse = encrypt.NewSSE()
	case "sse-c":
		sse, err := encrypt.NewSSEC(b.cfg.S3SSECKey)
		if err != nil {
			return fmt.Errorf("bench: sse-c key: %w", err)
		}
		b.sse = sse
	default:
		return nil
	}
	if err := b.floorPut(ctx, b.run+"/encryption-probe", []byte{0}); err != nil {
		b.log.Warn("the S3 server refused the gateway's server-side encryption; the floor stores unencrypted", "encryption", b.cfg.S3Encryption, "err", err)
		b.sse = nil
		return nil
	}
	b.floorEnc = b.cfg.S3Encryption
	return nil
}

// probe posts one floor message and waits for its reflection: the member
// and the floor component are in the floor room. (Whether the member is
// in the team room shows in the first report: a members-only room refuses
// a member the rules do not name.)
func (b *Bench) probe(ctx context.Context) error {
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		// (Re-)enter: a join sent before the membership arrived was refused.
		if err := b.member.join(ctx, b.floorRoom, "member"); err != nil {
			return fmt.Errorf("bench: member joins %s: %w", b.floorRoom, err)
		}
		token := fmt.Sprintf("%s%s-probe-%d", floorPrefix, b.run, i)
		if err := b.comp.groupchat(ctx, b.floorRoom, token); err != nil {
			return fmt.Errorf("bench: floor probe: %w", err)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := b.room.wait(wctx, token)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			why := b.comp.lastError()
			if why == "" {
				why = "no error returned"
			}
			return fmt.Errorf("bench: the room %s did not reflect the floor component's message to the member within 15s (%s; may %s create rooms there?)", b.floorRoom, why, b.cfg.ComponentDomain)
		}
	}
}

// Close leaves the room, drops the floor table and empties the floor bucket.
func (b *Bench) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if b.member != nil {
		b.member.close()
	}
	if b.comp != nil {
		b.comp.close()
	}
	if b.db != nil {
		_, _ = b.db.Exec(ctx, `DELETE FROM fieldgate_bench_floor WHERE run = $1`, b.run)
		_, _ = b.db.Exec(ctx, `DROP TABLE IF EXISTS fieldgate_bench_floor`)
		b.db.Close()
	}
	if b.s3 != nil {
		for o := range b.s3.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil {
				_ = b.s3.RemoveObject(ctx, b.bucket, o.Key, minio.RemoveObjectOptions{})
			}
		}
		_ = b.s3.RemoveBucket(ctx, b.bucket)
	}
}

// Run measures each load: first the floor with the same photos and
// concurrency, then fieldgate. Samples go to each as they complete.
func (b *Bench) Run(ctx context.Context, each func(Sample)) ([]Result, error) {
	var results []Result
	if name := pastRoomArchiveLimit(b.cfg.Loads); name != "" {
		b.log.Warn("bench: from this load on, a room holds over 9,000 messages of this run; Prosody's file archive keeps at most storage_archive_item_limit (default 10,000) per room and then rewrites it every 100 messages, which the figures would measure (docs/xmpp-server.md)",
			"load", name)
	}
	for _, l := range b.cfg.Loads {
		r := Result{Load: l.Name, Mode: l.Mode, Count: l.Count, Concurrency: l.Concurrency, Rate: l.Rate}
		r.LoadAvg[0] = loadAverage()
		for _, p := range l.Photos {
			data, err := b.photo(p)
			if err != nil {
				return results, err
			}
			r.PhotoBytes = max(r.PhotoBytes, int64(len(data)))
			r.FloorEncryption = b.floorEnc
		}
		cpu0 := b.watchedCPU()
		b.log.Info("load: floor", "load", l.Name)
		floor, err := b.drive(ctx, l, KindFloor, func(ctx context.Context, i int, s *Sample) error { return b.floorOp(ctx, l, i, s) }, each)
		if err != nil {
			return results, err
		}
		cpu1 := b.watchedCPU()
		b.log.Info("load: fieldgate", "load", l.Name)
		op := b.httpOp
		var workers chan *client
		if l.Mode == ModeXMPP {
			if workers, err = b.loginWorkers(ctx, l); err != nil {
				return results, err
			}
			op = func(ctx context.Context, l Load, i int, s *Sample) error {
				w := <-workers
				defer func() { workers <- w }()
				return b.xmppOp(ctx, w, l, i, s)
			}
		}
		fg, err := b.drive(ctx, l, KindFieldgate, func(ctx context.Context, i int, s *Sample) error { return op(ctx, l, i, s) }, each)
		if workers != nil {
			close(workers)
			for w := range workers {
				w.close()
			}
		}
		if err != nil {
			return results, err
		}
		cpu2 := b.watchedCPU()
		r.CPU = cpuPerOp(b.cfg.Watch, cpu0, cpu1, cpu2, len(floor), len(fg))
		r.Floor, r.Fieldgate = summarize(floor), summarize(fg)
		r.P50Ratio = ratio(r.Fieldgate.P50ms, r.Floor.P50ms)
		r.ThroughputRatio = ratio(r.Fieldgate.Throughput, r.Floor.Throughput)
		r.LoadAvg[1] = loadAverage()
		if !l.Target.IsZero() {
			met := l.Target.Met(r)
			r.Target, r.TargetMet = l.Target.String(), &met
		}
		results = append(results, r)
	}
	return results, nil
}

// drive runs l.Count operations, closed loop (l.Concurrency in flight) or
// open loop (l.Rate per second), and stops at l.Duration at the latest.
func (b *Bench) drive(ctx context.Context, l Load, kind string, op func(context.Context, int, *Sample) error, each func(Sample)) ([]Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, l.Duration)
	defer cancel()
	var (
		mu      sync.Mutex
		samples []Sample
		wg      sync.WaitGroup
	)
	t0 := time.Now()
	do := func(i int) {
		s := Sample{Load: l.Name, Kind: kind, Seq: i, Start: time.Since(t0)}
		if err := op(ctx, i, &s); err != nil {
			s.Err = err.Error()
		}
		if each != nil {
			each(s)
		}
		mu.Lock()
		samples = append(samples, s)
		mu.Unlock()
	}
	if l.Rate > 0 {
		interval := time.Duration(float64(time.Second) / l.Rate)
	open:
		for i := 0; i < l.Count; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); do(i) }()
			select {
			case <-time.After(time.Until(t0.Add(time.Duration(i+1) * interval))):
			case <-ctx.Done():
				break open
			}
		}
	} else {
		next := make(chan int)
		for range l.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					do(i)
				}
			}()
		}
	closed:
		for i := 0; i < l.Count; i++ {
			select {
			case next <- i:
			case <-ctx.Done():
				break closed
			}
		}
		close(next)
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return samples, err
	}
	return samples, nil
}

func (b *Bench) photo(path string) ([]byte, error) {
	b.photoMu.Lock()
	defer b.photoMu.Unlock()
	if d, ok := b.photos[path]; ok {
		return d, nil
	}
	d, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	b.photos[path] = d
	return d, nil
}

// photoFor returns report i's photo (name and bytes), or nil for text only.
func (b *Bench) photoFor(l Load, i int) (string, []byte, error) {
	if len(l.Photos) == 0 {
		return "", nil, nil
	}
	p := l.Photos[i%len(l.Photos)]
	d, err := b.photo(p)
	return filepath.Base(p), d, err
}

// floorOp: S3 PUT of the same bytes, one INSERT, one component message
// into the room, until the member sees it reflected.
func (b *Bench) floorOp(ctx context.Context, l Load, i int, s *Sample) error {
	_, data, err := b.photoFor(l, i)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if data != nil {
		if err := b.floorPut(ctx, fmt.Sprintf("%s/%s/%d", b.run, l.Name, i), data); err != nil {
			return err
		}
	}
	if _, err := b.db.Exec(ctx, `INSERT INTO fieldgate_bench_floor (run, body, at) VALUES ($1, $2, now())`, b.run, "Bench"); err != nil {
		return fmt.Errorf("floor insert: %w", err)
	}
	s.Accept = time.Since(t0)
	token := fmt.Sprintf("%s%s-%s-%d", floorPrefix, b.run, l.Name, i)
	if err := b.comp.groupchat(ctx, b.floorRoom, token); err != nil {
		return fmt.Errorf("floor message: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	at, err := b.room.wait(wctx, token)
	if err != nil {
		return err
	}
	s.E2E = at.Sub(t0)
	return nil
}

// floorPut stores data under key in the floor's bucket, encrypted as the
// gateway's objects are (floorEncryption).
func (b *Bench) floorPut(ctx context.Context, key string, data []byte) error {
	if _, err := b.s3.PutObject(ctx, b.bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream", ServerSideEncryption: b.sse}); err != nil {
		return fmt.Errorf("floor put: %w", err)
	}
	return nil
}

func (b *Bench) text(l Load, i int) string {
	return fmt.Sprintf("Bench %s %s #%d", b.run, l.Name, i)
}

// httpOp files report i with POST /api/v1/reports and waits for its post.
func (b *Bench) httpOp(ctx context.Context, l Load, i int, s *Sample) error {
	name, data, err := b.photoFor(l, i)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("to", b.cfg.To)
	_ = mw.WriteField("text", b.text(l, i))
	if b.pos != nil {
		_ = mw.WriteField("lat", fmt.Sprintf("%.6f", b.pos.Lat+float64(i)*0.001))
		_ = mw.WriteField("lon", fmt.Sprintf("%.6f", b.pos.Lon))
	}
	if data != nil {
		fw, err := mw.CreateFormFile("photo", name)
		if err != nil {
			return err
		}
		_, _ = fw.Write(data)
	}
	_ = mw.Close()
	t0 := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.URL+"/api/v1/reports", &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+b.cfg.Token)
	req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%s-%s-%d", b.run, l.Name, i))
	resp, err := b.http.Do(req)
	if err != nil {
		return fmt.Errorf("POST: %w", err)
	}
	var rec struct {
		CaseNumber string `json:"case_number"`
		Detail     string `json:"detail"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rec)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || err != nil || rec.CaseNumber == "" {
		return fmt.Errorf("POST: %s %s", resp.Status, rec.Detail)
	}
	s.Accept = time.Since(t0)
	wctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	at, err := b.room.wait(wctx, rec.CaseNumber)
	if err != nil {
		return err
	}
	s.E2E = at.Sub(t0)
	if data != nil {
		b.waitLink(ctx, rec.CaseNumber, t0, s)
	}
	return nil
}

// LinkWait is how long after a case's post the bench waits for a post
// that links the photo's team copy (a correction, XEP-0308, if the first
// post went out without it).
const LinkWait = 15 * time.Second

// waitLink records when the room first showed caseNumber with a link to
// a team copy; s.Link stays 0 when none came within LinkWait.
func (b *Bench) waitLink(ctx context.Context, caseNumber string, t0 time.Time, s *Sample) {
	ctx, cancel := context.WithTimeout(ctx, LinkWait)
	defer cancel()
	if at, err := b.room.wait(ctx, linkKey(caseNumber)); err == nil {
		s.Link = at.Sub(t0)
	}
}

// loginWorkers connects the field workers a load needs (one per report in
// flight).
func (b *Bench) loginWorkers(ctx context.Context, l Load) (chan *client, error) {
	n := l.Concurrency
	if n > len(b.cfg.Workers) {
		return nil, fmt.Errorf("bench: load %s: concurrency %d needs %d --workers accounts, have %d", l.Name, n, n, len(b.cfg.Workers))
	}
	ch := make(chan *client, n)
	for _, acct := range b.cfg.Workers[:n] {
		got := b.replies[acct.JID]
		if got == nil {
			got = newSeen(replyMarkers)
			b.replies[acct.JID] = got
		}
		c, err := login(ctx, b.cfg.C2SAddr, acct, got)
		if err != nil {
			close(ch)
			for c := range ch {
				c.close()
			}
			return nil, err
		}
		ch <- c
	}
	return ch, nil
}

// xmppOp sends report i as a field worker's messenger does: upload the
// photo (XEP-0363), send a message with the text and the URL (XEP-0066)
// to the function address, wait for the reply with the case number and
// for the post in the room.
func (b *Bench) xmppOp(ctx context.Context, w *client, l Load, i int, s *Sample) error {
	name, data, err := b.photoFor(l, i)
	if err != nil {
		return err
	}
	replies := w.got.count()
	t0 := time.Now()
	m := outMessage{To: b.cfg.To + "@" + b.cfg.ReportsDomain, ID: randToken(8), Type: "chat", Body: b.text(l, i)}
	m.OriginID = &originID{ID: m.ID}
	if data != nil {
		u, err := w.upload(ctx, name, contentTypeOf(name), data)
		if err != nil {
			return err
		}
		m.OOB = &oobX{URL: u}
		m.Body += "\n" + u
	}
	if b.pos != nil {
		m.Body += fmt.Sprintf("\ngeo:%.6f,%.6f", b.pos.Lat+float64(i)*0.001, b.pos.Lon)
	}
	if err := w.send(ctx, m); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	caseNo, at, err := w.got.next(wctx, replies)
	if err != nil {
		return err
	}
	s.Accept = at.Sub(t0)
	at, err = b.room.wait(wctx, caseNo)
	if err != nil {
		return err
	}
	s.E2E = at.Sub(t0)
	if data != nil {
		b.waitLink(ctx, caseNo, t0, s)
	}
	return nil
}

func contentTypeOf(name string) string {
	switch filepath.Ext(name) {
	case ".png", ".PNG":
		return "image/png"
	case ".webp":
		return "image/webp"
	case ".heic", ".HEIC":
		return "image/heic"
	case ".heif":
		return "image/heif"
	}
	return "image/jpeg"
}

// watchedCPU reads the CPU time of every watched process tree (nil
// without any). A process that is gone, or no /proc, is logged and left
// out of the results: the load's figures still count.
func (b *Bench) watchedCPU() map[int]time.Duration {
	if len(b.cfg.Watch) == 0 {
		return nil
	}
	roots := make([]int, len(b.cfg.Watch))
	for i, w := range b.cfg.Watch {
		roots[i] = w.PID
	}
	cpu, err := treeCPU(roots)
	if err != nil {
		b.log.Warn("bench: no CPU times", "err", err)
		return nil
	}
	for _, w := range b.cfg.Watch {
		if _, ok := cpu[w.PID]; !ok {
			b.log.Warn("bench: watched process is gone", "name", w.Name, "pid", w.PID)
		}
	}
	return cpu
}

// cpuPerOp turns three readings (before the floor, between the phases,
// after fieldgate's) into CPU milliseconds per operation of each phase,
// for the processes present in all three.
func cpuPerOp(watch []Watched, before, between, after map[int]time.Duration, floorOps, fieldgateOps int) []CPUUse {
	if len(watch) == 0 {
		return nil
	}
	per := func(d time.Duration, n int) float64 {
		if n == 0 {
			return 0
		}
		return float64(d) / float64(time.Millisecond) / float64(n)
	}
	var out []CPUUse
	for _, w := range watch {
		t0, ok0 := before[w.PID]
		t1, ok1 := between[w.PID]
		t2, ok2 := after[w.PID]
		if !ok0 || !ok1 || !ok2 {
			continue // gone (or restarted) during the load: no honest figure
		}
		out = append(out, CPUUse{Name: w.Name, FloorMs: per(t1-t0, floorOps), FieldgateMs: per(t2-t1, fieldgateOps)})
	}
	return out
}

// keepAliveTransport is net/http's default transport keeping up to 1024
// idle connections to the server instead of 2: each simulated field
// worker keeps its connection, as an app on a phone does. With the
// default, at c=16 fourteen of sixteen connections were closed after
// every request and opened again for the next, and the TCP handshakes,
// accepts and per-connection buffers counted as fieldgate's CPU.
func keepAliveTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 1024
	return t
}
