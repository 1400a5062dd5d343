#!/usr/bin/env bash
# make.sh draws fieldgate's test photos and writes their metadata with
# exiftool, then writes expected.tsv: the values fieldgate must read from
# each file. The outputs are committed; run this only to change the set:
#
#   testdata/photos/make.sh          # needs ImageMagick (convert, with HEIC) and exiftool
#
# Every image is drawn upright with a RED band along its top edge and a
# GREEN band along its left edge, on a noisy grey gradient (so that JPEG
# does not compress it to nothing). The orientation_N.jpg files store the
# pixels so that applying EXIF orientation N (TIFF 6.0 / Exif 2.32 §4.6.4,
# tag 0x0112) shows that upright drawing again: a test that rotates a photo
# as the tag says finds red at the top and green on the left.
#
# Positions are written as GPS rationals (Exif 2.32 §4.6.6: three RATIONALs
# degrees, minutes, seconds, plus GPSLatitudeRef N/S and GPSLongitudeRef
# E/W), in the three forms cameras use: whole D/M/S, decimal degrees in the
# first rational, and decimal minutes in the second.
#
# expected.tsv columns ("-" = absent):
#   file            name in this folder
#   type            content type fieldgate must sniff
#   width height    stored pixel size (before orientation)
#   lat lon         WGS-84 decimal degrees fieldgate must read (south and west
#                   negative; "-" where it must find none)
#   alt_m           altitude in metres above sea level (negative below)
#   source          where the position comes from: exif (the GPS IFD) or xmp
#                   (exif:GPSLatitude/GPSLongitude in an XMP packet, used only
#                   when EXIF has no GPS)
#   taken           EXIF DateTimeOriginal as written (YYYY:MM:DD hh:mm:ss)
#   orientation     EXIF orientation 1..8
#   make model      EXIF Make and Model
#   serial owner    camera serial number / owner name (privacy scrubbing)
#   note            what the file is for
set -euo pipefail
cd "$(dirname "$0")"

