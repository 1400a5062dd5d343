package media

import (
	"errors"
	"io"
	"sync"
)

// bufPool recycles body buffers in a few size tiers (256 KiB, 1 MiB,
// 4 MiB, part size), so steady uploads neither allocate nor zero memory.
type bufPool struct {
	tiers []int
	pools []sync.Pool
}

func newBufPool(partSize int) *bufPool {
	p := &bufPool{}
	for _, t := range []int{256 << 10, 1 << 20, 4 << 20} {
		if t < partSize {
			p.tiers = append(p.tiers, t)
		}
	}
	p.tiers = append(p.tiers, partSize)
	p.pools = make([]sync.Pool, len(p.tiers))
	return p
}

// get returns a buffer of tier i's size (len == cap).
func (p *bufPool) get(i int) []byte {
	if b, ok := p.pools[i].Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, p.tiers[i])
}

// put returns b to its tier; buffers of other sizes are dropped.
func (p *bufPool) put(b []byte) {
	for i, t := range p.tiers {
		if cap(b) == t {
			b = b[:t]
			p.pools[i].Put(&b)
			return
		}
	}
}

// fill reads from r until the largest tier is full or r is drained,
// moving to the next tier whenever a buffer fills, so small bodies stay
// small. eof reports that r is drained.
func (p *bufPool) fill(r io.Reader) (buf []byte, n int, eof bool, err error) {
	tier := 0
	buf = p.get(tier)
	for {
		m, err := io.ReadFull(r, buf[n:])
		n += m
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return buf, n, true, nil
		case err != nil:
			p.put(buf)
			return nil, 0, false, err
		}
		if tier == len(p.tiers)-1 {
			return buf, n, false, nil
		}
		tier++
		next := p.get(tier)
		copy(next, buf[:n])
		p.put(buf)
		buf = next
	}
}

// bodyReader serves a pooled buffer as a request body. net/http may still
// read a body after the request returned (its write loop runs on its own
// goroutine, and minio-go hides Close from us), so before a buffer is
// reused the reader is revoked: later reads see EOF, never the next part.
type bodyReader struct {
	mu  sync.Mutex
	b   []byte
	off int64
}

func newBodyReader(b []byte) *bodyReader { return &bodyReader{b: b} }

func (r *bodyReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.off >= int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += int64(n)
	return n, nil
}

// Seek lets minio-go retry a failed request.
func (r *bodyReader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += int64(len(r.b))
	default:
		return 0, errors.New("media: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("media: negative position")
	}
	r.off = offset
	return offset, nil
}

// revoke detaches the buffer; call it before the buffer is reused.
func (r *bodyReader) revoke() {
	r.mu.Lock()
	r.b = nil
	r.mu.Unlock()
}
