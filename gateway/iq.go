package gateway

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"
)

// iqResponse is the answer to an IQ the gateway sent: its type ("result"
// or "error"), the error condition, and the items of an affiliation list.
type iqResponse struct {
	Type  string
	Cond  string      // XMPP stanza error condition (RFC 6120 §8.3.3), "" for a result
	Items []adminItem // muc#admin items of a list answer
	Inner []byte      // the raw payload (e.g. pubsub items)
}

// iqStanza is an IQ the gateway sends as a request (RFC 6120 §8.2.3).
type iqStanza struct {
	XMLName xml.Name `xml:"iq"`
	ID      string   `xml:"id,attr"`
	From    string   `xml:"from,attr"`
	To      string   `xml:"to,attr"`
	Type    string   `xml:"type,attr"`
	Payload any
}

// request sends an IQ get or set from the component's domain and waits
// for its result or error. A stanza error is returned as an *iqFailure
// with the condition.
func (g *Gateway) request(ctx context.Context, to, typ string, payload any) (iqResponse, error) {
	return g.requestFrom(ctx, g.cfg.Domain, to, typ, payload)
}

// requestFrom is request from a JID of the component's domain (a
// function address asking a correspondent's PEP service, say).
func (g *Gateway) requestFrom(ctx context.Context, from, to, typ string, payload any) (iqResponse, error) {
	id := "fgq-" + randomID()
	ch := make(chan iqResponse, 1)
	g.mu.Lock()
	g.iqs[id] = ch
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.iqs, id)
		g.mu.Unlock()
	}()
	if err := g.send(ctx, iqStanza{ID: id, From: from, To: to, Type: typ, Payload: payload}); err != nil {
		return iqResponse{}, err
	}
	select {
	case r := <-ch:
		if r.Type == "error" {
			return r, &iqFailure{To: to, Cond: r.Cond}
		}
		return r, nil
	case <-ctx.Done():
		return iqResponse{}, fmt.Errorf("no answer from %s: %w", to, ctx.Err())
	}
}

// iqFailure is an IQ answered with a stanza error.
type iqFailure struct {
	To   string
	Cond string
}

func (e *iqFailure) Error() string { return fmt.Sprintf("%s answered with error %q", e.To, e.Cond) }

// deliverIQResponse hands a result or error to the request waiting for
// it. It reports false for an IQ nobody waits for. Runs in the handler.
func (g *Gateway) deliverIQResponse(iq *inIQ) bool {
	g.mu.Lock()
	ch, ok := g.iqs[iq.ID]
	g.mu.Unlock()
	if !ok {
		return false
	}
	r := iqResponse{Type: iq.Type, Items: iq.AdminItems, Inner: iq.Inner}
	if iq.Type == "error" && iq.Error != nil {
		r.Cond = iq.Error.condition()
	}
	select {
	case ch <- r:
	default:
	}
	return true
}

// condition is the defined condition of a stanza error ("" if none).
func (e *errorElem) condition() string {
	if e == nil {
		return ""
	}
	for _, c := range e.Conds {
		if c.Space == nsStanzas && c.Local != "text" {
			return c.Local
		}
	}
	for _, c := range e.Conds {
		if c.Local != "text" {
			return strings.ToLower(c.Local)
		}
	}
	return ""
}
