package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestTokenRevokedWhileServing: `fieldgate token revoke`, a process of its
// own, takes effect in a running server whose token cache holds the token:
// the next requests are refused within well under a second.
func TestTokenRevokedWhileServing(t *testing.T) {
	s := startStack(t, nil)
	token := s.newToken("revoke-me", "reporter")
	path := "/api/v1/reports/" + uuid.NewString() // 404 when authenticated, 401 when not
	for range 3 {                                 // read once, then from the cache
		if code, out := s.call(http.MethodGet, path, token); code != http.StatusNotFound {
			t.Fatalf("before revoking: %d %v", code, out)
		}
	}
	if err := run(context.Background(), []string{"token", "revoke", "--name", "revoke-me"}, s.getenv, io.Discard, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	start := time.Now() // the revocation has committed
	for {
		code, out := s.call(http.MethodGet, path, token)
		if code == http.StatusUnauthorized {
			break
		}
		if code != http.StatusNotFound {
			t.Fatalf("while revoking: %d %v", code, out)
		}
		if time.Since(start) > 500*time.Millisecond {
			t.Fatalf("the revoked token still works %v after `fieldgate token revoke` committed", time.Since(start))
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("refused %v after `fieldgate token revoke` committed", time.Since(start))
	// Other tokens are served as before.
	if code, out := s.call(http.MethodGet, path, s.token); code != http.StatusNotFound {
		t.Fatalf("another token after the revocation: %d %v", code, out)
	}
}

// TestReplayAfterCommit: a retry of a committed report (same
// Idempotency-Key) gets the first receipt and stores nothing, whether its
// body is small (read first; the intake's key insert catches it) or large
// (the key is looked up before the body is read).
func TestReplayAfterCommit(t *testing.T) {
	s := startStack(t, nil)
	photo, err := os.ReadFile(testsvc.Photo(t, "messenger_450x600.jpg")) // 133 KB
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		files map[string][]byte
	}{
		{"text only", nil},
		{"one photo, read first", map[string][]byte{"photo": photo}},
		{"two photos, looked up first", map[string][]byte{"photo": photo, "file": photo}}, // over 256 KiB
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := "replay-" + uuid.NewString()
			post := func() (int, map[string]any) {
				body, ct := multipartBody(map[string]string{"to": "tiefbau", "text": "Ampel defekt"}, tc.files)
				req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/reports", body)
				req.Header.Set("Content-Type", ct)
				req.Header.Set("Authorization", "Bearer "+s.token)
				req.Header.Set("Idempotency-Key", key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var out map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&out)
				return resp.StatusCode, out
			}
			code, first := post()
			if code != http.StatusAccepted {
				t.Fatalf("first: %d %v", code, first)
			}
			mediaBefore := s.count("media_objects")
			for range 2 {
				code, again := post()
				if code != http.StatusOK || again["case_number"] != first["case_number"] || again["id"] != first["id"] || again["replayed"] != true {
					t.Fatalf("retry: %d %v, first %v", code, again, first)
				}
			}
			if n := s.count("reports"); n != i+1 {
				t.Fatalf("%d reports after %d different reports and their retries", n, i+1)
			}
			if n := s.count("media_objects"); n != mediaBefore {
				t.Fatalf("retries stored media: %d rows, %d before", n, mediaBefore)
			}
		})
	}
	// What the retries uploaded before the intake caught them is deleted:
	// every object left belongs to a report.
	s.waitOnlyReferencedObjects()
}

// waitOnlyReferencedObjects waits until every object in the bucket is an
// original, team copy or thumbnail that media_objects names.
func (s *stack) waitOnlyReferencedObjects() {
	s.t.Helper()
	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for end := time.Now().Add(30 * time.Second); ; {
		rows, err := conn.Query(context.Background(), `
			SELECT k FROM media_objects, unnest(ARRAY[object_key, derivative_key, thumb_key]) AS k WHERE k IS NOT NULL`)
		if err != nil {
			s.t.Fatal(err)
		}
		known, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			s.t.Fatal(err)
		}
		var stray []string
		for _, o := range s.objects() {
			if !slices.Contains(known, o) {
				stray = append(stray, o)
			}
		}
		if len(stray) == 0 {
			return
		}
		if time.Now().After(end) {
			s.t.Fatalf("objects no report references, 30s after the retries: %v", stray)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTokenTeamRolesChecked: `token create` refuses a team role that
// names no team ("team:", what --role "team:$TEAM" gives with TEAM unset)
// or a team the rules do not define, naming the teams that exist; a
// token of a real team is created.
func TestTokenTeamRolesChecked(t *testing.T) {
	s := startStack(t, nil)
	create := func(role string) (string, error) {
		var out, errOut strings.Builder
		err := run(context.Background(), []string{"token", "create", "--name", "t-" + strings.NewReplacer(":", "-").Replace(role), "--role", role}, s.getenv, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if _, err := create("team:"); err == nil {
		t.Error(`role "team:" accepted`)
	}
	out, err := create("team:tiefbau-nrd")
	if err == nil || !strings.Contains(err.Error(), "tiefbau-nrd") || !strings.Contains(err.Error(), "tiefbau") {
		t.Errorf("unknown team: %v %q; want a refusal naming it and the teams", err, out)
	}
	if out, err := create("team:tiefbau"); err != nil || len(strings.TrimSpace(out)) < 24 {
		t.Errorf("token of a real team: %v %q", err, out)
	}
	var n int
	if err := s.query(`SELECT count(*) FROM api_tokens WHERE name LIKE 't-team-%'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d tokens stored (%v), want only the real team's", n, err)
	}
}
