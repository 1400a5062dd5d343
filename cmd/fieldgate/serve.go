package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/IBM/pgxpoolprometheus"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/fieldgate/fieldgate/api"
	"github.com/fieldgate/fieldgate/api/console"
	"github.com/fieldgate/fieldgate/api/open311"
	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/gateway"
	"github.com/fieldgate/fieldgate/gateway/omemo"
	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/migrations"
	"github.com/fieldgate/fieldgate/routing"
)

// commonFlags parses the flags of a command that takes no arguments
// besides them, --config (default $FIELDGATE_CONFIG) among them, and loads
// the configuration. A stray argument is refused before anything is done
// (stray reports it): Go's flag parsing stops at the first argument that
// is no flag and ignored everything after it, so `retention run dry-run`
// (dashes forgotten) deleted for real, and `serve /etc/fieldgate/fieldgate.yaml`
// ran without that file.
func commonFlags(name string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (*Config, *flag.FlagSet, error) {
	return parseCommand(name, args, false, getenv, stderr, extra)
}

// parseCommand is commonFlags; with positional, arguments after the flags
// are left in the returned FlagSet (fs.Args) for the command to read.
func parseCommand(name string, args []string, positional bool, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (*Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", getenv("FIELDGATE_CONFIG"), "configuration file (YAML)")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, exitError{2}
	}
	if !positional && fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fieldgate %s: %s; nothing was done\n", name, stray(fs, fs.Arg(0)))
		fs.Usage()
		return nil, nil, exitError{2}
	}
	cfg, err := loadConfig(*path, getenv)
	if err != nil {
		return nil, nil, err
	}
	return cfg, fs, nil
}

// stray says what is wrong with arg, an argument a command does not take:
// a flag without its dashes, a configuration file without --config, or
// something else (the flags after it were not read either).
func stray(fs *flag.FlagSet, arg string) string {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	switch {
	case fs.Lookup(name) != nil:
		return fmt.Sprintf("unexpected argument %q: options start with --, as in --%s", arg, name)
	case strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml"):
		return fmt.Sprintf("unexpected argument %q: the configuration file is given with --config %s (or FIELDGATE_CONFIG)", arg, arg)
	}
	return fmt.Sprintf("unexpected argument %q (this command takes only options; everything from there on was not read)", arg)
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// openPool connects to PostgreSQL; tracer, if not nil, sees every query.
// openCheckedPool opens the database of a command that needs the current
// schema (every one but serve and migrate), refusing a database whose
// migrations are behind or ahead of this release (migrations.Check).
func openCheckedPool(ctx context.Context, cfg *Config) (*pgxpool.Pool, error) {
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := migrations.Check(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

func openPool(ctx context.Context, cfg *Config, tracer ...pgx.QueryTracer) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.Database.URL)
	if err != nil {
		return nil, fmt.Errorf("database config: %w", err)
	}
	if len(tracer) > 0 {
		pcfg.ConnConfig.Tracer = tracer[0]
	}
	if cfg.Database.MaxConns > 0 && !strings.Contains(cfg.Database.URL, "pool_max_conns") {
		pcfg.MaxConns = int32(cfg.Database.MaxConns)
	}
	return connectPool(ctx, pcfg)
}

// connectPool opens a pool with pcfg and checks within 10 s that it can
// connect and answer: a server (or pooler) that refuses, or never
// answers, stops the start with its reason instead of a hang.
func connectPool(ctx context.Context, pcfg *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("database config: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL: %w", err)
	}
	return pool, nil
}

// openQueuePool opens the job queue's own connections (river's fetches,
// completions and maintenance; dispatch.Deps.QueuePool): pool's settings
// and size, with every statement planned for its arguments
// (plan_cache_mode=force_custom_plan, PostgreSQL "Query Planning"
// settings). The queue's statements join river_job with arrays of job
// ids; a plan cached while river_job was small (a new database, or one
// not yet analyzed after a busy minute) scans the whole table for every
// batch of completed jobs, however large it has grown meanwhile: 2 ms
// and more per completion, growing with the table, measured with
// auto_explain under `fieldgate bench` in XMPP mode. Planned for their
// arguments, they use river_job's primary key.
func openQueuePool(ctx context.Context, pool *pgxpool.Pool) (*pgxpool.Pool, error) {
	pcfg := pool.Config()
	after := pcfg.AfterConnect
	pcfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if after != nil {
			if err := after(ctx, c); err != nil {
				return err
			}
		}
		// A SET rather than a startup parameter, which connection poolers
		// may refuse.
		_, err := c.Exec(ctx, "SET plan_cache_mode = force_custom_plan")
		return err
	}
	// Connecting runs the SET.
	qp, err := connectPool(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("job queue's connections: %w", err)
	}
	return qp, nil
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, _, err := commonFlags("migrate", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	return migrations.Up(ctx, pool, newLogger(cfg, stderr))
}

