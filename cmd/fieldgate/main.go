// Command fieldgate runs the fieldgate service and its admin tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // Europe/Berlin must resolve on minimal hosts too
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := checkConfigEnv(os.Environ()); err != nil {
		fmt.Fprintln(os.Stderr, "fieldgate:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "fieldgate:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a code after the command has already
// said what went wrong.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

const usage = `fieldgate — reports from the field to the responsible team

Usage:
  fieldgate serve   [--config FILE]     run the gateway (XMPP component, HTTP API, job queue)
  fieldgate migrate [--config FILE]     apply database migrations
  fieldgate token create --name NAME --role ROLE[,ROLE] [--address ADDR[,ADDR]|*] [--ttl 8760h] [--config FILE]
  fieldgate token revoke --name NAME [--config FILE]
  fieldgate console-login USER [--role ROLE[,ROLE]] [--ttl 15m]  one-time console login link (roles from the rules by default)
  fieldgate rules check|explain|test …  check and try routing rules (see 'fieldgate rules help')
  fieldgate media inspect FILE…         show what fieldgate reads from photos
  fieldgate media sweep [--dry-run] [--grace 1h]  delete stored objects no report references (orphans)
  fieldgate oncall now|show TEAM --rules FILE  who is on call now (--at TIME) or this week (--week [--from DATE])
  fieldgate bench --url URL --to ADDRESS --room ROOM --member JID:PW --component-domain D [--load SPEC]…  measure against the raw floor
  fieldgate retention run [--dry-run] [--period 180d] [--category NAME=DUR]…  delete closed incidents past retention
  fieldgate privacy show SUBJECT [--media-dir DIR]  what is stored about a person (JID, token:NAME, e-mail), as JSON
  fieldgate backup --dir DIR [--keep N]   consistent backup: database dump, media objects, manifest
  fieldgate verify-backup DIR | --live    check a backup, or that the database's media exist in S3
  fieldgate restore DIR                 restore a backup into an empty database and a bucket
  fieldgate omemo fingerprints [--config FILE]  OMEMO fingerprints of every function address (to publish)
  fieldgate omemo trust ADDRESS JID DEVICE FINGERPRINT  pin a correspondent device's verified key
  fieldgate version

Configuration: a YAML file (--config or FIELDGATE_CONFIG) and FIELDGATE_* environment variables; see deploy/fieldgate.example.yaml.
`

// run is the whole program; tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{2}
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], getenv, stderr)
	case "console-login":
		return runConsoleLogin(ctx, args[1:], getenv, stdout, stderr)
	case "token":
		return runToken(ctx, args[1:], getenv, stdout, stderr)
	case "rules":
		return runRules(ctx, args[1:], stdout, stderr)
	case "media":
		if len(args) > 1 && args[1] == "sweep" {
			return runMediaSweep(ctx, args[2:], getenv, stdout, stderr)
		}
		return runMedia(ctx, args[1:], stdout, stderr)
	case "oncall":
		return runOncall(ctx, args[1:], stdout, stderr)
	case "retention":
		return runRetention(ctx, args[1:], getenv, stdout, stderr)
	case "privacy":
		return runPrivacy(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		return runBackup(ctx, args[1:], getenv, stdout, stderr)
	case "verify-backup":
		return runVerifyBackup(ctx, args[1:], getenv, stdout, stderr)
	case "restore":
		return runRestore(ctx, args[1:], getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], getenv, stdout, stderr)
	case "omemo":
		return runOMEMO(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "fieldgate", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return exitError{2}
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return version
}
