package jpegsalvage

import (
	"bytes"
	"image"
	stdjpeg "image/jpeg"
	"os"
	"testing"
)

func TestDecodeWholeMatchesStdlib(t *testing.T) {
	data, err := os.ReadFile("/work/shared/testdata/photos/DSCN0010.jpg")
	if err != nil {
		t.Skip(err)
	}
	want, err := stdjpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got, partial, err := Decode(bytes.NewReader(data))
	if err != nil || partial {
		t.Fatalf("Decode = partial %v, %v", partial, err)
	}
	w, g := want.(*image.YCbCr), got.(*image.YCbCr)
	if !bytes.Equal(w.Y, g.Y) || !bytes.Equal(w.Cb, g.Cb) || !bytes.Equal(w.Cr, g.Cr) {
		t.Fatal("pixels differ from image/jpeg")
	}
}

func TestDecodeTruncatedIsPartial(t *testing.T) {
	data, err := os.ReadFile("/work/shared/testdata/photos/DSCN0010.jpg")
	if err != nil {
		t.Skip(err)
	}
	if _, err := stdjpeg.Decode(bytes.NewReader(data[:len(data)/2])); err == nil {
		t.Fatal("premise: image/jpeg should refuse a truncated file")
	}
	img, partial, err := Decode(bytes.NewReader(data[:len(data)/2]))
	if err != nil || !partial || img == nil {
		t.Fatalf("Decode(truncated) = %v, partial %v, %v", img != nil, partial, err)
	}
	// Headers only: no image buffer yet, so an error.
	if _, _, err := Decode(bytes.NewReader(data[:100])); err == nil {
		t.Fatal("Decode(100 bytes) succeeded")
	}
}
