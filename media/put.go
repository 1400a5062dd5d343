package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/minio/minio-go/v7"
)

// Object describes a stored original.
type Object struct {
	Key, ContentType string
	Size             int64
	SHA256           string // hex
}

// Put streams r into the bucket under a new server-generated key. It sniffs
// the content type from the bytes, enforces the allow-list and the type's
// size limit, and hashes the body on the way. Memory is bounded by
// PartsInFlight+1 parts (Config.PartSize each) per upload, and at most
// Config.MaxConcurrent uploads run at once; further calls wait for a slot
// or ctx. On any error no object or upload part is left behind.
func (s *Store) Put(ctx context.Context, r io.Reader) (Object, error) {
	return s.put(ctx, r, 0, nil)
}

// PutHold is Put that hands the body to hold before storing it: once the
// whole body has been read and hashed, if it is at most keep bytes and
// goes up in one PUT (at most Config.PartSize), hold is called with the
// Object as it is being stored (key, type, size, SHA-256) and a copy of
// the bytes, and only then is the PUT sent. The caller's work on the
// original (metadata, team copy) so overlaps its upload to S3 instead of
// following it. hold runs on the caller's goroutine and must not block.
// If PutHold then returns an error, the object is not stored (as with
// Put, nothing is left behind): the caller must discard whatever it
// started from the bytes, including objects it derived under other keys.
func (s *Store) PutHold(ctx context.Context, r io.Reader, keep int64, hold func(Object, []byte)) (Object, error) {
	return s.put(ctx, r, keep, hold)
}

// put is Put, calling hold (PutHold) before the single PUT for a body of
// at most keep bytes in one PUT.
func (s *Store) put(ctx context.Context, r io.Reader, keep int64, hold func(Object, []byte)) (Object, error) {
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return Object{}, fmt.Errorf("media: put: waiting for an upload slot: %w", ctx.Err())
	}

	head := make([]byte, SniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Object{}, fmt.Errorf("media: put: read body: %w", err)
	}
	head = head[:n]
	if n == 0 {
		return Object{}, s.typeNotAllowed("", true)
	}
	ct := Sniff(head)
	limit, ok := s.rules[ct]
	if !ok {
		return Object{}, s.typeNotAllowed(ct, false)
	}
	obj := Object{Key: newKey(PrefixOriginal, s.cfg.Now()), ContentType: ct}
	if s.keyHook != nil {
		s.keyHook(obj.Key)
	}
	h := sha256.New()
	// Read at most limit+1 bytes: the extra byte proves the body too large.
	body := io.TeeReader(io.LimitReader(io.MultiReader(bytes.NewReader(head), r), limit+1), h)
	whole := func(b, sum []byte) {
		if hold != nil && int64(len(b)) <= keep {
			o := obj
			o.Size, o.SHA256 = int64(len(b)), hex.EncodeToString(sum)
			hold(o, bytes.Clone(b))
		}
	}
	size, err := s.upload(ctx, obj.Key, ct, body, limit, h, whole)
	if err != nil {
		return Object{}, err
	}
	obj.Size = size
	obj.SHA256 = hex.EncodeToString(h.Sum(nil))
	s.log.DebugContext(ctx, "stored original", "key", obj.Key, "type", ct, "size", size)
	return obj, nil
}

