package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/routing"
)

func xmlName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (g *Gateway) onMessage(ctx context.Context, m *inMessage) {
	switch m.Type {
	case "error":
		g.log.Debug("error message received", "from_domain", domainOf(m.From))
	case "groupchat":
		g.onRoomMessage(ctx, m)
	default:
		if g.isRoomJID(m.From) {
			g.onRoomPrivateMessage(ctx, m)
			return
		}
		g.onDelivery(ctx, m)
		g.onDirectMessage(ctx, m)
	}
}

// stoppingMessage is a message that arrived while the gateway drains its
// session for a graceful stop (Gateway.drain).
type stoppingMessage struct{ *inMessage }

// refuseStopping answers a message that arrived while the gateway stops
// (drain) with an error its sender's messenger shows (RFC 6120 §8.3.3.19
// service-unavailable, type wait: send it again shortly), instead of
// taking it in with the stream about to close: the next gateway takes
// it, and a repeat of one already stored is recognised by its id. A
// message without content (chat states, receipts, markers) gets no
// answer; a room's private message is refused like any other.
func (g *Gateway) refuseStopping(ctx context.Context, m *inMessage) {
	if m.body() == "" && len(m.OOB) == 0 && len(m.FileSharing) == 0 && m.Geoloc == nil && m.Encrypted == nil {
		return
	}
	g.log.Info("message refused: the gateway is stopping", "from_domain", domainOf(m.From))
	g.replyError(ctx, m, "wait", "service-unavailable", msg.For(senderLanguage(m.Lang, "de")).TryAgain())
}

// onDelivery records receipts and read markers for our 1:1 alerts, at
// most 20 a minute per sender (burst 10); the domain keeps only those
// from the alerted person, once per message.
func (g *Gateway) onDelivery(ctx context.Context, m *inMessage) {
	from := bare(m.From)
	if (m.Received == nil || m.Received.ID == "") && (m.Displayed == nil || m.Displayed.ID == "") {
		return
	}
	if from == "" || !g.deliveries.allow(from, time.Now()) {
		g.log.Debug("delivery evidence dropped (rate limit)")
		return
	}
	if r := m.Received; r != nil && r.ID != "" {
		if err := g.disp.RecordDelivery(ctx, r.ID, from, dispatch.DeliveryReceived); err != nil {
			g.log.Warn("recording a receipt failed", "err", err)
		}
	}
	if d := m.Displayed; d != nil && d.ID != "" {
		if err := g.disp.RecordDelivery(ctx, d.ID, from, dispatch.DeliveryDisplayed); err != nil {
			g.log.Warn("recording a read marker failed", "err", err)
		}
	}
}

// onRoomMessage handles commands in a team room: typed ("ok 42"), as an
// XEP-0461 reply to an incident post ("ok"), or as an XEP-0444 👍 reaction.
func (g *Gateway) onRoomMessage(ctx context.Context, m *inMessage) {
	if (m.Delay != nil && !m.history) || m.Subject != nil {
		return // history or topic sent to us, not a live command
	}
	j, err := jid.Parse(m.From)
	if err != nil {
		return
	}
	roomJID, nick := strings.ToLower(j.Bare().String()), j.Resourcepart()
	stanzaID := roomStanzaID(m, roomJID)
	if m.history && (stanzaID == "" || m.archivedAt.IsZero() || nick == g.cfg.Nick || m.Encrypted != nil) {
		return // an archived message that cannot be claimed once, our own, or sealed
	}
	if m.Encrypted != nil && !g.openRoomEncrypted(ctx, m, roomJID, nick) {
		return
	}
	if !looksLikeCommand(m) {
		return
	}
	// Who wrote it, by real JID, and may they act here? Checked before any
	// lookup, whatever the server's room configuration lets in. A command
	// from the archive (written while no gateway was in the room) is the
	// author's the archive names, never whoever holds the nick now.
	actor := g.senderJID(m, roomJID, nick)
	if m.history {
		if actor = historySender(m); actor == "" {
			g.log.Warn("room command in the archive without its author's JID ignored", "room", roomJID)
			return
		}
	}
	rs := g.rules.Current()
	claim := dispatch.RoomClaim{Room: roomJID, StanzaID: stanzaID, ArchivedAt: m.archivedAt}
	if actor == "" {
		if g.claimRefused(ctx, claim, nil) {
			g.roomReply(ctx, roomJID, nick+": "+msg.For(teamLanguage(rs, roomJID)).RoomAnonymous())
		}
		return
	}
	if !mayAct(rs, roomJID, actor) {
		if g.claimRefused(ctx, claim, nil) {
			g.log.Warn("room command from a non-member refused", "room", roomJID)
			g.roomReply(ctx, roomJID, nick+": "+msg.For(teamLanguage(rs, roomJID)).RoomNotMember())
		}
		return
	}
	cmd, ok, err := g.roomCommand(ctx, roomJID, m)
	if err == nil && !ok {
		return
	}
	var res dispatch.CommandResult
	if err == nil {
		// Once, whichever gateway sees it first: live, or in the archive
		// when the next one joins (catchUpRoom). The claim commits with
		// the command's effect, so a command whose process dies before
		// the commit is left to the archive's reader.
		if m.history {
			res, err = g.runCommand(ctx, cmd, actor, roomJID, claim)
		} else {
			res, err = g.runRoomCommand(ctx, cmd, actor, roomJID, claim)
		}
		if errors.Is(err, dispatch.ErrClaimed) {
			return // carried out (or refused) before
		}
	}
	var de *dispatch.Error
	if m.history && err != nil && !errors.As(err, &de) {
		// A command read from the archive (written minutes ago, nobody
		// waits for its answer) that failed for the database or a stop
		// stays unclaimed for the next gateway that joins; answering it
		// would fill the room with errors for every command the
		// catch-up reads while the database is away.
		g.log.Warn("room command from the archive failed; left for the next gateway that joins", "room", roomJID, "stanza_id", stanzaID, "err", err)
		return
	}
	if err != nil && !g.claimRefused(ctx, claim, err) {
		return
	}
	if m.history && err == nil {
		g.log.Info("room command from the archive carried out", "room", roomJID, "stanza_id", stanzaID)
	}
	switch {
	case errors.As(err, &de):
		g.roomReply(ctx, roomJID, nick+": "+de.In(teamLanguage(rs, roomJID)))
	case err != nil:
		g.log.Error("room command failed", "room", roomJID, "err", err)
		g.roomReply(ctx, roomJID, nick+": "+msg.For(teamLanguage(rs, roomJID)).InternalError())
	case res.Reply != nil:
		g.roomReply(ctx, roomJID, nick+": "+res.Reply.In(teamLanguage(rs, roomJID)))
	}
}

