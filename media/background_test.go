package media

import (
	"runtime"
	"testing"
)

// TestInBackgroundLowersOnlyItsOwnThread: the work runs at backgroundNice
// steps below the caller's priority, on a thread that ends with it: the
// caller's thread keeps its priority, and so does every thread the
// runtime gives to goroutines afterwards (checked on many fresh
// goroutines, each locked to its thread, while the background threads
// were ending). A panic in the work reaches the caller.
func TestInBackgroundLowersOnlyItsOwnThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	own, err := threadNice()
	if err != nil {
		t.Fatal(err)
	}
	if own+backgroundNice > 19 {
		t.Fatalf("the test runs at nice %d: too low a priority to see a further lowering", own)
	}
	for range 20 {
		var got int
		inBackground(func() { got, err = threadNice() })
		if err != nil {
			t.Fatal(err)
		}
		if got != own+backgroundNice {
			t.Fatalf("background work ran at nice %d, want %d (own %d + %d)", got, own+backgroundNice, own, backgroundNice)
		}
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
			t.Fatalf("a later goroutine ran on a thread at nice %d, not the process's %d: a lowered thread was reused", n, own)
		}
	}
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("panic in the work reached the caller as %v, want boom", p)
		}
	}()
	inBackground(func() { panic("boom") })
}
