package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/routing"
)

const oncallUsage = `usage:
  fieldgate oncall now  TEAM --rules FILE [--at 2026-11-22T23:10]
  fieldgate oncall show TEAM --rules FILE [--week] [--from 2026-11-23]

TEAM is a team id (its 'oncall' schedule is used) or a schedule name.
Times are in the rules file's time zone unless given in RFC 3339.
'now' exits 1 when nobody is on call.
`

// runOncall implements "fieldgate oncall now|show": who is on call for a
// team, from the rules file's schedule and the calendar it imports.
func runOncall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "now" && args[0] != "show") {
		fmt.Fprint(stderr, oncallUsage)
		return exitError{2}
	}
	cmd := args[0]
	fs := flag.NewFlagSet("oncall "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, oncallUsage) }
	rulesPath := fs.String("rules", "", "rules file (required)")
	at := fs.String("at", "", "instant to ask about (now: default the current time)")
	from := fs.String("from", "", "first day of the plan (show: default today)")
	fs.Bool("week", true, "show seven days (the default and only span)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return exitError{2}
	}
	if len(pos) != 1 || *rulesPath == "" {
		fmt.Fprint(stderr, oncallUsage)
		return exitError{2}
	}
	if cmd == "now" && *from != "" || cmd == "show" && *at != "" {
		fmt.Fprintf(stderr, "fieldgate oncall %s: --at belongs to 'now', --from to 'show'\n", cmd)
		return exitError{2}
	}
	rs, err := routing.Load(*rulesPath)
	if err != nil {
		return fmt.Errorf("oncall: %w", err)
	}
	loc := rs.Location()
	label, sched, err := oncallSchedule(rs, pos[0])
	if err != nil {
		return err
	}
	var cal *dispatch.Calendar
	if sched.ICS != "" {
		src := sched.ICS
		if !strings.Contains(src, "://") && !filepath.IsAbs(src) {
			src = filepath.Join(filepath.Dir(rs.Path()), src)
		}
		cal, err = dispatch.LoadCalendar(ctx, src, loc, nil)
		if err != nil {
			return fmt.Errorf("oncall: schedule %s: %w", sched.Name, err)
		}
		for _, why := range cal.Ignored {
			fmt.Fprintf(stderr, "fieldgate: calendar %s: ignored %s\n", sched.ICS, why)
		}
	}

	if cmd == "now" {
		when := time.Now()
		if *at != "" {
			if when, err = parseWhen(*at, loc); err != nil {
				fmt.Fprintf(stderr, "fieldgate oncall now: --at: %v\n", err)
				return exitError{2}
			}
		}
		oc, ok := dispatch.LookupOnCall(sched, cal, when)
		if !ok {
			fmt.Fprintf(stdout, "%s: nobody on call at %s\n", label, fmtWhen(when, loc))
			return exitError{1}
		}
		until := "until further notice"
		if !oc.Until.IsZero() {
			until = "until " + fmtWhen(oc.Until, loc)
		}
		fmt.Fprintf(stdout, "%s: %s on call at %s %s (%s)\n", label, oc.Person, fmtWhen(when, loc), until, oc.Source)
		return nil
	}

	y, m, d := time.Now().In(loc).Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if *from != "" {
		t, err := parseWhen(*from, loc)
		if err != nil {
			fmt.Fprintf(stderr, "fieldgate oncall show: --from: %v\n", err)
			return exitError{2}
		}
		start = t
	}
	sy, sm, sd := start.In(loc).Date()
	end := time.Date(sy, sm, sd+7, 0, 0, 0, 0, loc)
	if !start.Equal(time.Date(sy, sm, sd, 0, 0, 0, 0, loc)) { // a time of day: exactly a week on
		end = time.Date(sy, sm, sd+7, start.In(loc).Hour(), start.In(loc).Minute(), 0, 0, loc)
	}
	fmt.Fprintf(stdout, "%s: on call %s – %s (%s)\n", label, fmtWhen(start, loc), fmtWhen(end, loc), loc)
	cur := start
	for _, sh := range dispatch.OnCallPlan(sched, cal, start, end) {
		if sh.From.After(cur) {
			fmt.Fprintf(stdout, "  %s – %s  nobody\n", fmtWhen(cur, loc), fmtWhen(sh.From, loc))
		}
		fmt.Fprintf(stdout, "  %s – %s  %s (%s)\n", fmtWhen(sh.From, loc), fmtWhen(sh.To, loc), sh.Person, sh.Source)
		cur = sh.To
	}
	if cur.Before(end) {
		fmt.Fprintf(stdout, "  %s – %s  nobody\n", fmtWhen(cur, loc), fmtWhen(end, loc))
	}
	return nil
}

// oncallSchedule finds the schedule for a team id or a schedule name and a
// label for output.
func oncallSchedule(rs *routing.RuleSet, name string) (string, routing.Schedule, error) {
	if team, ok := rs.Team(name); ok {
		if team.OnCall == "" {
			return "", routing.Schedule{}, fmt.Errorf("oncall: team %q has no on-call schedule", name)
		}
		s, ok := rs.Schedule(team.OnCall)
		if !ok { // Load refuses this; belt and braces
			return "", routing.Schedule{}, fmt.Errorf("oncall: team %q: unknown schedule %q", name, team.OnCall)
		}
		return fmt.Sprintf("%s (schedule %s)", name, s.Name), s, nil
	}
	if s, ok := rs.Schedule(name); ok {
		return "schedule " + name, s, nil
	}
	return "", routing.Schedule{}, fmt.Errorf("oncall: no team or schedule %q in %s", name, rs.Path())
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("now tiefbau --rules r.yaml" as well as "now --rules r.yaml tiefbau").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseWhen reads a time as routing.ParseTime does, also accepting an
// offset without seconds ("2026-10-25T02:30+01:00", to pick one of the two
// 02:30 on the night the clocks go back).
func parseWhen(s string, loc *time.Location) (time.Time, error) {
	t, err := routing.ParseTime(s, loc)
	if err != nil {
		if t2, err2 := time.Parse("2006-01-02T15:04Z07:00", s); err2 == nil {
			return t2, nil
		}
	}
	return t, err
}

// fmtWhen shows an instant in the town's zone with weekday and zone
// abbreviation, so handovers around DST changes are unambiguous.
func fmtWhen(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2006-01-02 15:04 MST")
}