// roomCommandRetries are the pauses before a room command that failed
// with an internal error (its database session ended, the database
// restarting) is tried again, before its writer is told to try again.
var roomCommandRetries = []time.Duration{200 * time.Millisecond, time.Second, 2 * time.Second}

// runRoomCommand is runCommand for a room message with its claim, tried
// again after an internal error (roomCommandRetries): the claim commits
// with the command's effect, so a try whose commit went through though
// its answer was lost makes the next one answer dispatch.ErrClaimed, and
// nothing is done twice. A message without a stanza-id cannot be claimed
// and is tried once.
func (g *Gateway) runRoomCommand(ctx context.Context, cmd roomCommand, actor, roomJID string, claim dispatch.RoomClaim) (dispatch.CommandResult, error) {
	for i := 0; ; i++ {
		res, err := g.runCommand(ctx, cmd, actor, roomJID, claim)
		var de *dispatch.Error
		if err == nil || errors.As(err, &de) || errors.Is(err, dispatch.ErrClaimed) || claim.StanzaID == "" || i == len(roomCommandRetries) {
			return res, err
		}
		g.log.Warn("room command failed; trying again", "room", roomJID, "in", roomCommandRetries[i], "err", err)
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(roomCommandRetries[i]):
		}
	}
}

// claimRefused claims, on its own, a room command that is refused or
// failed with err (nil: refused before it reached the domain), so that no
// gateway that joins carries it out from the room's archive after all or
// answers it again: the writer is told now (a refusal, or "please try
// again"). A failed command's transaction, and the claim in it, rolled
// back. It reports whether the writer is to be told: not when the message
// was claimed already, by another gateway that carried it out or answered
// it meanwhile, or by this command's own transaction, whose commit went
// through though its answer was lost with the connection. A message
// without a stanza-id (a server that stamps none) is always answered.
func (g *Gateway) claimRefused(ctx context.Context, claim dispatch.RoomClaim, err error) bool {
	if claim.StanzaID == "" {
		return true
	}
	first, cerr := g.disp.ClaimRoomCommand(ctx, claim.Room, claim.StanzaID, claim.ArchivedAt)
	var de *dispatch.Error
	switch {
	case cerr != nil:
		g.log.Warn("claiming a refused room command failed; a gateway joining within the archive window may handle it again", "room", claim.Room, "err", cerr)
	case !first && err != nil && !errors.As(err, &de):
		g.log.Warn("room command failed, but it was carried out: not answered", "room", claim.Room, "stanza_id", claim.StanzaID, "err", err)
		return false
	case !first:
		return false
	}
	return true
}

