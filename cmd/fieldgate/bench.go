package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fieldgate/fieldgate/internal/bench"
)

// watchSpecs is the repeatable --cpu flag.
type watchSpecs []bench.Watched

func (w *watchSpecs) String() string { return fmt.Sprint(len(*w), " processes") }

func (w *watchSpecs) Set(v string) error {
	p, err := bench.ParseWatched(v)
	if err != nil {
		return err
	}
	*w = append(*w, p)
	return nil
}

// loadSpecs is the repeatable --load flag.
type loadSpecs []bench.Load

func (l *loadSpecs) String() string { return fmt.Sprint(len(*l), " loads") }

func (l *loadSpecs) Set(v string) error {
	load, err := bench.ParseLoad(v)
	if err != nil {
		return err
	}
	*l = append(*l, load)
	return nil
}

const benchUsage = `usage: fieldgate bench [--config FILE] --url URL --to ADDRESS --room ROOM --member JID:PASSWORD --c2s HOST:PORT
                       --component-domain DOMAIN [--load SPEC]… [--cpu NAME=PID]… [--csv FILE] [--plot PREFIX] [--json] [--out DIR]

Sends reports to a running gateway and measures, per load, the acceptance
latency, the end-to-end latency until the team room reflects the post (seen
by --member), and the throughput; and the same for the raw floor (S3 PUT of
the same bytes, with the server-side encryption the gateway stores with
(s3.encryption), + one INSERT + one message of the spare component
--component-domain into the room) in the same run. Every figure is printed
as a ratio to the floor. The database, S3 and XMPP component port come from
the configuration (as for serve); the API token from --token or
FIELDGATE_BENCH_TOKEN. Only loopback addresses (and --allow-host) are
targets; every load is bounded in count and time.

A load SPEC is name=NAME,mode=http|xmpp,photos=DIR|FILE,c=N,rate=R,n=N,duration=D,target=T
(c: reports in flight; rate: reports per second, open loop; n: how many;
T: what the load must reach as ratios to the floor, terms joined by +:
p50<=X, throughput>=X, links — the table then says met or not met).
--cpu NAME=PID (repeatable; PID "self" is the bench) splits the CPU time
of that process and its children by phase: CPU-ms per operation of the
floor and of fieldgate, in the table and the JSON (Linux /proc).
--out DIR writes everything at once: table.txt, table.md (the table of
deploy/SCALING.md), results.json, samples.csv and plot-LOAD.png.
deploy/dev/bench (make bench-e2e) sets up services, gateway, token and
accounts and runs the standard loads with --out var/bench.
`

