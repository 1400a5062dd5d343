package media

import (
	"bytes"
	"fmt"
	"strconv"
)

// decodeCorpusFile reads a one-value "go test fuzz v1" file holding []byte.
func decodeCorpusFile(b []byte) ([]byte, error) {
	lines := bytes.SplitN(bytes.TrimSpace(b), []byte("\n"), 2)
	if len(lines) != 2 || string(lines[0]) != "go test fuzz v1" {
		return nil, fmt.Errorf("not a fuzz corpus file")
	}
	v := bytes.TrimSpace(lines[1])
	if !bytes.HasPrefix(v, []byte("[]byte(")) || !bytes.HasSuffix(v, []byte(")")) {
		return nil, fmt.Errorf("not a []byte value")
	}
	s, err := strconv.Unquote(string(v[len("[]byte(") : len(v)-1]))
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}