// runCommand hands a command to the domain. room is where it was written
// ("" for 1:1), claim the room message to claim with its effect (zero:
// none); dispatchers come from the rules file.
func (g *Gateway) runCommand(ctx context.Context, cmd roomCommand, actor, room string, claim dispatch.RoomClaim) (dispatch.CommandResult, error) {
	disp := g.rules.Current().IsDispatcher(actor)
	via := cmd.Via
	switch cmd.Kind {
	case cmdReassign:
		team, reason, _ := strings.Cut(cmd.Arg, " ")
		return g.disp.Reassign(ctx, dispatch.ReassignCommand{Ref: cmd.Ref, Team: team, Reason: strings.TrimSpace(reason),
			Actor: actor, Via: via, Dispatcher: disp, Claim: claim})
	case cmdReply:
		return g.disp.Reply(ctx, dispatch.ReplyCommand{Ref: cmd.Ref, Text: cmd.Arg, Actor: actor, Via: via, Room: room, Dispatcher: disp, Claim: claim})
	case cmdReject:
		return g.disp.Reject(ctx, dispatch.RejectCommand{Ref: cmd.Ref, Reason: cmd.Arg, Actor: actor, Via: via, Room: room, Dispatcher: disp, Claim: claim})
	case cmdUnmerge:
		return g.disp.Unmerge(ctx, dispatch.UnmergeCommand{Ref: cmd.Ref, Actor: actor, Via: via, Dispatcher: disp, Claim: claim})
	}
	return g.disp.Execute(ctx, dispatch.Command{Action: cmd.Action, Ref: cmd.Ref, Actor: actor, Via: via, Room: room, Dispatcher: disp, Claim: claim})
}

// looksLikeCommand is a cheap test, without lookups, whether a room
// message could be a command: typed, a reply, or a reaction.
func looksLikeCommand(m *inMessage) bool {
	if r := m.Reactions; r != nil && r.ID != "" {
		for _, e := range r.Reactions {
			if slices.Contains(thumbsUp, strings.TrimSpace(e)) {
				return true
			}
		}
		return false
	}
	body := withoutQuote(m.body())
	if _, ok := parseRoomCommand(body); ok {
		return true
	}
	if m.Reply != nil && m.Reply.ID != "" {
		_, ok := parseBareCommand(body)
		return ok
	}
	return false
}

// teamLanguage is the language of the first team using a room.
func teamLanguage(rs *routing.RuleSet, roomJID string) string {
	for _, t := range rs.Teams() {
		if strings.EqualFold(t.Room, roomJID) {
			return t.Language
		}
	}
	return "de"
}

