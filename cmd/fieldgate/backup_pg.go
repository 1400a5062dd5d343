package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// pgEnv turns a database URL into libpq environment variables (PGHOST,
// PGPASSWORD, …) for pg_dump and pg_restore, so that the password never
// appears on a command line (visible in ps to every local user).
func pgEnv(dbURL string) ([]string, string, error) {
	c, err := pgconn.ParseConfig(dbURL)
	if err != nil {
		return nil, "", fmt.Errorf("database url: %w", err)
	}
	sslmode := "disable"
	if c.TLSConfig != nil {
		sslmode = "verify-full"
		if c.TLSConfig.InsecureSkipVerify {
			sslmode = "require"
		}
	}
	env := []string{
		"PGHOST=" + c.Host, "PGPORT=" + strconv.Itoa(int(c.Port)), "PGUSER=" + c.User,
		"PGDATABASE=" + c.Database, "PGSSLMODE=" + sslmode, "PGCONNECT_TIMEOUT=10",
	}
	if c.Password != "" {
		env = append(env, "PGPASSWORD="+c.Password)
	}
	return env, c.Database, nil
}

// runPG runs a PostgreSQL client tool (pg_dump, pg_restore) against the
// database at dbURL. Its stderr becomes part of the error.
func runPG(ctx context.Context, dbURL, tool string, args ...string) error {
	env, _, err := pgEnv(dbURL)
	if err != nil {
		return err
	}
	path, err := exec.LookPath(tool)
	if err != nil {
		return fmt.Errorf("%s not found: install the PostgreSQL client (apt-get install postgresql-client-15): %w", tool, err)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(pgBaseEnv(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", tool, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// pgBaseEnv is the environment a tool inherits: ours without any PG*
// variable, which would otherwise override or add to the URL's settings.
func pgBaseEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			out = append(out, kv)
		}
	}
	return out
}
