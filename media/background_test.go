package media

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestInBackgroundLowersOnlyItsOwnThreads: work runs backgroundNice steps
// below the caller's priority on a worker's thread; the caller's thread
// keeps its priority, and so does every thread the runtime gives to other
// goroutines (checked on many fresh goroutines, each locked to its
// thread). Workers are kept: work done one after the other needs one
// worker, not a thread each. A panic in the work reaches the caller and
// the worker goes on.
func TestInBackgroundLowersOnlyItsOwnThreads(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	own, err := threadNice()
	if err != nil {
		t.Fatal(err)
	}
	if own+backgroundNice > 19 {
		t.Fatalf("the test runs at nice %d: too low a priority to see a further lowering", own)
	}
	pool := newWorkerPool(time.Minute)
	for range 50 {
		var got int
		pool.run(func() { got, err = threadNice() })
		if err != nil {
			t.Fatal(err)
		}
		if got != own+backgroundNice {
			t.Fatalf("background work ran at nice %d, want %d (own %d + %d)", got, own+backgroundNice, own, backgroundNice)
		}
	}
	if n := pool.alive(); n != 1 {
		t.Fatalf("50 works one after the other: %d workers, want one", n)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			pool.run(func() {
				if n, _ := threadNice(); n != own+backgroundNice {
					t.Errorf("concurrent background work at nice %d", n)
				}
			})
		})
	}
	wg.Wait()
	if n := pool.alive(); n > 8 {
		t.Fatalf("%d workers for 8 works at once", n)
	}
	if now, _ := threadNice(); now != own {
		t.Fatalf("the caller's thread is at nice %d after the work, was %d", now, own)
	}
	results := make(chan int, 200)
	for range 200 {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			n, _ := threadNice()
			results <- n
		}()
	}
	for range 200 {
		if n := <-results; n != own {
			t.Fatalf("a goroutine ran on a thread at nice %d, not the process's %d: a lowered thread was shared", n, own)
		}
	}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("panic in the work reached the caller as %v, want boom", p)
			}
		}()
		pool.run(func() { panic("boom") })
	}()
	var got int
	inBackground(func() { got, _ = threadNice() }) // the team copies' pool
	if got != own+backgroundNice {
		t.Fatalf("after a panic, work ran at nice %d", got)
	}
}

// TestBackgroundWorkersEnd: a worker without work ends (and its thread
// with it) after its wait, also when work was promised to idle workers
// just then; work after that starts a new one at the lowered priority.
func TestBackgroundWorkersEnd(t *testing.T) {
	pool := newWorkerPool(20 * time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for round := range 5 {
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 20 {
					pool.run(func() { time.Sleep(time.Duration(round) * time.Millisecond) })
				}
			})
		}
		wg.Wait()
		if n := pool.alive(); n > 4 {
			t.Fatalf("round %d: %d workers for 4 callers", round, n)
		}
		for pool.alive() > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d workers still alive long after their wait", round, pool.alive())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	var got int
	pool.run(func() { got, _ = threadNice() })
	if own, _ := threadNice(); got != min(19, own+backgroundNice) {
		t.Fatalf("a new worker ran at nice %d", got)
	}
}