// thumbsUp are the reactions that take an incident.
var thumbsUp = []string{"👍", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿", "+1", "✅"}

// roomCommand recognises a command in a room message. A reaction or a
// reply to a message that is no incident post is none; an error is one
// the referenced post could not be looked up for (the database).
func (g *Gateway) roomCommand(ctx context.Context, roomJID string, m *inMessage) (roomCommand, bool, error) {
	if r := m.Reactions; r != nil && r.ID != "" {
		for _, e := range r.Reactions {
			if slices.Contains(thumbsUp, strings.TrimSpace(e)) {
				ref, ok, err := g.caseByPost(ctx, roomJID, r.ID)
				return roomCommand{Kind: cmdTake, Action: dispatch.ActionTake, Ref: ref, Via: "reaction"}, ok, err
			}
		}
		return roomCommand{}, false, nil
	}
	body := withoutQuote(m.body())
	if cmd, ok := parseRoomCommand(body); ok {
		cmd.Via = "room"
		return cmd, true, nil
	}
	if r := m.Reply; r != nil && r.ID != "" {
		if action, ok := parseBareCommand(body); ok {
			kind := cmdTake
			if action == dispatch.ActionResolve {
				kind = cmdResolve
			}
			ref, ok, err := g.caseByPost(ctx, roomJID, r.ID)
			return roomCommand{Kind: kind, Action: action, Ref: ref, Via: "reply"}, ok, err
		}
	}
	return roomCommand{}, false, nil
}

// caseByPost is the case number of the incident post id (the room's
// stanza-id or our origin-id) in roomJID: false for a message that is no
// incident post, an error when it could not be looked up.
func (g *Gateway) caseByPost(ctx context.Context, roomJID, id string) (string, bool, error) {
	ref, err := g.disp.CaseByPost(ctx, roomJID, g.posts.origin(id))
	switch {
	case errors.Is(err, dispatch.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return ref, true, nil
}

// withoutQuote drops the "> quoted" fallback lines clients put in replies.
func withoutQuote(body string) string {
	var keep []string
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), ">") {
			keep = append(keep, l)
		}
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}

func (g *Gateway) roomReply(ctx context.Context, roomJID, text string) {
	id := "fg-" + randomID()
	msg := outMessage{From: g.botJID(), To: roomJID, ID: id, Type: "groupchat", Body: text, OriginID: &outID{ID: id}}
	g.sealRoomMessage(ctx, roomJID, g.roomRecipients(ctx, roomJID), &msg)
	if err := g.send(ctx, msg); err != nil {
		g.log.Warn("room reply failed", "room", roomJID, "err", err)
	}
}

// onDirectMessage turns a message to a function address into a report.
func (g *Gateway) onDirectMessage(ctx context.Context, m *inMessage) {
	to, err := jid.Parse(m.To)
	if err != nil {
		return
	}
	sender := bare(m.From)
	if m.Reactions != nil || m.Type == "headline" {
		// An XEP-0444 reaction to one of our messages (some clients add
		// the emoji as a fallback body) is no report; a headline is an
		// automatic notice that is not to be answered (RFC 6121 §5.2.2).
		return
	}
	if !g.encryptionPolicy(ctx, m, to, sender) {
		return
	}
	body := strings.TrimSpace(reportText(m))
	retract := m.retracts()
	oob := make([]string, 0, len(m.OOB))
	for _, o := range m.OOB {
		oob = append(oob, strings.TrimSpace(o.URL))
	}
	for _, f := range m.FileSharing {
		for _, u := range f.URLs {
			oob = append(oob, strings.TrimSpace(u.Target))
		}
	}
	if sender == "" || (!retract && body == "" && len(oob) == 0 && m.Geoloc == nil && len(m.decrypted) == 0) {
		return // chat states, receipts, markers
	}
	local := strings.ToLower(to.Localpart())
	rs := g.rules.Current()
	addr, ok := rs.Address(local)
	if !ok {
		names := make([]string, 0, 8)
		for _, a := range rs.Addresses() {
			names = append(names, g.addressJID(a.Name))
		}
		g.replyError(ctx, m, "cancel", "item-not-found",
			msg.For(senderLanguage(m.Lang, "")).UnknownAddressXMPP(strings.Join(names, ", ")))
		return
	}
	lang := g.langs.forSender(ctx, sender, senderLanguage(m.Lang, addr.Language), time.Now())
	if !addr.Allows(sender) {
		g.reply(ctx, m, local, msg.For(lang).NotAllowed(addr.DisplayName))
		return
	}
	if !g.limitSender(ctx, m, local, sender, lang, rs, time.Now()) {
		return
	}
	if retract {
		// XEP-0424: what was reported stays (a dispatcher may already act
		// on it); the sender is told so instead of their client's
		// fallback sentence becoming a report.
		g.reply(ctx, m, local, msg.For(lang).RetractNotSupported())
		g.sendReceipt(ctx, m, local)
		return
	}
	if choice, ok := parseLanguageChoice(body); ok && g.langs != nil && len(oob) == 0 && m.Geoloc == nil {
		g.chooseLanguage(ctx, m, local, sender, choice, lang)
		return
	}
	if cmd, ok := parseRoomCommand(body); ok && g.directCommand(ctx, m, local, sender, lang, cmd) {
		// An alerted person answering a 1:1 alert ("ok 42"): a take, not a report.
		return
	}
	if cmd, ok := alertReplyCommand(m, body); ok && g.directCommand(ctx, m, local, sender, lang, cmd) {
		// "ok" as an XEP-0461 reply to a 1:1 alert, as in a team room.
		return
	}
	in := dispatch.NewReport{
		Channel: dispatch.ChannelXMPP, Address: local, Sender: sender, Language: lang, Text: body,
		IdempotencyKey: idempotencyKey(m),
	}
	geo := findGeo(body)
	if !geo.OK {
		// A map app's share link (OpenStreetMap, Google, Apple, OsmAnd).
		if ml := findMapLink(body); ml.OK || (geo.Problem == geoOK && ml.Problem != geoOK) {
			geo = ml
		}
	}
	if !geo.OK {
		// Coordinates pasted from a map app ("51.0251, 7.5919", DMS).
		if c := findCoordinates(body); c.OK {
			geo = c
		}
	}
	if geo.OK {
		p := geo.Point
		in.Position = &dispatch.Position{Lat: p.Lat, Lon: p.Lon, Alt: p.Alt}
		in.PositionSource = dispatch.SourceGeoURI
	} else if p, ok, bad := m.Geoloc.position(); ok {
		in.Position = &dispatch.Position{Lat: p.Lat, Lon: p.Lon}
		in.PositionSource = dispatch.SourceXEP0080
	} else if geo.Problem == geoOK && bad.Problem != geoOK {
		geo = bad
	}
	if geo.Problem != geoOK && in.Position == nil && len(oob) == 0 && strings.TrimSpace(withoutGeoURI(body, geo.Bad)) == "" {
		// Only a geo URI that gives no position: never a place read wrongly,
		// nothing stored; the sender gets the right form.
		g.reply(ctx, m, local, geoHint(lang, geo)+" "+msg.For(lang).GeoOnlyHint())
		g.sendReceipt(ctx, m, local)
		return
	}
	if in.IdempotencyKey != "" && !m.opened && hasDownloads(in.Text, oob) {
		// A resent message must not download its attachments again (an
		// OMEMO message was asked before its decryption, openEncrypted).
		// One without attachments is answered by the intake, which
		// looks its key up itself (Replayed).
		if rec, err := g.disp.Replay(ctx, in.Channel, in.Sender, in.IdempotencyKey); err == nil {
			g.sendReceipt(ctx, m, local)
			g.log.Info("xmpp message replayed", "case", rec.CaseNumber)
			return
		}
	}
	if in.Text, ok = g.takePlainFileLinks(ctx, m, local, lang, in.Text); !ok {
		return
	}
	var failed []error
	var refused []string
	in.Media, in.Text, failed, refused = g.fetchAttachments(ctx, &in, sender, in.Text, oob)
	if geo.OK {
		// The position is shown once, on the post's 📍 line.
		if in.Text = withoutGeoURI(in.Text, geo.URI); in.Text == "" {
			in.Text = geo.Label
		}
	}
	if m.Replace != nil && m.Replace.ID != "" && in.Text != "" {
		// An XEP-0308 correction of an earlier message: its text is added
		// to the report marked as a correction, never as a second,
		// unmarked fact beside the one it corrects.
		in.Text = msg.For(addr.Language).CorrectionPrefix() + " " + in.Text
		in.Attributes = map[string]string{dispatch.AttrCorrects: clip(m.Replace.ID, 128)}
	}
	in.Media = append(in.Media, m.decrypted...) // XEP-0454 files of an OMEMO message
	for _, err := range failed {
		t := msg.For(lang)
		if attachmentRetryable(err) {
			g.reply(ctx, m, local, t.AttachmentFailed(attachmentReason(t, err)))
		} else {
			g.reply(ctx, m, local, t.AttachmentNotTaken(attachmentReason(t, err)))
		}
	}
	for _, host := range refused {
		g.reply(ctx, m, local, msg.For(lang).AttachmentHostNotAllowed(host))
	}
	rec, err := g.disp.Intake(ctx, in)
	var de *dispatch.Error
	if err != nil && !errors.As(err, &de) && in.IdempotencyKey != "" {
		// The database may have committed the report and its answer been
		// lost with the connection: then the report is stored and its
		// acceptance reply queued, and "please send again" would have the
		// worker file it twice. Asked under the message's idempotency key,
		// the store says which.
		if stored, rerr := g.disp.Replay(ctx, in.Channel, in.Sender, in.IdempotencyKey); rerr == nil {
			g.log.Warn("intake answered with an error, but the report is stored", "address", local, "case", stored.CaseNumber, "err", err)
			rec, err = stored, nil
		}
	}
	if err != nil {
		g.dropMedia(&in)
	}
	switch {
	case errors.As(err, &de):
		g.reply(ctx, m, local, msg.For(lang).ReportRejected(de.In(lang)))
		return
	case err != nil:
		g.log.Error("intake failed", "address", local, "err", err)
		g.replyError(ctx, m, "wait", "internal-server-error", msg.For(lang).TryAgain())
		return
	}
	if rec.Replayed {
		// A resend: its receipt again, nothing else said twice.
		g.dropMedia(&in)
		g.sendReceipt(ctx, m, local)
		g.log.Info("xmpp message replayed", "case", rec.CaseNumber)
		return
	}
	g.sendReceipt(ctx, m, local)
	if geo.Problem != geoOK && in.Position == nil {
		g.reply(ctx, m, local, geoHint(lang, geo))
	}
	g.log.Info("xmpp report accepted", "case", rec.CaseNumber, "address", local, "mode", rec.Mode,
		"replayed", rec.Replayed, "media", len(in.Media))
}

// reportText is what a 1:1 message says: its body (stanza.go body)
// without the parts that are only a fallback for clients lacking a
// feature (XEP-0428): the quote of an XEP-0461 reply, so that the quoted
// text does not become report text twice. A reply without fallback
// markup loses its leading "> " quote lines instead. A subject
// (RFC 6121 §5.2.4; Gajim's single messages) goes before the body.
func reportText(m *inMessage) string {
	body := m.body()
	if len(m.Fallbacks) > 0 {
		body = withoutFallbacks(body, m.Fallbacks)
	} else if m.Reply != nil {
		body = withoutLeadingQuote(body)
	}
	if m.Subject != nil {
		if subj := strings.TrimSpace(*m.Subject); subj != "" && subj != strings.TrimSpace(body) {
			body = subj + "\n" + body
		}
	}
	return body
}

// withoutFallbacks removes from body what XEP-0428 fallbacks mark as
// there only for clients lacking a feature, whatever the feature: the
// quote of an XEP-0461 reply, the "attempted to retract" sentence of an
// XEP-0424 retraction, the URL of an XEP-0447 file share. Ranges count
// Unicode code points from the start of the body (start inclusive, end
// exclusive) and all refer to the body as sent; a fallback without a
// range is the whole body; ranges outside the body are ignored.
func withoutFallbacks(body string, fbs []fallbackElem) string {
	r := []rune(body)
	drop := make([]bool, len(r))
	for _, f := range fbs {
		if len(f.Bodies) == 0 {
			return ""
		}
		for _, b := range f.Bodies {
			if b.Start == nil && b.End == nil {
				return ""
			}
			if b.Start == nil || b.End == nil || *b.Start < 0 || *b.End > len(r) || *b.Start >= *b.End {
				continue
			}
			for i := *b.Start; i < *b.End; i++ {
				drop[i] = true
			}
		}
	}
	keep := make([]rune, 0, len(r))
	for i, c := range r {
		if !drop[i] {
			keep = append(keep, c)
		}
	}
	return string(keep)
}

// withoutLeadingQuote drops the "> quoted" lines at the start of a reply.
func withoutLeadingQuote(body string) string {
	lines := strings.Split(body, "\n")
	i := 0
	for i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), ">") {
		i++
	}
	return strings.Join(lines[i:], "\n")
}

