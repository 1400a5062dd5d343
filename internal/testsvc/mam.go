package testsvc

import (
	"context"
	"time"

	"mellium.im/xmpp/history"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// ArchivedMessage is one message of a room's archive (XEP-0313 result).
type ArchivedMessage struct {
	QueryID   string `xml:"queryid,attr"`
	ID        string `xml:"id,attr"` // the room's stanza-id
	Forwarded struct {
		Message ArchivedBody `xml:"message"`
	} `xml:"urn:xmpp:forward:0 forwarded"`
}

// ArchivedBody is the archived message itself.
type ArchivedBody struct {
	From     string   `xml:"from,attr"`
	Body     string   `xml:"body"`
	OOB      []string `xml:"jabber:x:oob x>url"`
	OriginID *struct {
		ID string `xml:"id,attr"`
	} `xml:"urn:xmpp:sid:0 origin-id"`
	Received *struct {
		ID string `xml:"id,attr"`
	} `xml:"urn:xmpp:receipts received"` // a delivery receipt (XEP-0184)
}

// RoomArchive returns every message the room's archive (XEP-0313:
// Prosody's mod_muc_mam, ejabberd's mod_mam) holds since since, oldest first, paging through it. It is how
// a test counts what a room really got, independent of who was joined.
// With the client's own bare JID as room it reads the account's archive,
// as a messenger catching up after being offline does.
func (c *Client) RoomArchive(room string, since time.Time) []ArchivedMessage {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	to, err := jid.Parse(room)
	if err != nil {
		c.t.Fatalf("testsvc: room %q: %v", room, err)
	}
	var out []ArchivedMessage
	page := ""
	for range 1000 {
		q := history.Query{ID: randHex(8), Start: since, Limit: 100, PageID: page}
		res, err := history.FetchIQ(ctx, q, stanza.IQ{To: to}, c.sess)
		if err != nil {
			c.t.Fatalf("testsvc: archive of %s: %v", room, err)
		}
		for _, m := range c.Messages() {
			if m.Archived != nil && m.Archived.QueryID == q.ID {
				out = append(out, *m.Archived)
			}
		}
		if res.Complete || res.Set.Last == "" {
			return out
		}
		page = res.Set.Last
	}
	c.t.Fatalf("testsvc: archive of %s: more than 100000 messages", room)
	return nil
}
