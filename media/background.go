package media

import (
	"sync"
	"time"
)

// backgroundNice is how many nice(2) steps below the process's own CPU
// priority a team copy runs (at most to 19, the lowest). Under Linux's
// scheduler (CFS weights, sched(7)) a thread at nice +10 gets about a
// tenth of the CPU time of a nice-0 thread while both want a core. So
// when the machine is short of CPU (a storm of phone photos), what a
// field worker waits for comes first: the upload, the commit, the case
// number, and the database, S3 and XMPP server beside fieldgate. Team
// copies take what is left, which is all of it when nothing else runs.
const backgroundNice = 10

// background runs the team copies of every Store (inBackground).
var background = newWorkerPool(time.Minute)

// inBackground runs fn, CPU-bound work nobody waits for at once, at
// backgroundNice below the normal priority (workerPool.run).
func inBackground(fn func()) { background.run(fn) }

// workerPool runs work on goroutines each locked for good to an
// operating-system thread of its own whose priority it lowered by
// backgroundNice. A worker ends after wait without work; a goroutine that
// exits locked takes its thread with it (runtime.LockOSThread), so no
// other goroutine ever runs at the lowered priority (raising it back
// would need CAP_SYS_NICE, which the service does not have). Keeping
// workers saves creating a thread per team copy (0.6–0.8 CPU-ms each,
// 15 % of a messenger photo's copy; media/PERFORMANCE.md). There are as
// many workers as works ran at once lately.
type workerPool struct {
	wait time.Duration
	work chan poolJob

	mu   sync.Mutex
	idle int // workers waiting for work, not yet promised any
	n    int // workers alive
}

type poolJob struct {
	fn   func()
	done chan any // fn's panic, or nil
}

func newWorkerPool(wait time.Duration) *workerPool {
	return &workerPool{wait: wait, work: make(chan poolJob)}
}

// run runs fn on an idle worker's thread, or on a new worker's. If the
// priority cannot be lowered, fn runs at the normal one. It returns when
// fn has; a panic in fn is raised again in the caller.
func (p *workerPool) run(fn func()) {
	job := poolJob{fn: fn, done: make(chan any, 1)}
	p.mu.Lock()
	if p.idle > 0 {
		p.idle-- // promised: one idle worker will take it
		p.mu.Unlock()
		p.work <- job
	} else {
		p.n++
		p.mu.Unlock()
		go p.worker(job)
	}
	if v := <-job.done; v != nil {
		panic(v)
	}
}

// worker runs job, then whatever run hands it, until it has waited
// p.wait with no work promised to it.
func (p *workerPool) worker(job poolJob) {
	lockThread() // never unlocked: the thread ends with this goroutine
	lowerThreadPriority(backgroundNice)
	idle := time.NewTimer(p.wait)
	defer idle.Stop()
	for {
		v := runRecovered(job.fn)
		p.mu.Lock()
		p.idle++ // before the caller hears: its next work finds this worker
		p.mu.Unlock()
		job.done <- v
		idle.Reset(p.wait)
		select {
		case job = <-p.work:
		case <-idle.C:
			p.mu.Lock()
			if p.idle == 0 { // every idle worker is promised: take the work
				p.mu.Unlock()
				job = <-p.work
				continue
			}
			p.idle--
			p.n--
			p.mu.Unlock()
			return
		}
	}
}

// alive is the number of workers (tests).
func (p *workerPool) alive() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// runRecovered runs fn and returns its panic, if any.
func runRecovered(fn func()) (v any) {
	defer func() { v = recover() }()
	fn()
	return nil
}
