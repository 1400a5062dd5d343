package testsvc

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mellium.im/xmlstream"
)

// nsSM is XEP-0198 Stream Management, version 3.
const nsSM = "urn:xmpp:sm:3"

// streamMgmt is a client's XEP-0198 state: stanzas handled in each
// direction since it was enabled, as the messengers field workers use
// (Conversations, Monal, Siskin) keep it. The server's count of the
// client's stanzas (its <a h=…/>) says which of them it has taken
// responsibility for (XEP-0198 §4): a messenger shows those as sent and
// never sends them again.
type streamMgmt struct {
	enabled bool
	in      uint32 // stanzas received since enabling (answered in <a/>)
	acked   uint32 // the server's last h: our stanzas it has handled
	sent    uint32 // stanzas sent since enabling
	wake    chan struct{}
}

// smElement handles a top-level element of the XEP-0198 namespace (called
// by the reader with c.mu held); it reports whether start was one.
func (c *Client) smElement(t xmlstream.TokenReadEncoder, start *xml.StartElement) bool {
	if start.Name.Space != nsSM {
		if c.sm.enabled && (start.Name.Local == "message" || start.Name.Local == "presence" || start.Name.Local == "iq") {
			c.sm.in++
		}
		if c.sm.enabled && start.Name.Local == "iq" {
			for _, a := range start.Attr {
				if a.Name.Local == "type" && (a.Value == "get" || a.Value == "set") {
					c.sm.sent++ // answered by handle or by the session's default error: one stanza of ours
				}
			}
		}
		return false
	}
	switch start.Name.Local {
	case "enabled":
		c.sm.enabled = true
	case "r":
		_ = t.Encode(struct {
			XMLName xml.Name `xml:"urn:xmpp:sm:3 a"`
			H       uint32   `xml:"h,attr"`
		}{H: c.sm.in})
	case "a":
		for _, a := range start.Attr {
			if a.Name.Local == "h" {
				if h, err := strconv.ParseUint(a.Value, 10, 32); err == nil {
					c.sm.acked = uint32(h)
				}
			}
		}
	}
	if c.sm.wake != nil {
		close(c.sm.wake)
		c.sm.wake = make(chan struct{})
	}
	return true
}

// EnableStreamManagement enables XEP-0198 on the session (§3), as a
// messenger does right after binding, and waits for the server's
// <enabled/>; it fails the test if the server refuses or does not answer
// within 10 s. Every stanza sent afterwards must go through SendCounted
// (answers to IQ requests are counted by the reader).
func (c *Client) EnableStreamManagement() {
	c.t.Helper()
	c.mu.Lock()
	if c.sm.wake == nil {
		c.sm.wake = make(chan struct{})
	}
	c.mu.Unlock()
	if err := c.sess.Send(noWriteDeadline, xml.NewDecoder(strings.NewReader(`<enable xmlns="urn:xmpp:sm:3"/>`))); err != nil {
		c.t.Fatalf("testsvc: enable stream management: %v", err)
	}
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		ok, wake := c.sm.enabled, c.sm.wake
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-wake:
		case <-c.closed:
			c.t.Fatalf("testsvc: the server closed the stream instead of enabling stream management")
		case <-deadline:
			c.t.Fatalf("testsvc: the server did not enable stream management within 10 s")
		}
	}
}

// SendCounted sends one stanza (literal XML) under stream management and
// asks the server for its count (<r/>). It returns the stanza's number
// (1 for the first after enabling): the server has taken responsibility
// for it once Acked reaches that number.
func (c *Client) SendCounted(raw string) (uint32, error) {
	c.mu.Lock()
	c.sm.sent++
	n := c.sm.sent
	c.mu.Unlock()
	for _, x := range []string{raw, `<r xmlns="urn:xmpp:sm:3"/>`} {
		if err := c.sess.Send(noWriteDeadline, xml.NewDecoder(strings.NewReader(x))); err != nil {
			return n, fmt.Errorf("testsvc: send: %w", err)
		}
	}
	return n, nil
}

// Acked is the server's last count of our stanzas (XEP-0198 h).
func (c *Client) Acked() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sm.acked
}

// WaitAcked waits until the server has acknowledged our stanza number n
// (XEP-0198), at most timeout; it reports whether it has.
func (c *Client) WaitAcked(n uint32, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		acked, wake := c.sm.acked, c.sm.wake
		c.mu.Unlock()
		if acked >= n {
			return true
		}
		select {
		case <-wake:
		case <-c.closed:
			return false
		case <-deadline:
			return false
		}
	}
}