// senderLanguage is the language replies to a sender are written in:
// the function address's language, unless the stanza's xml:lang names
// another language of the catalogue other than English. "en" says
// nothing about the sender: Prosody stamps every stanza of a client that
// declared no stream language with "en" (util/xmppstream.lua), and
// Conversations declares "en" whatever the phone's language
// (LocalizedContent.STREAM_LANGUAGE), so it is the tag of most German
// field workers too. A "de" is only there when the client chose it.
func senderLanguage(xmlLang, addrLang string) string {
	primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(xmlLang)), "-")
	primary, _, _ = strings.Cut(primary, "_")
	if primary != "en" && slices.Contains(msg.Languages, primary) {
		return primary
	}
	return addrLang
}

// alertReplyCommand recognises a bare take or resolve ("ok",
// "erledigt") sent as an XEP-0461 reply to a 1:1 alert, whose message id
// ("fgi-" + incident id + "-" + job) names the incident.
func alertReplyCommand(m *inMessage, body string) (roomCommand, bool) {
	if m.Reply == nil {
		return roomCommand{}, false
	}
	rest, ok := strings.CutPrefix(m.Reply.ID, "fgi-")
	if !ok || len(rest) < 36 {
		return roomCommand{}, false
	}
	action, ok := parseBareCommand(body)
	if !ok {
		return roomCommand{}, false
	}
	kind := cmdTake
	if action == dispatch.ActionResolve {
		kind = cmdResolve
	}
	return roomCommand{Kind: kind, Action: action, Ref: rest[:36]}, true
}

