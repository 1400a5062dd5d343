package gateway

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/slots"
	"github.com/fieldgate/fieldgate/media"
)

// fetchAttachments downloads the allowed attachment URLs of a message into
// media storage. It returns the stored objects, the text without the URLs
// that were taken (they are now photos of the report), the error of
// each attachment that failed (attachmentReason words it for the sender),
// and the hosts of attachments sent as files (XEP-0066 OOB, XEP-0447
// sources) that are not allowed. URLs that are not allowed stay in the
// text and are never fetched.
//
// The bytes of small attachments are given to in (HoldMedium) once they
// are downloaded, before they are stored, so that their team copies are
// made while the original goes up to S3 and the report is committed. An
// attachment whose storing then fails is dropped from in with what was
// made from it.
func (g *Gateway) fetchAttachments(ctx context.Context, in *dispatch.NewReport, sender, body string, oob []string) ([]media.Object, string, []error, []string) {
	var objs []media.Object
	var failed []error
	var refused []string
	text := body
	for _, u := range ExtractURLs(body, oob) {
		if err := g.fetch.Allowed(u); err != nil {
			if slices.Contains(oob, u) {
				if h := hostOf(u); !slices.Contains(refused, h) {
					refused = append(refused, h)
				}
				if !strings.Contains(text, u) {
					// A file shared without its URL in the body: the
					// team still sees where it is.
					text = strings.TrimSpace(text + "\n" + u)
				}
			}
			continue
		}
		var held string // the key given to HoldMedium
		obj, err := g.fetchOne(ctx, sender, u, in.HeldRoom(), func(obj media.Object, data []byte) {
			held = obj.Key
			g.disp.HoldMedium(in, obj, data)
		})
		if err != nil {
			if held != "" {
				g.dropHeld(in, held)
			}
			g.log.Warn("attachment not taken", "url", safeURL(u), "err", err)
			failed = append(failed, err)
			if !strings.Contains(text, u) {
				// A file shared without its URL in the body (XEP-0447,
				// OOB only): the report keeps where it is, as for a
				// URL in the text, and is not left empty.
				text = strings.TrimSpace(text + "\n" + u)
			}
			continue
		}
		objs = append(objs, obj)
		text = strings.TrimSpace(strings.ReplaceAll(text, u, ""))
	}
	return objs, text, failed, refused
}

// fetchOne downloads one attachment of sender and stores it, handing it
// to hold before it is stored if it is at most keep bytes
// (media.Store.PutHold). A sender has at most Config.DownloadsPerSender
// downloads running at once, and a download slower than
// Config.MinDownloadRate is cut off, so one sender's slow upload host
// cannot hold the media store's slots.
func (g *Gateway) fetchOne(ctx context.Context, sender, u string, keep int64, hold func(media.Object, []byte)) (media.Object, error) {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	release, err := g.downloads.Acquire(wctx, sender)
	cancel()
	if err != nil {
		return media.Object{}, err
	}
	defer release()
	if g.media == nil {
		return media.Object{}, errors.New("no media storage configured")
	}
	rc, err := g.fetch.Fetch(ctx, u)
	if err != nil {
		return media.Object{}, err
	}
	defer rc.Close()
	return g.media.PutHold(ctx, slots.NewMinRate(rc, g.cfg.MinDownloadRate, downloadGrace, nil), keep, hold)
}

// dropHeld drops from in an attachment that was given to HoldMedium but
// not stored, and deletes what its prepared work stored (its team copy
// and thumbnail). The original itself was not stored (PutHold).
func (g *Gateway) dropHeld(in *dispatch.NewReport, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if keys := in.DropHeld(ctx, key); len(keys) > 0 {
		g.disp.DiscardObjects(ctx, keys...) // retried through the queue if the store refuses
	}
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

// attachmentRetryable reports whether sending an attachment again may
// succeed where it failed with err: not when it is too large, of a type
// not allowed, or empty.
func attachmentRetryable(err error) bool {
	var tooLarge *media.TooLargeError
	var badType *media.TypeNotAllowedError
	return !errors.As(err, &tooLarge) && !errors.As(err, &badType) && !errors.Is(err, ErrAttachmentTooLarge) &&
		!errors.Is(err, media.ErrTooLarge) && !errors.Is(err, media.ErrTypeNotAllowed)
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

// hostOf is the host name of a URL, for telling a sender which server a
// refused file was on (nothing of its path or query).
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Hostname()
}