// runBench is `fieldgate bench`.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		bc                               bench.Config
		loads                            loadSpecs
		watch                            watchSpecs
		member, workers, allow, csvPath  string
		plotPrefix, photos, mode, outDir string
		workerCount, conc, count         int
		rate, lat, lon                   float64
		duration                         time.Duration
		asJSON                           bool
	)
	cfg, fs, err := parseCommand("bench", args, true, getenv, stderr, func(fs *flag.FlagSet) {
		fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
		fs.StringVar(&bc.URL, "url", "http://127.0.0.1:8080", "the gateway's HTTP API")
		fs.StringVar(&bc.Token, "token", getenv("FIELDGATE_BENCH_TOKEN"), "API token with the reporter role (better: FIELDGATE_BENCH_TOKEN)")
		fs.StringVar(&bc.To, "to", "", "function address (local part) the reports go to")
		fs.StringVar(&bc.Room, "room", "", "bare JID of the team room the address posts into")
		fs.StringVar(&member, "member", "", "JID:PASSWORD of a room member that watches the posts")
		fs.StringVar(&bc.C2SAddr, "c2s", "127.0.0.1:5222", "the XMPP server's client port")
		fs.StringVar(&bc.ComponentDomain, "component-domain", "", "a spare component domain (same secret as the gateway's) for the floor's room message")
		fs.StringVar(&workers, "workers", "", "field workers for mode=xmpp: JID:PASSWORD,… or a pattern with %d (tester%d@stadt.localhost:test)")
		fs.IntVar(&workerCount, "worker-count", 16, "how many accounts a --workers pattern makes")
		fs.StringVar(&allow, "allow-host", "", "further target hosts (comma-separated): your own test hosts, never others'")
		fs.Float64Var(&lat, "lat", 0, "position of report i: lat + i·0.001 (with --lon; 0 = none sent)")
		fs.Float64Var(&lon, "lon", 0, "longitude sent with every report")
		fs.DurationVar(&bc.Timeout, "timeout", 2*time.Minute, "how long one report may take to reach the room")
		fs.Var(&watch, "cpu", "NAME=PID of a process (with its children) whose CPU per operation is measured in each phase (repeatable)")
		fs.Var(&loads, "load", "a load SPEC (repeatable); without it, one load from --mode --photos --c --rate --n --duration")
		fs.StringVar(&mode, "mode", bench.ModeHTTP, "http or xmpp")
		fs.StringVar(&photos, "photos", "", "a photo or a directory of photos, one attached per report in turn (default: text only)")
		fs.IntVar(&conc, "c", 1, "reports in flight")
		fs.Float64Var(&rate, "rate", 0, "reports per second, open loop (0: closed loop with --c)")
		fs.IntVar(&count, "n", 30, "reports per load")
		fs.DurationVar(&duration, "duration", 5*time.Minute, "longest time a load may run")
		fs.StringVar(&csvPath, "csv", "", "write every sample to this CSV file")
		fs.StringVar(&plotPrefix, "plot", "", "write PREFIX-LOAD.png: latency over time per load")
		fs.BoolVar(&asJSON, "json", false, "print one JSON object per load instead of the table")
		fs.StringVar(&outDir, "out", "", "write table.txt, table.md, results.json, samples.csv and plot-LOAD.png into this directory")
	})
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprint(stderr, benchUsage)
		return exitError{2}
	}
	if len(loads) == 0 {
		spec := fmt.Sprintf("mode=%s,c=%d,rate=%g,n=%d,duration=%s", mode, conc, rate, count, duration)
		if photos != "" {
			spec += ",photos=" + photos
		}
		if err := loads.Set(spec); err != nil {
			return err
		}
	}
	bc.Loads, bc.Watch = loads, watch
	if outDir != "" {
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return err
		}
		if csvPath == "" {
			csvPath = filepath.Join(outDir, "samples.csv")
		}
		if plotPrefix == "" {
			plotPrefix = filepath.Join(outDir, "plot")
		}
	}
	if bc.Member, err = parseAccount(member); err != nil {
		return fmt.Errorf("--member: %w", err)
	}
	if workers != "" {
		if bc.Workers, err = parseAccounts(workers, workerCount); err != nil {
			return fmt.Errorf("--workers: %w", err)
		}
	}
	if allow != "" {
		bc.AllowHosts = strings.Split(allow, ",")
	}
	bc.DatabaseURL = cfg.Database.URL
	bc.S3Endpoint, bc.S3AccessKey, bc.S3SecretKey, bc.S3Bucket, bc.S3UseTLS = cfg.S3.Endpoint, cfg.S3.AccessKey, cfg.S3.SecretKey, cfg.S3.Bucket, cfg.S3.UseTLS
	// The floor's PUT is the gateway's storage operation: same encryption.
	bc.S3Encryption = cfg.S3.Encryption
	if cfg.S3.Encryption == "sse-c" {
		bc.S3SSECKey, _ = base64.StdEncoding.DecodeString(cfg.S3.SSECKey) // checked by loadConfig
	}
	bc.ComponentAddr, bc.ComponentSecret, bc.ReportsDomain = cfg.XMPP.Addr, cfg.XMPP.Secret, cfg.XMPP.Domain
	var pos *bench.Position
	if lat != 0 || lon != 0 {
		pos = &bench.Position{Lat: lat, Lon: lon}
	}
	log := newLogger(cfg, stderr)
	b, err := bench.New(ctx, bc, pos, log)
	if err != nil {
		return err
	}
	defer b.Close()
	var (
		mu      sync.Mutex
		samples []bench.Sample
	)
	results, err := b.Run(ctx, func(s bench.Sample) {
		mu.Lock()
		samples = append(samples, s)
		mu.Unlock()
	})
	if csvPath != "" {
		if werr := writeFile(csvPath, func(w io.Writer) error { return bench.WriteCSV(w, samples) }); werr != nil {
			return werr
		}
	}
	if plotPrefix != "" {
		for _, l := range bc.Loads {
			var own []bench.Sample
			for _, s := range samples {
				if s.Load == l.Name {
					own = append(own, s)
				}
			}
			if werr := writeFile(plotPrefix+"-"+l.Name+".png", func(w io.Writer) error { return bench.WritePlot(w, l.Name, own) }); werr != nil {
				return werr
			}
		}
	}
	if err != nil {
		return err
	}
	if outDir != "" {
		for name, write := range map[string]func(io.Writer) error{
			"table.txt":    func(w io.Writer) error { bench.WriteTable(w, results); return nil },
			"table.md":     func(w io.Writer) error { bench.WriteMarkdown(w, results); return nil },
			"results.json": func(w io.Writer) error { return bench.WriteJSON(w, results) },
		} {
			if err := writeFile(filepath.Join(outDir, name), write); err != nil {
				return err
			}
		}
	}
	if asJSON {
		return bench.WriteJSON(stdout, results)
	}
	bench.WriteTable(stdout, results)
	if outDir != "" {
		fmt.Fprintln(stdout)
		bench.WriteMarkdown(stdout, results)
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// parseAccount reads JID:PASSWORD.
func parseAccount(s string) (bench.Account, error) {
	j, pw, ok := strings.Cut(s, ":")
	if !ok || j == "" || pw == "" {
		return bench.Account{}, fmt.Errorf("want JID:PASSWORD")
	}
	return bench.Account{JID: j, Password: pw}, nil
}

// parseAccounts reads JID:PASSWORD,… or a pattern with %d, numbered 1…n.
func parseAccounts(s string, n int) ([]bench.Account, error) {
	var out []bench.Account
	if strings.Contains(s, "%d") {
		for i := 1; i <= n; i++ {
			a, err := parseAccount(strings.ReplaceAll(s, "%d", fmt.Sprint(i)))
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		return out, nil
	}
	for _, p := range strings.Split(s, ",") {
		a, err := parseAccount(p)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