// upload writes body to key: one PUT if it fits in one part, else a
// multipart upload that reads the next part while earlier ones upload.
// Any failure aborts the upload and removes the key. h is the SHA-256
// being computed of body as it is read. For a one-PUT upload, whole sees
// the body and its SHA-256 before the PUT (it may not keep the bytes:
// copy them).
func (s *Store) upload(ctx context.Context, key, ct string, body io.Reader, limit int64, h hash.Hash, whole func(b, sum []byte)) (size int64, err error) {
	opts := minio.PutObjectOptions{ContentType: ct, ServerSideEncryption: s.sse, PartSize: uint64(s.cfg.PartSize)}
	defer func() {
		if err != nil {
			s.cleanup(ctx, key)
		}
	}()

	buf, n, eof, err := s.bufs.fill(body)
	if err != nil {
		return 0, fmt.Errorf("media: put: read body: %w", err)
	}
	// Buffers: buf is being filled (nil once handed to an upload), queue
	// holds parts in flight with their buffers, free holds spares.
	var queue []flight
	var free [][]byte
	defer func() {
		for _, f := range queue { // uploads may still read their buffers
			<-f.ch
			s.bufs.put(f.buf)
		}
		for _, b := range append(free, buf) {
			if b != nil {
				s.bufs.put(b)
			}
		}
	}()
	if int64(n) > limit {
		return 0, &TooLargeError{ContentType: ct, Limit: limit}
	}
	if eof {
		// One PUT, with the SHA-256 computed while the body was read
		// (body is drained: this is the hash of buf[:n]).
		sum := h.Sum(nil)
		whole(buf[:n], sum)
		body := newBodyReader(buf[:n])
		err := s.putChecked(ctx, key, body, int64(n), sum, opts)
		body.revoke()
		if err != nil {
			return 0, err
		}
		return int64(n), nil
	}

	// Multipart. Each part carries a checksum in a signed header that the
	// server verifies: CRC32C over TLS (TLS already stops tampering; CRC is
	// nearly free), SHA-256 over plain HTTP, where only a cryptographic
	// checksum keeps a man in the middle from swapping the body.
	opts.UserMetadata = map[string]string{"x-amz-checksum-algorithm": s.partChecksum()}
	uploadID, err := s.core.NewMultipartUpload(ctx, s.cfg.Bucket, key, opts)
	if err != nil {
		return 0, fmt.Errorf("media: put %s: start multipart: %w", key, s.classify(err))
	}
	defer func() {
		if err != nil {
			// Let parts in flight finish first: a part landing after the
			// abort would survive it.
			for _, f := range queue {
				<-f.ch
				free = append(free, f.buf)
			}
			queue = nil
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if aerr := s.core.AbortMultipartUpload(actx, s.cfg.Bucket, key, uploadID); aerr != nil {
				s.log.Warn("abort multipart upload failed; lifecycle rule will reap it", "key", key, "err", aerr)
			}
		}
	}()
	// Pipeline: up to PartsInFlight parts upload in goroutines while the
	// next one is read and hashed, so at most PartsInFlight+1 parts are in
	// memory.
	var parts []minio.CompletePart
	var total int64
	wait := func() error { // for the oldest part in flight
		f := queue[0]
		queue = queue[1:]
		r := <-f.ch
		free = append(free, f.buf)
		if r.err != nil {
			return r.err
		}
		parts = append(parts, r.part)
		return nil
	}
	for part := 1; ; part++ {
		if part > maxPartCount {
			return 0, &TooLargeError{ContentType: ct, Limit: limit} // Config keeps limits within maxPartCount parts
		}
		total += int64(n)
		if total > limit {
			return 0, &TooLargeError{ContentType: ct, Limit: limit}
		}
		if len(queue) == s.cfg.PartsInFlight {
			if err := wait(); err != nil {
				return 0, err
			}
		}
		f := flight{ch: make(chan partResult, 1), buf: buf}
		go func(part int, data []byte, ch chan<- partResult) {
			// The part checksum is computed here, in parallel with the
			// reader hashing the next part.
			p, err := s.putPart(ctx, key, uploadID, part, data, s.partSum(data))
			ch <- partResult{p, err}
		}(part, buf[:n], f.ch)
		queue = append(queue, f)
		buf = nil
		if eof {
			break
		}
		if len(free) > 0 {
			buf, free = free[len(free)-1], free[:len(free)-1]
		} else {
			buf = s.bufs.get(len(s.bufs.tiers) - 1)
		}
		n, err = io.ReadFull(body, buf)
		switch {
		case errors.Is(err, io.EOF): // nothing more; previous part was the last
			eof, n = true, 0
		case errors.Is(err, io.ErrUnexpectedEOF):
			eof = true
		case err != nil:
			return 0, fmt.Errorf("media: put: read body: %w", err)
		}
		if n == 0 {
			break
		}
	}
	for len(queue) > 0 {
		if err := wait(); err != nil {
			return 0, err
		}
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].PartNumber < parts[j].PartNumber })
	if _, err := s.core.CompleteMultipartUpload(ctx, s.cfg.Bucket, key, uploadID, parts, opts); err != nil {
		return 0, fmt.Errorf("media: put %s: complete: %w", key, s.classify(err))
	}
	return total, nil
}

