package jpegsalvage

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks the salvage changes never panic or hang, on images of
// at most 4 MP (media refuses larger ones before decoding).
func FuzzDecode(f *testing.F) {
	paths, _ := filepath.Glob("/work/shared/testdata/photos/*.jpg")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil && len(b) < 300<<10 {
			f.Add(b)
			f.Add(b[:len(b)/2])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width*cfg.Height > 4<<20 {
			return
		}
		img, partial, err := Decode(bytes.NewReader(data))
		if err == nil && img == nil {
			t.Fatal("nil image without error")
		}
		if err != nil && partial {
			t.Fatal("partial with error")
		}
	})
}
