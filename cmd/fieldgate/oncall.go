package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/oncall"
	"github.com/fieldgate/fieldgate/routing"
)

const oncallUsage = `usage:
  fieldgate oncall now   TEAM --rules FILE [--at 2026-11-22T23:10]
  fieldgate oncall show  TEAM --rules FILE [--week] [--from 2026-11-23]
  fieldgate oncall check CALENDAR.ics [--weeks 4] [--from 2026-11-23] [--tz Europe/Berlin]
                         [--category NAME [--property CATEGORIES]]
  fieldgate oncall check TEAM --rules FILE [--weeks 4] [--from 2026-11-23]

TEAM is a team id (its 'oncall' schedule is used) or a schedule name.
Times are in the rules file's time zone (check: --tz) unless given in RFC 3339.
'now' exits 1 when nobody is on call. 'check' lists every shift with its
person, gaps, overlaps and the calendar's warnings (with line numbers); it
exits 1 when the calendar has warnings.
`

// runOncall implements "fieldgate oncall now|show|check": who is on call
// for a team, from the rules file's schedule and the calendar it imports.
func runOncall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "now" && args[0] != "show" && args[0] != "check") {
		fmt.Fprint(stderr, oncallUsage)
		return exitError{2}
	}
	cmd := args[0]
	fs := flag.NewFlagSet("oncall "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, oncallUsage) }
	rulesPath := fs.String("rules", "", "rules file (required for now and show)")
	at := fs.String("at", "", "instant to ask about (now: default the current time)")
	from := fs.String("from", "", "first day of the plan (show, check: default today)")
	fs.Bool("week", true, "show seven days (the default and only span)")
	weeks := fs.Int("weeks", 4, "check: how many weeks to list")
	tz := fs.String("tz", routing.DefaultTimezone, "check CALENDAR: the town's zone, for floating times")
	category := fs.String("category", "", "check CALENDAR: only events with this category")
	property := fs.String("property", "", "check CALENDAR: the property --category is matched against (default CATEGORIES)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return exitError{2}
	}
	if len(pos) != 1 || (*rulesPath == "" && cmd != "check") {
		fmt.Fprint(stderr, oncallUsage)
		return exitError{2}
	}
	if cmd == "now" && *from != "" || cmd != "now" && *at != "" {
		fmt.Fprintf(stderr, "fieldgate oncall %s: --at belongs to 'now', --from to 'show' and 'check'\n", cmd)
		return exitError{2}
	}
	if *weeks < 1 || *weeks > 104 {
		fmt.Fprintf(stderr, "fieldgate oncall %s: --weeks must be 1 to 104\n", cmd)
		return exitError{2}
	}

	var (
		loc   *time.Location
		label string
		sched routing.Schedule
		cal   *oncall.Calendar
		src   string
	)
	if *rulesPath == "" { // check CALENDAR.ics
		if loc, err = time.LoadLocation(*tz); err != nil {
			fmt.Fprintf(stderr, "fieldgate oncall check: --tz: %v\n", err)
			return exitError{2}
		}
		src, label = pos[0], "calendar "+pos[0]
		sched = routing.Schedule{Name: "calendar", ICS: src}
		cal, err = oncall.LoadCalendar(ctx, src, oncall.Options{Location: loc, Select: oncall.Selector{Property: strings.ToUpper(*property), Value: *category}}, nil)
		if err != nil {
			return fmt.Errorf("oncall: %w", err)
		}
	} else {
		rs, err := routing.Load(*rulesPath)
		if err != nil {
			return fmt.Errorf("oncall: %w", err)
		}
		loc = rs.Location()
		if label, sched, err = oncallSchedule(rs, pos[0]); err != nil {
			return err
		}
		if sched.ICS != "" {
			cal, err = oncall.LoadCalendar(ctx, oncall.Source(rs, sched), oncall.OptionsFor(rs, sched), nil)
			if err != nil {
				return fmt.Errorf("oncall: schedule %s: %w", sched.Name, err)
			}
			if cmd != "check" {
				for _, w := range cal.Warnings {
					fmt.Fprintf(stderr, "fieldgate: calendar %s: %s\n", sched.ICS, w)
				}
			}
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
		oc, ok := oncall.At(sched, cal, when)
		if !ok {
			fmt.Fprintf(stdout, "%s: nobody on call at %s\n", label, fmtWhen(when, loc))
			return exitError{1}
		}
		until := "until further notice"
		if !oc.Until.IsZero() {
			until = "until " + fmtWhen(oc.Until, loc)
		}
		fmt.Fprintf(stdout, "%s: %s on call at %s %s (%s)\n", label, oc.Person, fmtWhen(when, loc), until, oc.Source)
		fmt.Fprintf(stdout, "  why: %s\n", oc.Why)
		return nil
	}

	y, m, d := time.Now().In(loc).Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if *from != "" {
		t, err := parseWhen(*from, loc)
		if err != nil {
			fmt.Fprintf(stderr, "fieldgate oncall %s: --from: %v\n", cmd, err)
			return exitError{2}
		}
		start = t
	}
	days := 7
	if cmd == "check" {
		days = 7 * *weeks
	}
	sy, sm, sd := start.In(loc).Date()
	end := time.Date(sy, sm, sd+days, 0, 0, 0, 0, loc)
	if !start.Equal(time.Date(sy, sm, sd, 0, 0, 0, 0, loc)) { // a time of day: exactly that many days on
		end = time.Date(sy, sm, sd+days, start.In(loc).Hour(), start.In(loc).Minute(), 0, 0, loc)
	}
	if cmd == "check" {
		return printCheck(stdout, label, cal, oncall.Check(sched, cal, start, end), loc)
	}
	fmt.Fprintf(stdout, "%s: on call %s – %s (%s)\n", label, fmtWhen(start, loc), fmtWhen(end, loc), loc)
	cur := start
	for _, sh := range oncall.Plan(sched, cal, start, end) {
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

// printCheck prints an oncall.Report; it returns exitError{1} when the
// calendar has warnings.
func printCheck(w io.Writer, label string, cal *oncall.Calendar, r oncall.Report, loc *time.Location) error {
	fmt.Fprintf(w, "%s: %d on-call events; %s – %s (%s)\n", label, cal.Events(), fmtWhen(r.From, loc), fmtWhen(r.To, loc), loc)
	fmt.Fprintln(w, "shifts:")
	for _, sh := range r.Shifts {
		fmt.Fprintf(w, "  %s – %s  %s  (%s)\n", fmtWhen(sh.From, loc), fmtWhen(sh.To, loc), sh.Person, sh.Why)
	}
	if len(r.Shifts) == 0 {
		fmt.Fprintln(w, "  none")
	}
	fmt.Fprintf(w, "warnings: %d\n", len(r.Warnings)+len(r.Gaps)+len(r.Overlaps))
	for _, g := range r.Gaps {
		fmt.Fprintf(w, "  gap: nobody on call %s – %s\n", fmtWhen(g.From, loc), fmtWhen(g.To, loc))
	}
	for _, o := range r.Overlaps {
		fmt.Fprintf(w, "  overlap: %s and %s both on call %s – %s (%s; %s); %s is taken\n", o.A.Person, o.B.Person,
			fmtWhen(o.From, loc), fmtWhen(o.To, loc), o.A.Why, o.B.Why, o.B.Person)
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "  %s\n", x)
	}
	if len(r.Warnings) > 0 {
		return exitError{1}
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
