package gateway

import (
	"context"
	"testing"
	"time"
)

// TestWriteContext: the write's context ends when the caller's ends
// during the write, and stays open after release however the caller's
// ends later (so no deadline is set on the connection after the write).
func TestWriteContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	wctx, release := writeContext(ctx)
	defer release()
	cancel()
	select {
	case <-wctx.Done():
	case <-time.After(time.Second):
		t.Fatal("the write's context did not end with the caller's")
	}

	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	wctx, release = writeContext(ctx)
	release()
	<-ctx.Done()
	select {
	case <-wctx.Done():
		t.Fatal("the write's context ended after release")
	case <-time.After(50 * time.Millisecond):
	}
}
