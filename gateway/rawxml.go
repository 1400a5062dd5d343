package gateway

import (
	"bytes"
	"encoding/xml"
)

// innerRecorder passes a stanza's tokens through and re-encodes the
// content of its outermost element as XML. The stream decoder has no raw
// bytes (",innerxml" stays empty with xml.NewTokenDecoder), so answers to
// the gateway's own queries (PEP items, upload slots, disco) are kept
// this way. Namespaces come from the resolved names; the xmlns
// declarations are dropped so that none is written twice.
type innerRecorder struct {
	r     xml.TokenReader
	depth int
	buf   bytes.Buffer
	enc   *xml.Encoder
}

func newInnerRecorder(r xml.TokenReader) *innerRecorder {
	ir := &innerRecorder{r: r}
	ir.enc = xml.NewEncoder(&ir.buf)
	return ir
}

func (ir *innerRecorder) Token() (xml.Token, error) {
	tok, err := ir.r.Token()
	if tok == nil {
		return tok, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		ir.depth++
		if ir.depth > 1 {
			s := t.Copy()
			attrs := s.Attr[:0]
			for _, a := range s.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				attrs = append(attrs, a)
			}
			s.Attr = attrs
			_ = ir.enc.EncodeToken(s)
		}
	case xml.EndElement:
		if ir.depth > 1 {
			_ = ir.enc.EncodeToken(t)
		}
		ir.depth--
	case xml.CharData:
		if ir.depth >= 1 {
			_ = ir.enc.EncodeToken(t.Copy())
		}
	}
	return tok, err
}

// inner returns the recorded content.
func (ir *innerRecorder) inner() []byte {
	_ = ir.enc.Flush()
	return ir.buf.Bytes()
}