for tool in convert exiftool; do
	command -v "$tool" >/dev/null || { echo "make.sh: $tool missing (apt-get install imagemagick libimage-exiftool-perl)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# exiftool converts decimal degrees to its own D/M/S rationals; these raw
# tags write the three rationals exactly as given ("51/1 14040/10000 0/1").
cat >"$tmp/raw.config" <<'EOF'
%Image::ExifTool::UserDefined = (
    'Image::ExifTool::GPS::Main' => {
        0x0002 => { Name => 'GPSLatitudeRaw',  Writable => 'rational64u', Count => 3 },
        0x0004 => { Name => 'GPSLongitudeRaw', Writable => 'rational64u', Count => 3 },
    },
);
1;
EOF
ex() { exiftool -config "$tmp/raw.config" -q -overwrite_original "$@"; }

# upright W H OUT [NOISE]: the upright test drawing as a lossless PNG.
upright() {
	local w=$1 h=$2 out=$3 bt=$(($2 / 8)) bl=$(($1 / 8))
	convert -seed 19 -size "${w}x${h}" gradient:'#8a8f96-#3c4148' \
		-attenuate "${4:-0.6}" +noise Gaussian \
		-fill '#e00000' -draw "rectangle 0,0 $((w - 1)),$((bt - 1))" \
		-fill '#00c000' -draw "rectangle 0,$bt $((bl - 1)),$((h - 1))" \
		"$out"
}

rows=()
# row FILE TYPE W H LAT LON ALT TAKEN O MAKE MODEL SERIAL OWNER NOTE; the
# source column is added from $SRC, else exif when there is a position.
row() {
	local a=("$@") src=${SRC:-}
	if [ -z "$src" ]; then if [ "$5" = - ]; then src=-; else src=exif; fi; fi
	rows+=("$(IFS=$'\t'; echo "${a[*]:0:7}"$'\t'"$src"$'\t'"${a[*]:7}")")
}

# jpeg W H OUT [quality]: the upright drawing as a JPEG without metadata.
jpeg() {
	upright "$1" "$2" "$tmp/u.png"
	convert "$tmp/u.png" -strip -quality "${4:-82}" "$3"
}

# --- GPS in the four hemispheres, whole D/M/S ---------------------------------
# gps_ne: Marienplatz, Munich (outside the demo town's districts).
jpeg 640 480 gps_ne.jpg
ex -Make=Fieldgate -Model="Testkamera NE" -Orientation#=1 \
	-DateTimeOriginal="2026:03:14 09:26:53" \
	-GPSLatitudeRaw="48/1 8/1 1355/100" -GPSLatitudeRef=N \
	-GPSLongitudeRaw="11/1 34/1 3405/100" -GPSLongitudeRef=E \
	-GPSAltitude=519 -GPSAltitudeRef#=0 gps_ne.jpg
row gps_ne.jpg image/jpeg 640 480 48.137097222222 11.576125 519 "2026:03:14 09:26:53" 1 Fieldgate "Testkamera NE" - - "north-east, whole D/M/S, altitude above sea level"

# gps_nw: Liberty Island, New York.
jpeg 640 480 gps_nw.jpg
ex -Make=Fieldgate -Model="Testkamera NW" -Orientation#=1 \
	-DateTimeOriginal="2026:07:04 12:00:00" \
	-GPSLatitudeRaw="40/1 41/1 2129/100" -GPSLatitudeRef=N \
	-GPSLongitudeRaw="74/1 2/1 4021/100" -GPSLongitudeRef=W gps_nw.jpg
row gps_nw.jpg image/jpeg 640 480 40.689247222222 -74.044502777778 - "2026:07:04 12:00:00" 1 Fieldgate "Testkamera NW" - - "north-west, no altitude"

# gps_se: Sydney Opera House.
jpeg 640 480 gps_se.jpg
ex -Make=Fieldgate -Model="Testkamera SE" -Orientation#=1 \
	-DateTimeOriginal="2026:01:26 18:30:05" \
	-GPSLatitudeRaw="33/1 51/1 2442/100" -GPSLatitudeRef=S \
	-GPSLongitudeRaw="151/1 12/1 5507/100" -GPSLongitudeRef=E gps_se.jpg
row gps_se.jpg image/jpeg 640 480 -33.856783333333 151.215297222222 - "2026:01:26 18:30:05" 1 Fieldgate "Testkamera SE" - - "south-east"

# gps_sw: Copacabana beach, Rio de Janeiro, 2.5 m below sea level (AltitudeRef 1).
jpeg 640 480 gps_sw.jpg
ex -Make=Fieldgate -Model="Testkamera SW" -Orientation#=1 \
	-DateTimeOriginal="2026:02:14 07:45:00" \
	-GPSLatitudeRaw="22/1 58/1 3012/100" -GPSLatitudeRef=S \
	-GPSLongitudeRaw="43/1 11/1 1800/100" -GPSLongitudeRef=W \
	-GPSAltitude=2.5 -GPSAltitudeRef#=1 gps_sw.jpg
row gps_sw.jpg image/jpeg 640 480 -22.975033333333 -43.188333333333 -2.5 "2026:02:14 07:45:00" 1 Fieldgate "Testkamera SW" - - "south-west, altitude below sea level"

# --- other D/M/S forms, inside the demo town (district Mitte area) ------------
jpeg 640 480 gps_decimal_degrees.jpg
ex -Make=Fieldgate -Model="Testkamera DD" -Orientation#=1 \
	-DateTimeOriginal="2026:05:20 10:15:00" \
	-GPSLatitudeRaw="510234/10000 0/1 0/1" -GPSLatitudeRef=N \
	-GPSLongitudeRaw="75921/10000 0/1 0/1" -GPSLongitudeRef=E gps_decimal_degrees.jpg
row gps_decimal_degrees.jpg image/jpeg 640 480 51.0234 7.5921 - "2026:05:20 10:15:00" 1 Fieldgate "Testkamera DD" - - "decimal degrees in the first rational, minutes and seconds 0/1"

jpeg 640 480 gps_decimal_minutes.jpg
ex -Make=Fieldgate -Model="Testkamera DM" -Orientation#=1 \
	-DateTimeOriginal="2026:05:20 10:16:00" \
	-GPSLatitudeRaw="51/1 14040/10000 0/1" -GPSLatitudeRef=N \
	-GPSLongitudeRaw="7/1 355260/10000 0/1" -GPSLongitudeRef=E gps_decimal_minutes.jpg
row gps_decimal_minutes.jpg image/jpeg 640 480 51.0234 7.5921 - "2026:05:20 10:16:00" 1 Fieldgate "Testkamera DM" - - "decimal minutes in the second rational, seconds 0/1"

# --- GPS values without their N/S, E/W references: no position ---------------
jpeg 320 240 gps_no_refs.jpg
ex -Make=Fieldgate -Model="Testkamera NR" -Orientation#=1 \
	-GPSLatitudeRaw="51/1 1/1 2424/100" -GPSLongitudeRaw="7/1 35/1 3156/100" gps_no_refs.jpg
row gps_no_refs.jpg image/jpeg 320 240 - - - - 1 Fieldgate "Testkamera NR" - - "GPSLatitude/GPSLongitude without GPSLatitudeRef/GPSLongitudeRef: the hemisphere is unknown, so no position"

# --- orientations 1..8 ---------------------------------------------------------
# The stored pixels are the upright drawing transformed by the inverse of
# what the tag tells a viewer to do.
upright 160 120 "$tmp/o.png"
inverse=("" "" "-flop" "-rotate 180" "-flip" "-transpose" "-rotate 270" "-transverse" "-rotate 90")
for o in 1 2 3 4 5 6 7 8; do
	# shellcheck disable=SC2086
	convert "$tmp/o.png" ${inverse[$o]} -strip -quality 90 "orientation_$o.jpg"
	ex -Make=Fieldgate -Model="Testkamera O" -Orientation#=$o "orientation_$o.jpg"
	w=160 h=120
	if [ "$o" -ge 5 ]; then w=120 h=160; fi
	row "orientation_$o.jpg" image/jpeg $w $h - - - - $o Fieldgate "Testkamera O" - - "orientation $o; upright: red top edge, green left edge"
done

# --- HEIC with GPS (the iPhone default) ----------------------------------------
upright 320 240 "$tmp/h.png"
convert "$tmp/h.png" -strip -quality 60 gps.heic
ex -Make=Apple -Model="iPhone Test" \
	-DateTimeOriginal="2026:04:01 14:05:09" \
	-GPSLatitudeRaw="51/1 1/1 2424/100" -GPSLatitudeRef=N \
	-GPSLongitudeRaw="7/1 35/1 3156/100" -GPSLongitudeRef=E \
	-GPSAltitude=260.5 -GPSAltitudeRef#=0 gps.heic
row gps.heic image/heic 320 240 51.0234 7.5921 260.5 "2026:04:01 14:05:09" - Apple "iPhone Test" - - "HEIC (HEVC) with EXIF GPS; no orientation tag"

# --- damaged, no EXIF, XMP-only, private data ----------------------------------
# truncated: a GPS photo cut after 60 % of its bytes. The EXIF segment at the
# start is whole; the picture decodes partly (the rest is grey).
jpeg 640 480 "$tmp/full.jpg"
ex -Make=Fieldgate -Model="Testkamera TR" -Orientation#=1 \
	-DateTimeOriginal="2026:06:01 08:00:00" \
	-GPSLatitudeRaw="51/1 1/1 2424/100" -GPSLatitudeRef=N \
	-GPSLongitudeRaw="7/1 35/1 3156/100" -GPSLongitudeRef=E "$tmp/full.jpg"
head -c $(($(stat -c %s "$tmp/full.jpg") * 6 / 10)) "$tmp/full.jpg" >truncated.jpg
row truncated.jpg image/jpeg 640 480 51.0234 7.5921 - "2026:06:01 08:00:00" 1 Fieldgate "Testkamera TR" - - "cut after 60 % of its bytes: EXIF whole, scan data truncated, no EOI"

jpeg 320 240 no_exif.jpg
row no_exif.jpg image/jpeg 320 240 - - - - - - - - - "no metadata at all"

jpeg 320 240 xmp_gps_only.jpg
ex -XMP-exif:GPSLatitude="51 1 24.24 N" -XMP-exif:GPSLongitude="7 35 31.56 E" \
	-XMP-tiff:Make=Fieldgate -XMP-tiff:Model="Testkamera XMP" xmp_gps_only.jpg
SRC=xmp row xmp_gps_only.jpg image/jpeg 320 240 51.0234 7.5921 - - - - - - - "GPS only in an XMP packet (exif:GPSLatitude 51,1.404N / exif:GPSLongitude 7,35.526E = 51.0234, 7.5921), no EXIF: fieldgate reads it from XMP (position source xmp)"

jpeg 320 240 serial_owner.jpg
ex -Make=Fieldgate -Model="Testkamera SN" -Orientation#=1 \
	-DateTimeOriginal="2026:03:01 11:11:11" \
	-SerialNumber=FG0019X42 -BodySerialNumber=FG0019X42 -LensSerialNumber=L-77123 \
	-OwnerName="Erika Mustermann" \
	-GPSLatitudeRaw="51/1 1/1 2424/100" -GPSLatitudeRef=N \
	-GPSLongitudeRaw="7/1 35/1 3156/100" -GPSLongitudeRef=E serial_owner.jpg
row serial_owner.jpg image/jpeg 320 240 51.0234 7.5921 - "2026:03:01 11:11:11" 1 Fieldgate "Testkamera SN" FG0019X42 "Erika Mustermann" "camera serial numbers and owner name that no team copy may keep"

# --- a 12-megapixel phone photo for benchmarks ----------------------------------
jpeg 4032 3024 phone_12mp.jpg 86
ex -Make=Fieldgate -Model="Testtelefon 12MP" -Orientation#=6 \
	-DateTimeOriginal="2026:05:20 16:42:07" -OffsetTimeOriginal="+02:00" \
	-GPSLatitudeRaw="51/1 1/1 2424/100" -GPSLatitudeRef=N \
	-GPSLongitudeRaw="7/1 35/1 3156/100" -GPSLongitudeRef=E \
	-GPSAltitude=312 -GPSAltitudeRef#=0 phone_12mp.jpg
row phone_12mp.jpg image/jpeg 4032 3024 51.0234 7.5921 312 "2026:05:20 16:42:07" 6 Fieldgate "Testtelefon 12MP" - - "4032x3024 (12 MP) phone photo of realistic size, orientation 6, time zone +02:00"

# --- a small photo as messengers send it, for benchmarks ------------------------
# 450x600 upright, 135 KB (4:2:0 chroma like phone encoders, quality 96),
# stored sideways with orientation 6 as phones do.
upright 450 600 "$tmp/m.png" 0.65
convert "$tmp/m.png" -rotate 270 -strip -sampling-factor 2x2 -quality 96 messenger_450x600.jpg
ex -Make=Fieldgate -Model="Testtelefon klein" -Orientation#=6 \
	-DateTimeOriginal="2026:05:20 16:45:30" \
	-GPSLatitudeRaw="51/1 1/1 2424/100" -GPSLatitudeRef=N \
	-GPSLongitudeRaw="7/1 35/1 3156/100" -GPSLongitudeRef=E messenger_450x600.jpg
row messenger_450x600.jpg image/jpeg 600 450 51.0234 7.5921 - "2026:05:20 16:45:30" 6 Fieldgate "Testtelefon klein" - - "135 KB photo, 450x600 upright (stored 600x450, orientation 6), as messengers send it; for fieldgate bench"

{
	printf 'file\ttype\twidth\theight\tlat\tlon\talt_m\tsource\ttaken\torientation\tmake\tmodel\tserial\towner\tnote\n'
	printf '%s\n' "${rows[@]}"
} >expected.tsv

# --- check what we wrote with exiftool as an independent reader ----------------
fail=0
while IFS=$'\t' read -r file type w h lat lon alt src taken o mk md serial owner note; do
	[ "$file" = file ] && continue
	got=$(exiftool -n -s3 -f -ImageWidth -ImageHeight "$file" | paste -sd' ')
	[ "$got" = "$w $h" ] || { echo "make.sh: $file is $got, table says $w $h" >&2; fail=1; }
	if [ "$lat" != - ]; then
		got=$(exiftool -n -s3 -c '%.9f' -GPSLatitude -GPSLongitude "$file" | paste -sd' ')
		read -r glat glon <<<"$got"
		awk -v a="$glat" -v b="$lat" -v c="$glon" -v d="$lon" 'BEGIN { e = 1e-14; if ((a-b)^2 > e || (c-d)^2 > e) exit 1 }' ||
			{ echo "make.sh: $file: exiftool reads $got, table says $lat $lon" >&2; fail=1; }
	fi
done <expected.tsv
convert truncated.jpg -strip "$tmp/t.png" 2>/dev/null || true
[ -s "$tmp/t.png" ] || { echo "make.sh: truncated.jpg no longer decodes partly" >&2; fail=1; }
exit $fail
