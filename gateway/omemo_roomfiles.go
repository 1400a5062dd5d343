package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/gateway/omemo"
	catalogue "github.com/fieldgate/fieldgate/internal/msg" // msg is the stanza in this file
	"github.com/fieldgate/fieldgate/internal/slots"
)

// TeamCopies opens the privacy-safe team copies of photos by their
// object key (media.Store).
type TeamCopies interface {
	Open(ctx context.Context, key string) (io.ReadCloser, string, error)
}

// OMEMOFiles lets the gateway send team copies into encrypted team rooms
// as encrypted files (XEP-0454) instead of links.
type OMEMOFiles struct {
	// Store reads the team copies. Nil: encrypted rooms get no photos,
	// only a note that the photo is available through the API.
	Store TeamCopies
	// UploadService is the JID of the XMPP server's HTTP upload service
	// (XEP-0363), e.g. upload.stadt.example. Default: found among the
	// disco#items of the component's parent domain.
	UploadService string
}

// Bounds of a team copy sent as an encrypted file. Team copies are
// scaled down (media.TeamCopy), so they are far smaller; AES-GCM seals
// in one piece, so the file is held in memory once.
const (
	maxRoomFileBytes = 16 << 20
	// roomFileSearch is how far back the room's archive is searched for a
	// file sent by an earlier attempt or an earlier version of the post:
	// corrections re-render a case only within its correction window, and
	// a failed post is retried within minutes.
	roomFileSearch = 24 * time.Hour
)

// sealRoomPost prepares a post for a team room. In an encrypted room
// (roomRecipients), each team copy behind p.Links is first sent as its
// own OMEMO message whose body is only an aesgcm:// link to the copy,
// encrypted with a fresh key and uploaded to the XMPP server's upload
// service (XEP-0454; clients show such a message as the image), and the
// post names it in place of the link: no plain https link to a team copy
// reaches an encrypted room. An upload that the server refuses (no
// service, forbidden, too large) leaves a note in the post instead;
// other failures fail the post, which is retried. Plaintext rooms keep
// their links.
func (g *Gateway) sealRoomPost(ctx context.Context, roomJID string, p dispatch.RoomPost, msg *outMessage) error {
	rcpts := g.roomRecipients(ctx, roomJID)
	if len(rcpts) == 0 {
		return nil
	}
	if n := min(len(p.TeamCopies), len(p.Links)); n > 0 {
		lang := teamLanguage(g.rules.Current(), roomJID)
		for i := range n {
			ref := catalogue.For(lang).OMEMORoomFile(i + 1)
			if err := g.sendRoomFile(ctx, roomJID, rcpts, p.TeamCopies[i]); err != nil {
				if !errors.Is(err, errUploadRefused) {
					return fmt.Errorf("encrypted photo for %s: %w", roomJID, err)
				}
				g.log.Error("photo not sent into an encrypted team room; the post names it without a link", "room", roomJID, "err", err)
				ref = catalogue.For(lang).OMEMORoomFileFailed(i + 1)
			}
			msg.Body = strings.ReplaceAll(msg.Body, p.Links[i], ref)
		}
		msg.OOB = msg.OOB[n:] // links without a team copy (none today) stay inside the encrypted text
	}
	g.sealRoomMessage(ctx, roomJID, rcpts, msg)
	return nil
}

// sendRoomFile sends one team copy into an encrypted room, at most once
// per room: its message's origin-id is derived from room and object key,
// so a retried post, or a correction that shows the case again, finds
// it (in memory, else in the room's archive, XEP-0313) and does not send
// it again. The file's key lives only until the message is sent.
func (g *Gateway) sendRoomFile(ctx context.Context, roomJID string, rcpts []omemo.Recipient, key string) error {
	origin := roomFileOriginID(roomJID, key)
	return sendOnce(ctx, g.omemo.sending, &g.roomFiles, origin, func(ctx context.Context) error {
		return g.sendRoomFileMessage(ctx, roomJID, rcpts, key, origin)
	})
}

// sendOnce runs send for origin unless it succeeded before (sent), one
// at a time per origin: a post and a correction of the same case may run
// at once; one sends, the other then finds it sent. A failed send is
// tried again by the next caller.
func sendOnce(ctx context.Context, sending *slots.PerKey, sent *postIDs, origin string, send func(context.Context) error) error {
	release, err := sending.Acquire(ctx, origin)
	if err != nil {
		return fmt.Errorf("wait for the same photo's message: %w", err)
	}
	defer release()
	if sent.has(origin) {
		return nil
	}
	if err := send(ctx); err != nil {
		return err
	}
	sent.add(origin, origin)
	return nil
}

// sendRoomFileMessage sends the message of one team copy (origin, see
// sendRoomFile) unless the room's archive shows an earlier one.
func (g *Gateway) sendRoomFileMessage(ctx context.Context, roomJID string, rcpts []omemo.Recipient, key, origin string) error {
	_, found, err := g.FindRoomPost(ctx, roomJID, origin, time.Now().Add(-roomFileSearch))
	switch {
	case errors.Is(err, dispatch.ErrNoArchive):
		// Cannot tell whether an earlier attempt sent it: send (a repeat
		// carries the same id, which clients drop).
	case err != nil:
		return err
	case found:
		return nil
	}
	files := g.omemo.files
	if files.Store == nil {
		return fmt.Errorf("%w: no store for team copies", errUploadRefused)
	}
	rc, ct, err := files.Store.Open(ctx, key)
	if err != nil {
		return err
	}
	plain, err := io.ReadAll(io.LimitReader(rc, maxRoomFileBytes+1))
	rc.Close()
	if err != nil {
		return fmt.Errorf("read team copy: %w", err)
	}
	if len(plain) > maxRoomFileBytes {
		return fmt.Errorf("%w: team copy larger than %d MiB", errUploadRefused, maxRoomFileBytes>>20)
	}
	sealed, err := omemo.SealFile(rand.Reader, plain)
	if err != nil {
		return err
	}
	service, err := g.uploadService(ctx, g.omemo.finder)
	if err != nil {
		return err
	}
	slot, err := g.requestSlot(ctx, service, randomID()+extensionFor(ct), int64(len(sealed.Ciphertext)), ct)
	if err != nil {
		return err
	}
	if err := g.fetch.put(ctx, slot, ct, sealed.Ciphertext); err != nil {
		return err
	}
	link, err := sealed.Link(slot.GetURL)
	if err != nil {
		return fmt.Errorf("%w: %w", errUploadRefused, err)
	}
	enc, err := g.omemo.m.Encrypt(ctx, roomsDevice, rcpts, []byte(link))
	if err != nil {
		return fmt.Errorf("encrypt file message: %w", err)
	}
	msg := outMessage{From: g.botJID(), To: roomJID, ID: origin, Type: "groupchat", OriginID: &outID{ID: origin}}
	g.sealed(&msg, enc, teamLanguage(g.rules.Current(), roomJID))
	if _, err := g.postAndAwaitEcho(ctx, roomJID, msg); err != nil {
		return err
	}
	return nil
}

// newFileSends serialises the sending of one photo into one room.
func newFileSends() *slots.PerKey { return slots.New(1) }

// roomFileOriginID names the message that carries a team copy into a
// room: the same for every attempt and every version of the post, and
// revealing neither the object key nor the room.
func roomFileOriginID(roomJID, key string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(roomJID) + "\n" + key))
	return "fgf-" + hex.EncodeToString(sum[:16])
}

// has reports whether id was added.
func (p *postIDs) has(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.ids[id]
	return ok
}
