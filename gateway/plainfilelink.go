package gateway

import (
	"context"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/gateway/omemo"
	"github.com/fieldgate/fieldgate/internal/msg"
)

// takePlainFileLinks handles XEP-0454 aesgcm:// links in a message's
// text: of an OMEMO message after decryption (openEncrypted leaves them
// in the body so that they are downloaded only here, after the rate limit
// and the idempotency check), or of one that was not encrypted (a
// forwarded OMEMO file, a client that fell back to plaintext). The fragment of such a link is the file's key, a
// secret that must never become report text or a room post; so each file
// is fetched (allowed upload hosts only, like every attachment) and
// opened as in an OMEMO message, and the links are taken out of the
// text. If one cannot be taken, nothing of the message is stored and the
// sender is asked to send it again, as for an OMEMO message
// (openEncrypted). It returns the text without the links and false when
// the message is not to be stored.
func (g *Gateway) takePlainFileLinks(ctx context.Context, m *inMessage, local, lang, text string) (string, bool) {
	links := omemo.FindFileLinks(text)
	if len(links) == 0 {
		return text, true
	}
	if len(links) > dispatch.MaxMedia {
		t := msg.For(lang) // refused before any download, not after them all
		g.reply(ctx, m, local, t.ReportRejected(t.TooManyAttachments(len(links), dispatch.MaxMedia)))
		return "", false
	}
	for _, l := range links {
		obj, err := g.fetchEncrypted(ctx, l)
		if err != nil {
			g.log.Warn("aesgcm file not taken", "address", local, "encrypted", m.opened, "url", safeURL(l.HTTPS), "err", err)
			g.dropMedia(&dispatch.NewReport{Media: m.decrypted})
			m.decrypted = nil
			g.reply(ctx, m, local, msg.For(lang).OMEMOFileFailed())
			return "", false
		}
		m.decrypted = append(m.decrypted, obj)
	}
	return omemo.StripFileLinks(text, links), true
}

// hasDownloads reports whether a message's text or OOB/XEP-0447 URLs name
// anything that would be downloaded: an http(s) URL (fetchAttachments)
// or an XEP-0454 aesgcm:// link (takePlainFileLinks).
func hasDownloads(text string, oob []string) bool {
	return len(ExtractURLs(text, oob)) > 0 || len(omemo.FindFileLinks(text)) > 0
}