// putChecked stores body (size bytes, whose SHA-256 is sum) under key in
// one PUT. The SHA-256 travels as x-amz-checksum-sha256 (AWS S3 API,
// "Checking object integrity"), a header covered by the request's
// Signature V4, and the server refuses a body that does not match it
// (BadDigest): that protects the bytes as a signed payload would, over
// TLS and plain HTTP alike, while the payload itself is sent as
// UNSIGNED-PAYLOAD. minio-go's default over plain HTTP, the streaming
// signature (aws-chunked, an HMAC-SHA256 per 64 KiB chunk), would hash
// the bytes a second time in this process and again in the server, and
// over TLS it adds a trailing CRC32C instead. Errors are classified as
// by Put.
func (s *Store) putChecked(ctx context.Context, key string, body io.Reader, size int64, sum []byte, opts minio.PutObjectOptions) error {
	opts.DisableContentSha256 = true
	opts.UserMetadata = map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(sum)}
	if _, err := s.core.PutObject(ctx, s.cfg.Bucket, key, body, size, "", "", opts); err != nil {
		return fmt.Errorf("media: put %s: %w", key, s.classify(err))
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (s *Store) partChecksum() string {
	if s.cfg.UseTLS {
		return "CRC32C"
	}
	return "SHA256"
}

type flight struct {
	ch  chan partResult
	buf []byte
}

type partResult struct {
	part minio.CompletePart
	err  error
}

// partSum returns the checksum header for one part.
func (s *Store) partSum(data []byte) http.Header {
	h := http.Header{}
	if s.cfg.UseTLS {
		var crc [4]byte
		binary.BigEndian.PutUint32(crc[:], crc32.Checksum(data, castagnoli))
		h.Set("x-amz-checksum-crc32c", base64.StdEncoding.EncodeToString(crc[:]))
	} else {
		sum := sha256.Sum256(data)
		h.Set("x-amz-checksum-sha256", base64.StdEncoding.EncodeToString(sum[:]))
	}
	return h
}

func (s *Store) putPart(ctx context.Context, key, uploadID string, part int, data []byte, h http.Header) (minio.CompletePart, error) {
	body := newBodyReader(data)
	p, err := s.core.PutObjectPart(ctx, s.cfg.Bucket, key, uploadID, part, body, int64(len(data)),
		minio.PutObjectPartOptions{SSE: s.sse, CustomHeader: h, DisableContentSha256: true})
	body.revoke()
	if err != nil {
		return minio.CompletePart{}, fmt.Errorf("media: put %s: part %d: %w", key, part, s.classify(err))
	}
	return minio.CompletePart{PartNumber: part, ETag: p.ETag,
		ChecksumCRC32: p.ChecksumCRC32, ChecksumCRC32C: p.ChecksumCRC32C,
		ChecksumSHA1: p.ChecksumSHA1, ChecksumSHA256: p.ChecksumSHA256, ChecksumCRC64NVME: p.ChecksumCRC64NVME}, nil
}

// cleanup removes key after a failed upload, in case the server completed
// it before the error reached us.
func (s *Store) cleanup(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.client.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		s.log.Warn("cleanup after failed upload", "key", key, "err", err)
	}
}
