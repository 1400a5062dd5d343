#!/usr/bin/env bash
# make_lossless.sh writes the JPEGs of media/lossless_test.go that Go's
# image/jpeg cannot write: a 400×300 picture of our own drawing with
# restart markers every 4 MCUs (restart.jpg), progressive (progressive.jpg),
# progressive with restart markers (progressive_restart.jpg), and CMYK
# (cmyk.jpg, Adobe APP14 transform 0). The metadata the tests strip is
# added by the tests themselves. Needs ImageMagick and libvips-tools.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
convert -size 400x300 -seed 18 plasma:fractal -quality 90 "$tmp/p.jpg"
vips jpegsave "$tmp/p.jpg" restart.jpg --restart-interval 4 --Q 80 --strip
vips jpegsave "$tmp/p.jpg" progressive.jpg --interlace --Q 80 --strip
vips jpegsave "$tmp/p.jpg" progressive_restart.jpg --interlace --restart-interval 2 --Q 80 --strip
convert "$tmp/p.jpg" -resize 160x120 -colorspace CMYK -strip -quality 80 cmyk.jpg
# The benchmark's messenger photo (stored 600×450, EXIF orientation 6,
# quality 96) as most messengers send one: turned upright, orientation 1,
# recompressed at quality 80, its EXIF (GPS, camera) kept: the lossless
# path's case.
convert ../../testdata/photos/messenger_450x600.jpg -auto-orient -quality 80 messenger_upright_450x600.jpg
