package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesOneConnectionPerPool: with database.max_conns 1 (or
// pool_max_conns=1 in the URL) the XMPP leader's session holds the main
// pool's only connection for as long as it leads, and intake, readiness
// and the gateway wait for it forever: `fieldgate serve` started, said it
// was listening, and never became ready. It must refuse to start, naming
// the setting, instead.
func TestServeRefusesOneConnectionPerPool(t *testing.T) {
	for name, extra := range map[string]map[string]string{
		"max_conns":      {"FIELDGATE_DATABASE_MAX_CONNS": "1"},
		"pool_max_conns": {},
	} {
		t.Run(name, func(t *testing.T) {
			s := newStack(t, extra)
			if name == "pool_max_conns" {
				sep := "?"
				if strings.Contains(s.env["FIELDGATE_DATABASE_URL"], "?") {
					sep = "&"
				}
				s.env["FIELDGATE_DATABASE_URL"] += sep + "pool_max_conns=1"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{"serve"}, s.getenv, io.Discard, testWriter{t}) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "database.max_conns") {
					t.Fatalf("serve with one connection per pool: %v, want a start-up error naming database.max_conns", err)
				}
			case <-time.After(10 * time.Second):
				cancel()
				<-done
				t.Fatal("serve with one connection per pool started instead of refusing")
			}
		})
	}
}