func dispatchConfig(cfg *Config, loc *time.Location) dispatch.Config {
	dc := dispatch.Config{
		TimeZone: loc, AssemblyWindow: cfg.Reports.AssemblyWindow, FollowUpWindow: cfg.Reports.FollowUpWindow,
		PartDistance: cfg.Reports.PartDistanceM, MaxPhotoAge: cfg.Reports.MaxPhotoAge,
		DuplicateDistance: cfg.Reports.DuplicateDistanceM, DuplicateWindow: cfg.Reports.DuplicateWindow,
		ShowReporterJID: cfg.Reports.ShowReporterJID, Templates: cfg.Reports.Templates,
		ElectXMPPLeader: true, TokenCache: dispatch.TokenCacheConfig{MaxAge: cfg.HTTP.TokenCacheMaxAge},
	}
	dc.Retention.Default = time.Duration(cfg.Retention.Days) * 24 * time.Hour
	if len(cfg.Retention.CategoryDays) > 0 {
		dc.Retention.Categories = map[string]time.Duration{}
		for c, d := range cfg.Retention.CategoryDays {
			dc.Retention.Categories[c] = time.Duration(d) * 24 * time.Hour
		}
	}
	return dc
}

// openMediaStore connects to the bucket (media.New) as every command that
// reads or writes objects does. A server that refuses the configured
// encryption is an error naming the settings, at start, rather than
// photos stored unencrypted.
func openMediaStore(ctx context.Context, cfg *Config, log *slog.Logger) (*media.Store, error) {
	store, err := media.New(ctx, mediaConfig(cfg), log)
	if errors.Is(err, media.ErrEncryptionUnavailable) {
		return nil, fmt.Errorf("media storage: s3.encryption is %s and s3.require_encryption is true (the default), "+
			"but the S3 server refused it, so photos would be stored unencrypted (%w). Give the S3 server a key management "+
			"service (MinIO: MINIO_KMS_SECRET_KEY or KES), or use s3.encryption: sse-c with TLS and a key; to store photos "+
			"unencrypted knowingly, set s3.encryption: none (FIELDGATE_S3_ENCRYPTION=none), or s3.require_encryption: false "+
			"to fall back with an error in the log (docs/operations.md, section 5)", cfg.S3.Encryption, err)
	}
	if err != nil {
		return nil, fmt.Errorf("media storage: %w", err)
	}
	return store, nil
}

func mediaConfig(cfg *Config) media.Config {
	enc := cfg.S3.Encryption
	if enc == encryptionNone {
		enc = ""
	}
	return media.Config{
		Endpoint: cfg.S3.Endpoint, AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey,
		Bucket: cfg.S3.Bucket, Region: cfg.S3.Region, UseTLS: cfg.S3.UseTLS, PresignTTL: cfg.S3.PresignTTL, OriginalTTL: cfg.S3.OriginalTTL,
		Encryption: enc, SSECKey: cfg.S3.SSECKey, RequireEncryption: cfg.S3.RequireEncryption, MaxConcurrent: cfg.S3.MaxConcurrency,
		DerivativeMaxEdge: cfg.Media.TeamCopyMaxEdge, TeamCopyQuality: cfg.Media.TeamCopyQuality,
		LosslessTeamCopy: cfg.Media.LosslessTeamCopy,
	}
}

// runServe wires everything and serves until ctx ends.
// defaultServeGCPercent is the garbage collector's target for
// `fieldgate serve` (the GOGC percentage: the heap may grow by this much
// of the live heap before the next collection) unless GOGC is set. The
// server's live heap is small (tens of MB), so Go's default of 100
// collects often: under the text load of deploy/SCALING.md the collector
// took 12-14 % of the server's CPU at 100 and 3 % in a profile at 200, for
// about 8 MB more peak RSS (89 -> 97 MB, deploy/SCALING.md "sixth round").
const defaultServeGCPercent = 200

