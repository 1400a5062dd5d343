package media

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// PresignGet returns a GET URL for a team copy ("team/…" key) valid for
// Config.PresignTTL. Originals are refused: use PresignOriginal, which
// callers must restrict to dispatchers. The bucket itself is never public.
func (s *Store) PresignGet(ctx context.Context, key string) (string, error) {
	if err := validKey(key); err != nil {
		return "", err
	}
	if !strings.HasPrefix(key, PrefixTeam) {
		return "", fmt.Errorf("%w: %q is an original; team links only go to team copies", ErrInvalidKey, key)
	}
	return s.presign(ctx, key)
}

// PresignOriginal returns a short-lived GET URL for an original, valid
// for Config.OriginalTTL (default 5 minutes): originals carry the EXIF
// position and camera data, so the link is handed out only by the
// authenticated API right when it is used, never posted anywhere.
func (s *Store) PresignOriginal(ctx context.Context, key string) (string, error) {
	if err := validKey(key); err != nil {
		return "", err
	}
	return s.presignFor(ctx, key, cmp.Or(s.cfg.OriginalTTL, DefaultOriginalTTL))
}

// DefaultOriginalTTL is the lifetime of links to originals.
const DefaultOriginalTTL = 5 * time.Minute

func (s *Store) presign(ctx context.Context, key string) (string, error) {
	return s.presignFor(ctx, key, s.cfg.PresignTTL)
}

func (s *Store) presignFor(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if s.cfg.Encryption == "sse-c" && s.sse != nil {
		// SSE-C objects need the key in request headers, which a link cannot carry.
		return "", fmt.Errorf("media: presign %s: not possible with sse-c; serve through the API instead", key)
	}
	u, err := s.client.PresignedGetObject(ctx, s.cfg.Bucket, key, ttl, nil)
	if err != nil {
		return "", fmt.Errorf("media: presign %s: %w", key, err)
	}
	return u.String(), nil
}

// Delete removes the given keys. Missing keys are fine, so it is idempotent.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if err := validKey(k); err != nil {
			return err
		}
	}
	ch := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	var errs []error
	for e := range s.client.RemoveObjects(ctx, s.cfg.Bucket, ch, minio.RemoveObjectsOptions{}) {
		if minio.ToErrorResponse(e.Err).Code == "NoSuchKey" {
			continue
		}
		errs = append(errs, fmt.Errorf("media: delete %s: %w", e.ObjectName, s.classify(e.Err)))
	}
	return errors.Join(errs...)
}

// DeleteOlderThan removes every object under prefix ("orig/", "team/" or
// "" for both) last modified before cutoff, and returns how many it removed.
// For the retention job; idempotent.
func (s *Store) DeleteOlderThan(ctx context.Context, prefix string, cutoff time.Time) (int, error) {
	if prefix != "" && prefix != PrefixOriginal && prefix != PrefixTeam {
		return 0, fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix)
	}
	ch := make(chan minio.ObjectInfo)
	var listErr error
	n := 0
	go func() {
		defer close(ch)
		for o := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if o.Err != nil {
				listErr = o.Err
				return
			}
			if o.LastModified.Before(cutoff) && validKey(o.Key) == nil {
				n++
				select {
				case ch <- o:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	var errs []error
	for e := range s.client.RemoveObjects(ctx, s.cfg.Bucket, ch, minio.RemoveObjectsOptions{}) {
		if minio.ToErrorResponse(e.Err).Code != "NoSuchKey" {
			errs = append(errs, fmt.Errorf("media: delete %s: %w", e.ObjectName, s.classify(e.Err)))
		}
	}
	if listErr != nil {
		errs = append(errs, fmt.Errorf("media: list %q: %w", prefix, s.classify(listErr)))
	}
	return n - len(errs), errors.Join(errs...)
}
