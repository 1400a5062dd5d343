package gateway

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/slots"
	"github.com/fieldgate/fieldgate/media"
)

// fetchAttachments downloads the allowed attachment URLs of a message into
// media storage. It returns the stored objects, the text without the URLs
// that were taken (they are now photos of the report), and the error of
// each attachment that failed (attachmentReason words it for the sender). URLs that are not allowed stay in the text
// and are never fetched.
//
// The bytes of small attachments are given to in (HoldMedium), so that
// their team copies are made while the report is committed.
func (g *Gateway) fetchAttachments(ctx context.Context, in *dispatch.NewReport, sender, body string, oob []string) ([]media.Object, string, []error) {
	var objs []media.Object
	var failed []error
	text := body
	for _, u := range ExtractURLs(body, oob) {
		if err := g.fetch.Allowed(u); err != nil {
			continue
		}
		obj, data, err := g.fetchOne(ctx, sender, u, in.HeldRoom())
		if err != nil {
			g.log.Warn("attachment not taken", "url", safeURL(u), "err", err)
			failed = append(failed, err)
			continue
		}
		objs = append(objs, obj)
		g.disp.HoldMedium(in, obj, data)
		text = strings.TrimSpace(strings.ReplaceAll(text, u, ""))
	}
	return objs, text, failed
}

// fetchOne downloads one attachment of sender. A sender has at most
// Config.DownloadsPerSender downloads running at once, and a download
// slower than Config.MinDownloadRate is cut off, so one sender's slow
// upload host cannot hold the media store's slots.
// It also returns the bytes if they are at most keep.
func (g *Gateway) fetchOne(ctx context.Context, sender, u string, keep int64) (media.Object, []byte, error) {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	release, err := g.downloads.Acquire(wctx, sender)
	cancel()
	if err != nil {
		return media.Object{}, nil, err
	}
	defer release()
	if g.media == nil {
		return media.Object{}, nil, errors.New("no media storage configured")
	}
	rc, err := g.fetch.Fetch(ctx, u)
	if err != nil {
		return media.Object{}, nil, err
	}
	defer rc.Close()
	return g.media.PutKeep(ctx, slots.NewMinRate(rc, g.cfg.MinDownloadRate, downloadGrace, nil), keep)
}

// downloadGrace is how long a download may trickle before the minimum
// rate (Config.MinDownloadRate) applies.
const downloadGrace = 15 * time.Second

// attachmentReason says in t's language why an attachment was not taken.
func attachmentReason(t msg.Texts, err error) string {
	var tooLarge *media.TooLargeError
	var badType *media.TypeNotAllowedError
	switch {
	case errors.As(err, &tooLarge):
		return t.AttachmentTooLargeLimit(tooLarge.ContentType, tooLarge.Limit)
	case errors.As(err, &badType) && badType.Empty:
		return t.AttachmentEmpty()
	case errors.As(err, &badType) && badType.Detected != "":
		return t.AttachmentTypeDetected(badType.Detected)
	case errors.Is(err, ErrAttachmentTooLarge), errors.Is(err, media.ErrTooLarge):
		return t.AttachmentTooLarge()
	case errors.Is(err, slots.ErrTooSlow):
		return t.AttachmentTooSlow()
	case errors.Is(err, slots.ErrBusy):
		return t.AttachmentTooMany()
	case errors.Is(err, media.ErrTypeNotAllowed):
		return t.AttachmentType()
	default:
		return t.AttachmentUnavailable()
	}
}

// dropMedia deletes objects of a message that was not stored.
func (g *Gateway) dropMedia(in *dispatch.NewReport) {
	objs := in.Media
	if len(objs) == 0 || g.media == nil {
		return
	}
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.Key
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keys = append(keys, in.PreparedOutputs(ctx)...) // their team copies go too
	g.disp.DiscardObjects(ctx, keys...)             // retried through the queue if the store refuses
}

// safeURL is a URL fit for logs: scheme and host only (see fetchLogURL).
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return fetchLogURL(u)
}