// serveGCPercent is the GC percentage to set, and whether to set it: the
// default unless the environment sets GOGC (which the Go runtime then
// applies itself, "off" included).
func serveGCPercent(getenv func(string) string) (int, bool) {
	if getenv("GOGC") != "" {
		return 0, false
	}
	return defaultServeGCPercent, true
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// SIGHUP (systemctl reload) reloads the rules once rules.Watch below
	// listens for it. Until then Go's default action would end the process,
	// and systemd counts a death by SIGHUP as a clean exit that
	// Restart=on-failure does not restart: take it from the first moment
	// (a full channel drops it; the rules are read at start anyway).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg, _, err := commonFlags("serve", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if pct, set := serveGCPercent(getenv); set {
		debug.SetGCPercent(pct)
	}
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return fmt.Errorf("time_zone: %w", err)
	}

	rules, err := routing.NewEngine(cfg.Rules.File, log)
	if err != nil {
		return fmt.Errorf("rules: %w%s", err, fileReadHint(err))
	}
	pgErrors := &dispatch.PostgresErrorTracer{}
	pool, err := openPool(ctx, cfg, pgErrors)
	if err != nil {
		return err
	}
	defer pool.Close()
	if n := pool.Config().MaxConns; n < 2 {
		// The XMPP leader's session (dispatch.LeadXMPP) holds one of the
		// main pool's connections for as long as it leads.
		return fmt.Errorf("database.max_conns (or pool_max_conns in database.url) is %d: serve needs at least 2, the XMPP leader's session holds one", n)
	}
	if cfg.Database.AutoMigrate == nil || *cfg.Database.AutoMigrate {
		if err := migrations.Up(ctx, pool, log); err != nil {
			return err
		}
	} else if err := migrations.Check(ctx, pool); err != nil {
		return err
	}
	queuePool, err := openQueuePool(ctx, pool)
	if err != nil {
		return err
	}
	defer queuePool.Close()
	store, err := openMediaStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	// The service sends through the gateway, the gateway hands what arrives
	// to the service: the service is built first with a messenger that the
	// gateway fills in before anything runs (svc.Start below).
	msgr := &gatewayMessenger{}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, QueuePool: queuePool, Media: store, Rules: rules, Messenger: msgr, Logger: log},
		dispatchConfig(cfg, loc))
	if err != nil {
		return err
	}
	gw, err := gateway.New(gateway.Config{
		Addr: cfg.XMPP.Addr, Domain: cfg.XMPP.Domain, Secret: cfg.XMPP.Secret, Nick: cfg.XMPP.Nick, RoomRetry: cfg.XMPP.RoomRetry,
		Burst: cfg.XMPP.SenderBurst, RatePerMinute: cfg.XMPP.SenderRatePerMinute,
		PingInterval: cfg.XMPP.PingInterval, PingTimeout: cfg.XMPP.PingTimeout,
		Fetch: gateway.FetchConfig{Hosts: cfg.XMPP.UploadHosts, InternalHosts: cfg.XMPP.InternalUploadHosts, MaxBytes: cfg.XMPP.MaxAttachmentBytes},
	}, svc, rules, store, log)
	if err != nil {
		return err
	}
	msgr.Messenger = gw
	if cfg.OMEMO.Key == "" {
		for _, a := range rules.Current().Addresses() {
			if a.Encryption == routing.EncryptionRequired {
				return fmt.Errorf("address %q requires OMEMO encryption, but no key is set: set FIELDGATE_OMEMO_KEY or omemo.key_file (docs/omemo.md)", a.Name)
			}
		}
	} else {
		sealer, err := omemo.NewSealer(cfg.OMEMO.Key)
		if err != nil {
			return fmt.Errorf("omemo key: %w", err)
		}
		keys := omemo.NewPG(pool)
		gw.EnableOMEMO(omemo.New(keys, sealer, log),
			gateway.OMEMOFiles{Store: store, UploadService: cfg.OMEMO.UploadService}, keys)
		gw.ForgetOMEMOContactsAfter(keys, time.Duration(cfg.Retention.Days)*24*time.Hour)
	}

	gw.RememberLanguages(svc) // "english" / "deutsch" to a function address
	svc.CountPostgresErrors(pgErrors)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(svc.Collectors()...)
	reg.MustRegister(backupCollector{db: pool, log: log}) // when the last backup finished
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "fieldgate_xmpp_answers_written_again_total",
		Help: "Answers to people (receipts, replies, errors, chat messages) written again after the XMPP session they were written on was lost."},
		func() float64 { return float64(gw.AnswersWrittenAgain()) }))
	// Both pools' connections and waits (pgxpool_*{pool="main"|"queue"}):
	// a pool that runs empty under load shows as pgxpool_empty_acquire.
	reg.MustRegister(pgxpoolprometheus.NewCollector(pool, map[string]string{"pool": "main"}),
		pgxpoolprometheus.NewCollector(queuePool, map[string]string{"pool": "queue"}))
	changes := svc.NewChangeFeed()
	apiCfg := api.Config{MaxBodyBytes: cfg.HTTP.MaxBodyBytes, XMPPState: gw.State, Registry: reg, Changes: changes,
		TrustedProxies: cfg.HTTP.TrustedProxies}
	apiCfg.XMPPRooms = gw.RoomStatus
	apiCfg.UploadsPerToken, apiCfg.MinBodyRate = cfg.HTTP.UploadsPerToken, cfg.HTTP.MinBodyRate
	apiCfg.MetricsElsewhere = cfg.HTTP.MetricsAddr != ""
	apiCfg.EventsHeartbeat = cfg.HTTP.EventsHeartbeat
	if cfg.Open311.Enabled == nil || *cfg.Open311.Enabled {
		o, err := newOpen311(cfg, svc, store, rules, loc, log)
		if err != nil {
			return err
		}
		apiCfg.Mount = append(apiCfg.Mount, o.Register)
		apiCfg.ExtraOperations = append(apiCfg.ExtraOperations, open311.Operations()...)
	}
	if cfg.Console.Enabled == nil || *cfg.Console.Enabled {
		con := console.New(consoleConfig(cfg), pool, svc, rules, svc.TemplateNames, log)
		apiCfg.Mount = append(apiCfg.Mount, con.Register)
		apiCfg.Sessions = con
	}
	srv := api.New(svc, store, rules, apiCfg, log)

	// Listen before anything runs: a busy port fails start-up, not later.
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}
	scheme := "http"
	if cfg.HTTP.TLSCert != "" {
		scheme = "https"
	}
	httpSrv, err := newHTTPServer(cfg, srv.Handler(), log)
	if err != nil {
		ln.Close()
		return err
	}
	httpSrv.RegisterOnShutdown(srv.CloseStreams) // open consoles' event streams would hold Shutdown

	var metricsLn net.Listener
	if cfg.HTTP.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.HTTP.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (http.metrics_addr): %w", cfg.HTTP.MetricsAddr, err)
		}
	}
	metricsSrv := &http.Server{Handler: metricsMux(srv.MetricsHandler(), cfg.HTTP.Pprof), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}

	if err := svc.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	if metricsLn != nil {
		g.Go(func() error {
			if err := metricsSrv.Serve(metricsLn); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	g.Go(func() error {
		// One replica holds the component connection (XEP-0114 allows one).
		return svc.LeadXMPP(gctx, cfg.XMPP.Domain, gw.Run)
	})
	g.Go(func() error { return rules.Watch(gctx) })
	g.Go(func() error { return changes.Run(gctx) })
	g.Go(func() error { return svc.WatchTokens(gctx) }) // revocations reach the token cache at once
	g.Go(func() error {
		var err error
		if cfg.HTTP.TLSCert != "" {
			err = httpSrv.ServeTLS(ln, "", "") // certificate from httpSrv.TLSConfig
		} else {
			err = httpSrv.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		herr := errors.Join(httpSrv.Shutdown(sctx), metricsSrv.Shutdown(sctx))
		qerr := svc.Stop(sctx)
		return errors.Join(herr, qerr)
	})
	log.Info("fieldgate started", "version", buildVersion(), "http", ln.Addr().String(), "xmpp_domain", cfg.XMPP.Domain,
		"rules_version", rules.Current().Version())
	fmt.Fprintf(stdout, "fieldgate: listening on %s://%s\n", scheme, ln.Addr().String())
	err = g.Wait()
	if ctx.Err() != nil && err == nil {
		log.Info("fieldgate stopped")
	}
	return err
}

// gatewayMessenger is the dispatch service's Messenger: the gateway, set
// once it is built (it needs the service first). Embedding the interface
// forwards every Messenger method.
type gatewayMessenger struct{ dispatch.Messenger }
