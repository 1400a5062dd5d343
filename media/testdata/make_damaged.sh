#!/usr/bin/env bash
# make_damaged.sh writes damaged_restart.jpg: a 1024×768 JPEG of our own
# drawing with restart markers every 4 MCUs, whose markers in the last two
# thirds are renumbered. libjpeg reports "found marker 0xdN instead of RSTm"
# hundreds of times; libvips' JPEG loader gives up after 100 warnings, a
# browser (and ImageMagick) shows the picture with a few smeared rows.
# Needs ImageMagick, libvips-tools and python3.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
convert -size 1024x768 -seed 17 plasma:fractal -quality 85 "$tmp/p.jpg"
vips jpegsave "$tmp/p.jpg" "$tmp/r.jpg" --restart-interval 4 --Q 80 --strip
python3 - "$tmp/r.jpg" damaged_restart.jpg <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
sos = d.index(b'\xff\xda')
i = sos + 2 + int.from_bytes(d[sos + 2:sos + 4], 'big') + len(d) // 3
while i < len(d) - 2:
    if d[i] == 0xFF and 0xD0 <= d[i + 1] <= 0xD7:
        d[i + 1] = 0xD0 + (d[i + 1] - 0xD0 + 3) % 8
    i += 1
open(sys.argv[2], 'wb').write(d)
PY
