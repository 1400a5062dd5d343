package media

import (
	"context"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
)

// ValidKey returns ErrInvalidKey unless key is one this package generates
// ("orig/2026/11/<uuidv7>", "team/…"). Backups check every key they read
// from a manifest with it before using it as a path or an object name.
func ValidKey(key string) error { return validKey(key) }

// Open streams the stored object key as it is (server-side encryption
// undone), with its content type, for `fieldgate backup`. The caller
// closes it.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, string, error) {
	if err := validKey(key); err != nil {
		return nil, "", err
	}
	obj, err := s.client.GetObject(ctx, s.cfg.Bucket, key, minio.GetObjectOptions{ServerSideEncryption: s.sse})
	if err != nil {
		return nil, "", fmt.Errorf("media: open %s: %w", key, s.classify(err))
	}
	// GetObject is lazy: Stat surfaces a missing object now.
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, "", fmt.Errorf("media: open %s: %w", key, s.classify(err))
	}
	return obj, info.ContentType, nil
}

// Restore writes size bytes from r under key, as `fieldgate restore` puts a
// backup's objects back. The key must be one this package generates.
func (s *Store) Restore(ctx context.Context, key, contentType string, r io.Reader, size int64) error {
	if err := validKey(key); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.cfg.Bucket, key, r, size,
		minio.PutObjectOptions{ContentType: contentType, ServerSideEncryption: s.sse})
	if err != nil {
		return fmt.Errorf("media: restore %s: %w", key, s.classify(err))
	}
	return nil
}
