package gateway

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSendOnceRacingPosts: a post and corrections of the same case race
// for the same encrypted photo; exactly one file message is sent, and the
// others return only after it was (they do not name a photo that is not
// in the room yet). Another photo is not held up by it. Run with -race.
func TestSendOnceRacingPosts(t *testing.T) {
	sending, sent := newFileSends(), &postIDs{}
	var sends, inside atomic.Int32
	send := func(context.Context) error {
		if inside.Add(1) > 1 {
			t.Error("two sends of the same photo at once")
		}
		time.Sleep(20 * time.Millisecond) // upload and echo take a while
		sends.Add(1)
		inside.Add(-1)
		return nil
	}
	origin := roomFileOriginID("tiefbau@conference.stadt.example", "team/ab/cd")
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := sendOnce(context.Background(), sending, sent, origin, send); err != nil {
				t.Error(err)
			}
			if sends.Load() != 1 {
				t.Error("a racing post returned before the photo's message was sent")
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := sends.Load(); n != 1 {
		t.Fatalf("%d file messages for one photo, want 1", n)
	}

	// Another photo goes out while one is being sent.
	other := roomFileOriginID("tiefbau@conference.stadt.example", "team/ef/gh")
	third := roomFileOriginID("tiefbau@conference.stadt.example", "team/ij/kl")
	slow := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- sendOnce(context.Background(), sending, sent, other, func(context.Context) error { <-slow; return nil })
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sendOnce(ctx, sending, sent, third, func(context.Context) error { return nil }); err != nil {
		t.Errorf("another photo waited for a slow one: %v", err)
	}
	close(slow)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSendOnceRetriesAFailure: a send that failed is not counted as
// sent; the next post of the case sends the photo.
func TestSendOnceRetriesAFailure(t *testing.T) {
	sending, sent := newFileSends(), &postIDs{}
	origin := roomFileOriginID("jugendamt@conference.stadt.example", "team/xx")
	boom := errors.New("upload refused")
	if err := sendOnce(context.Background(), sending, sent, origin, func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the send's error", err)
	}
	n := 0
	for range 2 {
		if err := sendOnce(context.Background(), sending, sent, origin, func(context.Context) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n != 1 {
		t.Fatalf("after a failure the photo was sent %d times, want 1", n)
	}
}