// directCommand runs a command sent 1:1 to a function address. It reports
// false, and does nothing, when the sender may not act on that case or the
// case does not exist: then the text was a report that merely starts like
// a command ("OK 3 Schlaglöcher …") and is taken as one.
func (g *Gateway) directCommand(ctx context.Context, m *inMessage, local, sender, lang string, cmd roomCommand) bool {
	cmd.Via = "chat"
	res, err := g.runCommand(ctx, cmd, sender, "", dispatch.RoomClaim{})
	var de *dispatch.Error
	switch {
	case errors.As(err, &de) && (errors.Is(err, dispatch.ErrForbidden) || errors.Is(err, dispatch.ErrNotFound)):
		return false
	case errors.As(err, &de):
		g.reply(ctx, m, local, de.In(lang))
	case err != nil:
		g.log.Error("chat command failed", "err", err)
		g.reply(ctx, m, local, msg.For(lang).InternalError())
	case res.Reply != nil:
		g.reply(ctx, m, local, res.Reply.In(lang))
	default:
		g.reply(ctx, m, local, "✅ "+res.Incident.CaseNumber)
	}
	g.sendReceipt(ctx, m, local)
	return true
}

// sendReceipt answers an XEP-0184 request once the message is committed.
func (g *Gateway) sendReceipt(ctx context.Context, m *inMessage, local string) {
	if m.Request == nil || m.ID == "" {
		return
	}
	_ = g.sendAnswer(ctx, outMessage{From: g.addressJID(local), To: m.From, ID: "fg-" + randomID(), Type: m.Type,
		Received: &outRcpt{ID: m.ID}}, true, m.arrivedOn)
}

// idempotencyKey prefers the sender-chosen XEP-0359 origin-id, then the
// message id; a resent message carries the same one.
func idempotencyKey(m *inMessage) string {
	if m.OriginID != nil && m.OriginID.ID != "" {
		return "origin:" + m.OriginID.ID
	}
	if m.ID != "" {
		return "id:" + m.ID
	}
	return ""
}

