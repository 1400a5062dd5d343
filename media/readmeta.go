package media

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
)

// Bounds of ReadMetadata's reads from S3.
const (
	rangeBlock    = 64 << 10 // one ranged GET fetches this much
	rangeBudget   = 8 << 20  // at most this much is fetched per object
	rangeMaxCache = 32       // blocks kept (2 MiB)
)

// ReadMetadata reads obj's metadata with a few ranged GETs of 64 KiB (never
// the whole object; at most 8 MiB in all) and calls Extract. Only Key is
// required: a zero Size is looked up and an empty ContentType re-sniffed.
// Call it after the report is safely stored.
func (s *Store) ReadMetadata(ctx context.Context, obj Object) (Metadata, error) {
	if err := validKey(obj.Key); err != nil {
		return Metadata{}, err
	}
	size := obj.Size
	if size <= 0 {
		info, err := s.client.StatObject(ctx, s.cfg.Bucket, obj.Key, minio.StatObjectOptions{ServerSideEncryption: s.sse})
		if err != nil {
			return Metadata{}, fmt.Errorf("media: stat %s: %w", obj.Key, s.classify(err))
		}
		size = info.Size
	}
	ra := &s3ReaderAt{ctx: ctx, s: s, key: obj.Key, size: size, blocks: map[int64][]byte{}}
	ct := obj.ContentType
	if ct == "" { // caller only kept the key: sniff again
		head := make([]byte, SniffLen)
		n, err := ra.ReadAt(head, 0)
		if err != nil && err != io.EOF {
			return Metadata{}, fmt.Errorf("media: metadata of %s: %w", obj.Key, err)
		}
		ct = Sniff(head[:n])
	}
	md, err := Extract(ra, size, ct)
	if err != nil {
		return md, fmt.Errorf("media: metadata of %s: %w", obj.Key, err)
	}
	return md, nil
}

// ReadMetadataFrom is ReadMetadata from the object's bytes the caller
// already holds (the intake path, which has just stored them): no S3
// request at all. src must be the whole object obj names (when obj.Size is
// set, len(src) must equal it; a mismatch is an error). The result is
// Extract's on the same bytes, exactly what ReadMetadata returns for the
// stored object: EXIF position, time and orientation from the structural
// validator plus goexif. An empty obj.ContentType is sniffed from src.
// obj.Key is only checked and used in error messages.
func (s *Store) ReadMetadataFrom(ctx context.Context, obj Object, src []byte) (Metadata, error) {
	if err := validKey(obj.Key); err != nil {
		return Metadata{}, err
	}
	if obj.Size > 0 && int64(len(src)) != obj.Size {
		return Metadata{}, fmt.Errorf("media: metadata of %s: %d bytes given for an object of %d", obj.Key, len(src), obj.Size)
	}
	if err := ctx.Err(); err != nil {
		return Metadata{}, err
	}
	ct := obj.ContentType
	if ct == "" {
		ct = Sniff(src[:min(len(src), SniffLen)])
	}
	md, err := Extract(bytes.NewReader(src), int64(len(src)), ct)
	if err != nil {
		return md, fmt.Errorf("media: metadata of %s: %w", obj.Key, err)
	}
	return md, nil
}

// s3ReaderAt serves ReadAt from block-aligned ranged GETs, caching a few
// blocks and refusing to fetch more than rangeBudget bytes in total.
type s3ReaderAt struct {
	ctx     context.Context
	s       *Store
	key     string
	size    int64
	blocks  map[int64][]byte
	fetched int64
}

func (r *s3ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset")
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= r.size {
			return n, io.EOF
		}
		b, err := r.block(pos / rangeBlock)
		if err != nil {
			return n, err
		}
		in := pos % rangeBlock
		if in >= int64(len(b)) {
			return n, io.EOF
		}
		n += copy(p[n:], b[in:])
	}
	return n, nil
}

func (r *s3ReaderAt) block(i int64) ([]byte, error) {
	if b, ok := r.blocks[i]; ok {
		return b, nil
	}
	if r.fetched >= rangeBudget {
		return nil, fmt.Errorf("read budget of %d bytes exhausted", rangeBudget)
	}
	start := i * rangeBlock
	end := min(start+rangeBlock, r.size) - 1
	opts := minio.GetObjectOptions{ServerSideEncryption: r.s.sse}
	if err := opts.SetRange(start, end); err != nil {
		return nil, err
	}
	obj, err := r.s.client.GetObject(r.ctx, r.s.cfg.Bucket, r.key, opts)
	if err != nil {
		return nil, r.s.classify(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, end-start+1))
	if err != nil {
		return nil, r.s.classify(err)
	}
	r.fetched += int64(len(b))
	if len(r.blocks) >= rangeMaxCache {
		for k := range r.blocks { // evict any one
			delete(r.blocks, k)
			break
		}
	}
	r.blocks[i] = b
	return b, nil
}
