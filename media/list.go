package media

import (
	"context"
	"fmt"
	"time"

	"github.com/minio/minio-go/v7"
)

// ListOlder lists the objects under prefix (PrefixOriginal or PrefixTeam)
// last modified before cutoff, and calls fn with their keys in batches of
// at most batch. Only keys this package generates are listed; anything
// else in the bucket is not ours to judge. fn's error stops the listing.
// For the orphan sweep: the caller decides which keys no row references.
func (s *Store) ListOlder(ctx context.Context, prefix string, cutoff time.Time, batch int, fn func(keys []string) error) error {
	if prefix != PrefixOriginal && prefix != PrefixTeam {
		return fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix)
	}
	batch = max(batch, 1)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio's listing goroutine if fn fails
	keys := make([]string, 0, batch)
	for o := range s.client.ListObjects(lctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return fmt.Errorf("media: list %q: %w", prefix, s.classify(o.Err))
		}
		if !o.LastModified.Before(cutoff) || validKey(o.Key) != nil {
			continue
		}
		keys = append(keys, o.Key)
		if len(keys) == batch {
			if err := fn(keys); err != nil {
				return err
			}
			keys = make([]string, 0, batch)
		}
	}
	if len(keys) > 0 {
		return fn(keys)
	}
	return nil
}