func (g *Gateway) reply(ctx context.Context, m *inMessage, local, text string) {
	id := "fg-" + randomID()
	typ := m.Type
	if typ != "chat" && typ != "normal" {
		typ = "chat"
	}
	out := outMessage{From: g.addressJID(local), To: m.From, ID: id, Type: typ, Body: text, OriginID: &outID{ID: id}}
	if m.opened && !g.sealAnswer(ctx, local, &out) {
		return // never in the clear to someone who wrote encrypted
	}
	if err := g.sendAnswer(ctx, out, true, m.arrivedOn); err != nil {
		g.log.Warn("reply failed", "err", err)
	}
}

// limitSender applies the per-sender rate limit (Config.RatePerMinute,
// Config.Burst). A refused message gets an error stanza (RFC 6120 §8.3.3.18
// resource-constraint, type wait; clients mark it as not delivered), and
// the first refusal of a hold also one chat reply in the sender's language
// naming the span of time whose messages were not taken and when to resend
// them; the rest of the hold is refused silently.
func (g *Gateway) limitSender(ctx context.Context, m *inMessage, local, sender, lang string, rs *routing.RuleSet, now time.Time) bool {
	ok, notify, until := g.limiter.take(sender, now)
	if ok {
		return true
	}
	t := msg.For(lang)
	g.replyError(ctx, m, "wait", "resource-constraint", t.RateLimited())
	if notify {
		g.log.Warn("sender rate-limited", "address", local, "until", until)
		loc := rs.Location()
		if loc == nil {
			loc = time.Local
		}
		g.reply(ctx, m, local, t.RateLimitedSpan(now.In(loc).Format("15:04:05"), until.In(loc).Format("15:04:05")))
	}
	return false
}

// limitPresence applies the per-sender limits of messages
// (Config.RatePerMinute, Config.Burst) to presence that costs work (an
// answer, a database row, a disco#info query), in buckets of their own
// so that a client's presence at login does not use up its reports. A
// refused presence is dropped without an answer (an answer would double
// the flood); the first refusal of a hold is logged.
func (g *Gateway) limitPresence(sender string, now time.Time) bool {
	ok, notify, until := g.presences.take(sender, now)
	if !ok && notify {
		g.log.Warn("sender's presence rate-limited", "sender_domain", domainOf(sender), "until", until)
	}
	return ok
}

func (g *Gateway) replyError(ctx context.Context, m *inMessage, typ, cond, text string) {
	if err := g.sendAnswer(ctx, outMessage{From: m.To, To: m.From, ID: m.ID, Type: "error",
		Error: stanzaErr(typ, cond, text)}, true, m.arrivedOn); err != nil {
		g.log.Warn("error reply failed", "err", err)
	}
}

// onPresence answers subscriptions and probes for function addresses,
// under the per-sender limits of messages (limitPresence).
func (g *Gateway) onPresence(ctx context.Context, p *inPresence) {
	switch p.Type {
	case "subscribe", "probe", "", "unsubscribe", "unsubscribed":
	default:
		return // unavailable, subscribed, error: nothing to answer or record
	}
	to, err := jid.Parse(p.To)
	if err != nil || !g.limitPresence(bare(p.From), time.Now()) {
		return
	}
	addr, ok := g.rules.Current().Address(strings.ToLower(to.Localpart()))
	if !ok {
		if p.Type == "subscribe" {
			_ = g.send(ctx, outPresence{From: p.To, To: p.From, Type: "unsubscribed"})
		}
		return
	}
	from := g.addressJID(addr.Name)
	sender := bare(p.From)
	switch p.Type {
	case "subscribe":
		if !addr.Allows(sender) {
			_ = g.send(ctx, outPresence{From: from, To: sender, Type: "unsubscribed"})
			return
		}
		_ = g.send(ctx, outPresence{From: from, To: sender, Type: "subscribed", Nick: nickOf(addr.DisplayName)})
		_ = g.send(ctx, outPresence{From: from, To: sender, Status: addr.Description, Nick: nickOf(addr.DisplayName)})
	case "probe", "":
		if addr.Allows(sender) {
			_ = g.send(ctx, outPresence{From: from, To: p.From, Status: addr.Description, Nick: nickOf(addr.DisplayName)})
		}
	}
	g.omemoPresence(ctx, p, addr, sender)
}

