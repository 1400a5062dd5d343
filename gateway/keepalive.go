package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"time"
)

// A component connection (XEP-0114) that dies without a word (a stateful
// firewall or NAT forgetting it, a paused virtual machine, a cut cable)
// is not noticed by reading: no FIN or RST arrives, and writes land in the
// kernel's send buffer until TCP gives up many minutes later. Meanwhile
// no report reaches fieldgate and its answers go nowhere. So the gateway
// pings (XEP-0199 §4) the XMPP server every Config.PingInterval (pingTarget):
// an answer proves both directions, and that the server has read all
// written before it. Without
// an answer within Config.PingTimeout the session is ended, and the
// gateway reconnects; the answers the server may not have read are
// written again (answers.go). Any answer counts, an error too: the
// server read the stream.
const (
	defaultPingInterval = 10 * time.Second
	defaultPingTimeout  = 15 * time.Second
)

type pingPayload struct {
	XMLName xml.Name `xml:"urn:xmpp:ping ping"`
}

// keepAlive pings until ctx ends (the session's end) and closes conn
// when a ping goes unanswered.
func (g *Gateway) keepAlive(ctx context.Context, conn io.Closer) {
	t := time.NewTicker(g.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sent := time.Now()
		pctx, cancel := context.WithTimeout(ctx, g.cfg.PingTimeout)
		_, err := g.request(pctx, g.pingTarget(), "get", pingPayload{})
		cancel()
		var answered *iqFailure
		if err == nil || errors.As(err, &answered) {
			g.answers.serverRead(sent)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		g.log.Warn("XMPP server did not answer a ping; reconnecting", "timeout", g.cfg.PingTimeout, "err", err)
		conn.Close()
		return
	}
}

// pingTarget is whom keepAlive pings: the room service of the first team
// room in the rules, which the gateway's server serves (it joins the
// rooms there), else the parent of the component's domain (reports.stadt.example
// → stadt.example), the server's own domain in the usual set-up
// (docs/xmpp-server.md). A server that does not serve the target answers
// with an error, which counts as an answer too. A component's stanza to
// its own domain is not routed back to it (Prosody 0.12), so that is no
// target.
func (g *Gateway) pingTarget() string {
	for _, team := range g.rules.Current().Teams() {
		if _, domain, ok := strings.Cut(team.Room, "@"); ok && domain != "" {
			return domain
		}
	}
	if _, parent, ok := strings.Cut(g.cfg.Domain, "."); ok && strings.Contains(parent, ".") {
		return parent
	}
	return g.cfg.Domain
}
