package gateway

import (
	"context"
	"errors"
	"strings"

	"mellium.im/xmpp/jid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/msg"
)

// onRoomPrivateMessage handles a private message (XEP-0045 §7.5) that an
// occupant of a team room sent to the gateway's nick, as Conversations,
// Dino and Gajim offer on an occupant's name. A command in it ("ok 42")
// counts as if typed in the room, under the same checks (a member of the
// room's team or a dispatcher, by real JID); any other text is answered
// with what the gateway understands here, never with the list of
// function addresses meant for reporters. Answers go back privately.
func (g *Gateway) onRoomPrivateMessage(ctx context.Context, m *inMessage) {
	j, err := jid.Parse(m.From)
	if err != nil || j.Resourcepart() == "" || m.Type == "error" || m.Type == "headline" {
		return // the room itself (invitations, voice requests) or an error
	}
	roomJID, nick := strings.ToLower(j.Bare().String()), j.Resourcepart()
	rs := g.rules.Current()
	t := msg.For(teamLanguage(rs, roomJID))
	body := strings.TrimSpace(withoutQuote(m.body()))
	if body == "" {
		return // chat states, markers
	}
	cmd, ok := parseRoomCommand(body)
	if !ok {
		g.privateReply(ctx, m.From, t.RoomPrivateHint())
		return
	}
	actor := g.senderJID(m, roomJID, nick)
	switch {
	case actor == "":
		g.privateReply(ctx, m.From, t.RoomAnonymous())
		return
	case !mayAct(rs, roomJID, actor):
		g.log.Warn("private room command from a non-member refused", "room", roomJID)
		g.privateReply(ctx, m.From, t.RoomNotMember())
		return
	}
	cmd.Via = "room"
	res, err := g.runCommand(ctx, cmd, actor, roomJID, dispatch.RoomClaim{})
	var de *dispatch.Error
	switch {
	case errors.As(err, &de):
		g.privateReply(ctx, m.From, de.In(teamLanguage(rs, roomJID)))
	case err != nil:
		g.log.Error("private room command failed", "room", roomJID, "err", err)
		g.privateReply(ctx, m.From, t.InternalError())
	case res.Reply != nil:
		g.privateReply(ctx, m.From, res.Reply.In(teamLanguage(rs, roomJID)))
	default:
		g.privateReply(ctx, m.From, "✅ "+res.Incident.CaseNumber)
	}
}

// privateReply answers an occupant privately through the room.
func (g *Gateway) privateReply(ctx context.Context, occupant, text string) {
	id := "fg-" + randomID()
	if err := g.sendAnswer(ctx, outMessage{From: g.botJID(), To: occupant, ID: id, Type: "chat", Body: text,
		OriginID: &outID{ID: id}}, true, nil); err != nil {
		g.log.Warn("private room reply failed", "err", err)
	}
}