// answerIQ answers every IQ request (RFC 6120 §8.2.3: a get or set must
// get a result or an error): disco#info, disco#items, vCard and ping get
// results; an unknown address item-not-found; any other request
// service-unavailable (RFC 6120 §8.4). Results and errors of our own
// requests go to the caller waiting for them. Runs in the handler,
// writing on t.
func (g *Gateway) answerIQ(t xmlstream.TokenReadEncoder, iq *inIQ) {
	switch iq.Type {
	case "result", "error":
		g.deliverIQResponse(iq)
		return
	case "get", "set":
	default:
		g.iqFail(t, iq, "modify", "bad-request")
		return
	}
	to, err := jid.Parse(iq.To)
	if err != nil {
		g.iqFail(t, iq, "modify", "jid-malformed")
		return
	}
	local := strings.ToLower(to.Localpart())
	rs := g.rules.Current()
	addr, isAddr := rs.Address(local)
	if local != "" && !isAddr {
		g.iqFail(t, iq, "cancel", "item-not-found")
		return
	}
	if iq.Type == "set" {
		g.iqFail(t, iq, "cancel", "service-unavailable")
		return
	}
	res := iqResult{ID: iq.ID, From: iq.To, To: iq.From, Type: "result"}
	if isDisco := iq.Payload.XMLName.Space == nsDiscoInfo || iq.Payload.XMLName.Space == nsDiscoItem; isDisco && iq.Payload.Node != "" {
		// The gateway has no disco nodes (it sends no XEP-0115 caps): a
		// node that does not exist is item-not-found (XEP-0030 §3.2, §4.2).
		g.iqFail(t, iq, "cancel", "item-not-found")
		return
	}
	switch iq.Payload.XMLName {
	case xmlName(nsDiscoInfo, "query"):
		q := &discoInfo{Node: iq.Payload.Node}
		if isAddr {
			q.Identities = []discoIdentity{{Category: "client", Type: "bot", Name: addr.DisplayName}}
		} else {
			// A registered category and type (XEP-0030 registry):
			// "gateway/fieldgate" was neither.
			q.Identities = []discoIdentity{{Category: "component", Type: "generic", Name: "fieldgate"}}
		}
		for _, f := range []string{nsDiscoInfo, nsDiscoItem, nsReceipts, nsOOB, nsSID, nsGeoloc, nsVCard, "urn:xmpp:ping", nsChatState, nsCorrect} {
			q.Features = append(q.Features, discoFeature{Var: f})
		}
		if isAddr {
			q.Form = g.omemoDiscoForm(local, addr)
		}
		res.Payload = q
	case xmlName(nsDiscoItem, "query"):
		q := &discoItems{Node: iq.Payload.Node}
		if !isAddr {
			for _, a := range rs.Addresses() {
				q.Items = append(q.Items, discoItem{JID: g.addressJID(a.Name), Name: a.DisplayName})
			}
		}
		res.Payload = q
	case xmlName(nsVCard, "vCard"):
		name := "fieldgate"
		desc := ""
		if isAddr {
			name, desc = addr.DisplayName, addr.Description
		}
		res.Payload = &vcard{FN: name, Desc: desc}
	case xmlName("urn:xmpp:ping", "ping"):
	default:
		g.iqFail(t, iq, "cancel", "service-unavailable")
		return
	}
	_ = t.Encode(res)
}

// iqFail answers an IQ request with a stanza error.
func (g *Gateway) iqFail(t xmlstream.TokenReadEncoder, iq *inIQ, typ, cond string) {
	if iq.ID == "" || iq.From == "" {
		return
	}
	_ = t.Encode(iqError{ID: iq.ID, From: iq.To, To: iq.From, Type: "error", Error: stanzaErr(typ, cond, "")})
}

type iqResult struct {
	XMLName xml.Name `xml:"iq"`
	ID      string   `xml:"id,attr"`
	From    string   `xml:"from,attr"`
	To      string   `xml:"to,attr"`
	Type    string   `xml:"type,attr"`
	Payload any
}

type iqError struct {
	XMLName xml.Name  `xml:"iq"`
	ID      string    `xml:"id,attr"`
	From    string    `xml:"from,attr"`
	To      string    `xml:"to,attr"`
	Type    string    `xml:"type,attr"`
	Error   *outError `xml:"error"`
}

type discoInfo struct {
	XMLName    xml.Name        `xml:"http://jabber.org/protocol/disco#info query"`
	Node       string          `xml:"node,attr,omitempty"`
	Identities []discoIdentity `xml:"identity"`
	Features   []discoFeature  `xml:"feature"`
	Form       *dataForm       `xml:"jabber:x:data x,omitempty"` // XEP-0128 extended information
}

type discoIdentity struct {
	Category string `xml:"category,attr"`
	Type     string `xml:"type,attr"`
	Name     string `xml:"name,attr,omitempty"`
}

type discoFeature struct {
	Var string `xml:"var,attr"`
}

type discoItems struct {
	XMLName xml.Name    `xml:"http://jabber.org/protocol/disco#items query"`
	Node    string      `xml:"node,attr,omitempty"`
	Items   []discoItem `xml:"item"`
}

type discoItem struct {
	JID  string `xml:"jid,attr"`
	Name string `xml:"name,attr,omitempty"`
}

type vcard struct {
	XMLName xml.Name `xml:"vcard-temp vCard"`
	FN      string   `xml:"FN"`
	Desc    string   `xml:"DESC,omitempty"`
}

func domainOf(s string) string {
	j, err := jid.Parse(s)
	if err != nil {
		return ""
	}
	return j.Domainpart()
}
