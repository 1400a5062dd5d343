// Package rulescmd implements `fieldgate rules check|explain|test`, the
// administrator's tools for the routing rules file. It lives beside
// routing so that cmd/fieldgate stays a thin wiring layer.
package rulescmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/routing"
)

// ErrFailed is returned (wrapped) when a file cannot be read, a check
// finds mistakes or a rule test fails. The error says what failed once:
// the problems and failed tests it counts have been printed, nothing of
// the error itself.
var ErrFailed = errors.New("rules: failed")

// ErrUsage is returned (wrapped) for bad command lines, after the usage
// was printed; the error says what is wrong.
var ErrUsage = errors.New("rules: usage")

const usage = `usage:
  fieldgate rules check FILE...
  fieldgate rules explain FILE --to ADDRESS [--text TEXT] [--lat LAT --lon LON]
                                [--at 2026-11-22T23:10] [--from JID] [--urgent]
  fieldgate rules test FILE TESTS.yaml...
`

// Run executes a rules subcommand; args excludes the word "rules".
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: missing subcommand", ErrUsage)
	}
	switch args[0] {
	case "check":
		return check(args[1:], stdout, stderr)
	case "explain":
		return explain(args[1:], time.Now, stdout, stderr)
	case "test":
		return test(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown subcommand %q", ErrUsage, args[0])
}

// load reads a rules file and prints its warnings, or its problems (the
// error then only counts them); any other error (an unreadable file) is
// returned, not printed.
func load(path string, stderr io.Writer) (*routing.RuleSet, error) {
	rs, err := routing.Load(path)
	if err == nil {
		for _, w := range rs.Warnings() {
			fmt.Fprintf(stderr, "%s: warning: %s\n", location(w), w.Msg)
		}
		return rs, nil
	}
	var verr *routing.Error
	if errors.As(err, &verr) {
		for _, p := range verr.Problems {
			fmt.Fprintln(stderr, p.String())
		}
		return nil, fmt.Errorf("%w: %s has %d problem(s)", ErrFailed, path, len(verr.Problems))
	}
	return nil, fmt.Errorf("%w: %w", ErrFailed, err)
}

func check(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: check needs a FILE", ErrUsage)
	}
	var errs []error
	for _, path := range args {
		rs, err := load(path, stderr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		warnings := ""
		if n := len(rs.Warnings()); n > 0 {
			warnings = fmt.Sprintf("; %d warning(s), see above", n)
		}
		fmt.Fprintf(stdout, "%s: ok (version %s): %d teams, %d addresses, %d areas, %d rules + default%s\n",
			path, rs.Version(), len(rs.Teams()), len(rs.Addresses()), len(rs.Areas()), rs.RuleCount(), warnings)
	}
	return errors.Join(errs...)
}

// splitFile takes the FILE argument from the front or the end of args, so
// both "explain FILE --to x" and "explain --to x FILE" work.
func splitFile(fs *flag.FlagSet, args []string) (string, error) {
	file := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
		if fs.NArg() > 1 {
			return "", fmt.Errorf("%w: unexpected arguments %q", ErrUsage, fs.Args()[1:])
		}
	} else if fs.NArg() > 0 {
		return "", fmt.Errorf("%w: unexpected arguments %q", ErrUsage, fs.Args())
	}
	if file == "" {
		return "", fmt.Errorf("%w: missing FILE", ErrUsage)
	}
	return file, nil
}

