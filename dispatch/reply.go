package dispatch

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/jackc/pgx/v5"
)

// DefaultTemplates are the canned replies ("Textbausteine") used when the
// configuration names none: name → language → text (from the message
// catalogue). "{case}" is replaced by the case number.
func DefaultTemplates() map[string]map[string]string {
	texts := map[string]func(msg.Texts) string{
		"erledigt":         msg.Texts.TemplateFixed,
		"unterwegs":        msg.Texts.TemplateOnOurWay,
		"nicht-zustaendig": msg.Texts.TemplateNotResponsible,
		"danke":            msg.Texts.TemplateThanks,
		"standort":         msg.Texts.TemplateLocation,
	}
	out := make(map[string]map[string]string, len(texts))
	for name, text := range texts {
		out[name] = map[string]string{}
		for _, lang := range msg.Languages {
			out[name][lang] = text(msg.For(lang))
		}
	}
	return out
}

func withDefaultTemplates(given map[string]map[string]string) map[string]map[string]string {
	out := DefaultTemplates()
	for name, byLang := range given {
		out[strings.ToLower(name)] = byLang
	}
	return out
}

// ReplyCommand is a team member's answer to the reporters of an incident
// ("antwort 42 Wir sind unterwegs", "antwort 42 /erledigt").
type ReplyCommand struct {
	Ref  string
	Text string // free text, or "/name [more text]" for a canned text
	// Actor is the team member; the reporter sees the team's name, not the JID.
	Actor string
	Via   string // "room", "chat", "api"
	Room  string // where it was written; the team room (or an alerted room) unless Dispatcher
	// Dispatcher may answer on any team's incident.
	Dispatcher bool
	// Claim is the room message the command was written in, claimed in
	// the command's transaction (zero: none; see RoomClaim).
	Claim RoomClaim
}

// Reply sends a message to the incident's XMPP reporters, from the
// function address they wrote to, and records it in the audit trail. API
// reporters cannot be messaged: for them the reply is only recorded as an
// event, which they read with their report (Outcome applied, Reply says so).
// The room is told that the answer went out, without the reporters' JIDs
// unless Config.ShowReporterJID.
func (s *Service) Reply(ctx context.Context, cmd ReplyCommand) (CommandResult, error) {
	var res CommandResult
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		if err := claimInTx(ctx, tx, cmd.Claim); err != nil {
			return err
		}
		inc, err := incidentByRef(ctx, tx, cmd.Ref, true)
		if err != nil {
			return err
		}
		rs := s.rules.Current()
		team, _ := rs.Team(inc.Team)
		lang := cmp.Or(team.Language, "de")
		if err := checkActor(ctx, tx, inc, team, rs, lang, cmd.Via, cmd.Room, cmd.Actor, cmd.Dispatcher); err != nil {
			return err
		}
		text := strings.TrimSpace(cmd.Text)
		template := ""
		if strings.HasPrefix(text, "/") {
			name, rest, _ := strings.Cut(text[1:], " ")
			name = strings.ToLower(name)
			if _, ok := s.cfg.Templates[name]; !ok {
				return newError(ErrNotFound, func(ts msg.Texts) string { return ts.UnknownTemplate(name, s.templateNames()) })
			}
			template, text = name, strings.TrimSpace(rest)
		}
		if text == "" && template == "" {
			return newError(ErrInvalid, func(ts msg.Texts) string { return ts.ReplyEmpty(caseSeq(inc.CaseNumber), s.templateNames()) })
		}
		if n := utf8.RuneCountInString(text); n > MaxTextRunes {
			return newError(ErrInvalid, func(ts msg.Texts) string { return ts.ReplyTooLong(n, MaxTextRunes) })
		}
		render := func(l string) string {
			body := text
			if template != "" {
				t := s.cfg.Templates[template]
				tt := cmp.Or(t[l], t["de"], t["en"])
				body = strings.TrimSpace(tt + "\n" + text)
			}
			return strings.ReplaceAll(body, "{case}", inc.CaseNumber)
		}
		teamName := cmp.Or(team.Name, inc.Team)

		sent, err := s.notifyReporters(ctx, tx, inc.ID, func(l string) string {
			return msg.For(l).ReplyReporter(inc.CaseNumber, teamName, render(l))
		})
		if err != nil {
			return err
		}
		now := s.now()
		if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: "reply", Actor: cmd.Actor, Via: cmd.Via, Detail: map[string]any{
			"text": render(lang), "template": template, "xmpp_recipients": len(sent), "room": cmd.Room,
		}}); err != nil {
			return err
		}
		res = CommandResult{Incident: inc, Outcome: OutcomeApplied}
		if len(sent) == 0 {
			res.Reply = func(t msg.Texts) string { return t.ReplyAPIOnly(inc.CaseNumber) }
			return nil
		}
		note := msg.Text(func(t msg.Texts) string { return t.ReplyRoom(inc.CaseNumber, cmd.Actor) })
		if s.cfg.ShowReporterJID {
			note = func(t msg.Texts) string { return t.ReplyRoomJIDs(inc.CaseNumber, strings.Join(sent, ", "), cmd.Actor) }
		}
		if team.Room != "" && cmd.Via == "room" {
			// The room that has the incident sees that it was answered.
			return s.enqueueRoomPost(ctx, tx, inc.ID, team.Room, note.In(lang))
		}
		res.Reply = note
		return nil
	})
	if err != nil {
		return CommandResult{}, unknownCase(err, cmd.Ref)
	}
	s.log.InfoContext(ctx, "reply", "case", res.Incident.CaseNumber, "via", cmd.Via)
	return res, nil
}

// TemplateNames lists the canned reply names, sorted.
func (s *Service) TemplateNames() []string {
	return slices.Sorted(maps.Keys(s.cfg.Templates))
}

func (s *Service) templateNames() string {
	names := s.TemplateNames()
	for i, n := range names {
		names[i] = "/" + n
	}
	return strings.Join(names, ", ")
}