func explain(args []string, now func() time.Time, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rules explain", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the returned error says what is wrong, usage lists the flags
	to := fs.String("to", "", "function address (local part), e.g. tiefbau")
	text := fs.String("text", "", "report text")
	lat := fs.String("lat", "", "latitude (decimal degrees)")
	lon := fs.String("lon", "", "longitude (decimal degrees)")
	at := fs.String("at", "", "receive time, e.g. 2026-11-22T23:10 in the town's zone (default now)")
	from := fs.String("from", "", "sender's bare JID")
	urgent := fs.Bool("urgent", false, "the sender flagged the report urgent")
	path, err := splitFile(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if err != nil {
		fmt.Fprint(stderr, usage)
		return err
	}
	if *to == "" {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: explain needs --to", ErrUsage)
	}
	rs, err := load(path, stderr)
	if err != nil {
		return err
	}
	in := routing.Input{Address: strings.ToLower(*to), Text: *text, Sender: strings.ToLower(*from), Urgent: *urgent, At: now()}
	if *at != "" {
		if in.At, err = routing.ParseTime(*at, rs.Location()); err != nil {
			return fmt.Errorf("%w: --at: %v", ErrUsage, err)
		}
	}
	if *lat != "" || *lon != "" {
		la, err1 := strconv.ParseFloat(*lat, 64)
		lo, err2 := strconv.ParseFloat(*lon, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%w: give both --lat and --lon as decimal degrees", ErrUsage)
		}
		in.Position = &routing.Point{Lat: la, Lon: lo}
	}
	d := rs.Explain(&in)
	fmt.Fprintf(stdout, "rules:    %s (version %s)\n", path, rs.Version())
	printInput(stdout, rs, &in)
	printDecision(stdout, rs, d, "")
	return nil
}

func printInput(w io.Writer, rs *routing.RuleSet, in *routing.Input) {
	pos := "none"
	if in.Position != nil {
		pos = fmt.Sprintf("%.6f,%.6f", in.Position.Lat, in.Position.Lon)
	}
	sender := in.Sender
	if sender == "" {
		sender = "-"
	}
	fmt.Fprintf(w, "report:   to=%s position=%s at=%s sender=%s urgent=%t\n", in.Address, pos,
		in.At.In(rs.Location()).Format("Mon 2006-01-02 15:04 MST"), sender, in.Urgent)
	if in.Text != "" {
		fmt.Fprintf(w, "text:     %q\n", in.Text)
	}
}

func printDecision(w io.Writer, rs *routing.RuleSet, d routing.Decision, indent string) {
	room := ""
	if t, ok := rs.Team(d.Team); ok {
		room = fmt.Sprintf(" (%s, %s)", t.Name, t.Room)
	}
	fmt.Fprintf(w, "%sdecision: team=%s%s priority=%s policy=%s\n", indent, d.Team, room, d.Priority, orDash(d.Policy))
	fmt.Fprintf(w, "%s          rule=%s district=%s category=%s cc=%s\n", indent, d.Rule, orDash(d.District), orDash(d.Category), orDash(strings.Join(d.CC, ",")))
	fmt.Fprintf(w, "%strail:\n", indent)
	for _, s := range d.Trail {
		if s.Matched {
			fmt.Fprintf(w, "%s  + %s (line %d): matched\n", indent, s.Rule, s.Line)
		} else {
			fmt.Fprintf(w, "%s  - %s (line %d): %s\n", indent, s.Rule, s.Line, s.Failed)
		}
	}
	if len(d.Trail) == 0 || !d.Trail[len(d.Trail)-1].Matched {
		if strings.HasPrefix(d.Rule, "address:") {
			fmt.Fprintf(w, "%s  = no rule matched: the address's default team\n", indent)
		} else {
			fmt.Fprintf(w, "%s  = no rule matched: default\n", indent)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func test(args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: test needs FILE and TESTS.yaml", ErrUsage)
	}
	rs, err := load(args[0], stderr)
	if err != nil {
		return err
	}
	passed, failed := 0, 0
	for _, tf := range args[1:] {
		cases, err := rs.LoadTests(tf)
		if err != nil {
			var verr *routing.Error
			if errors.As(err, &verr) {
				for _, p := range verr.Problems {
					fmt.Fprintln(stderr, p.String())
				}
				return fmt.Errorf("%w: cannot read %s", ErrFailed, tf)
			}
			return fmt.Errorf("%w: %w", ErrFailed, err)
		}
		var positions []routing.Point
		for _, c := range cases {
			if c.Input.Position != nil {
				positions = append(positions, *c.Input.Position)
			}
		}
		if km, far := rs.AreasFarFrom(positions); far {
			fmt.Fprintf(stderr, "%s: warning: %s\n", tf, routing.FarMessage(rs, km))
		}
		for _, r := range rs.RunTests(cases) {
			if r.Passed() {
				passed++
				fmt.Fprintf(stdout, "ok    %s\n", r.Case.Name)
				continue
			}
			failed++
			fmt.Fprintf(stdout, "FAIL  %s:%d: %s\n", r.Case.File, r.Case.Line, r.Case.Name)
			for _, m := range r.Mismatch {
				fmt.Fprintf(stdout, "      %s\n", m)
			}
			printDecision(stdout, rs, r.Got, "      ")
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d rule tests failed", ErrFailed, failed, passed+failed)
	}
	return nil
}

// location is "file:line" of a problem (or just the file).
func location(p routing.Problem) string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}
