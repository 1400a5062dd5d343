#!/usr/bin/env bash
# make_attack8.sh writes the PNG and WebP photos of media/attack8_test.go
# (media/testdata/attack8/): a 256×192 picture of our own drawing (grey,
# red square top left, blue top right, green bottom left, the colours of
# teamcopy_test.go's markers) stored as a camera stores it for each EXIF
# orientation 1..8 (TIFF 6.0 tag 0x0112: the inverse of what a viewer
# applies), tagged by exiftool with Orientation, GPS (51.0234 N 7.5921 E),
# DateTimeOriginal 2026:05:20 10:15:00 +02:00 and a camera serial number
# the team copy must drop. WebP files are lossless and keep their EXIF in
# the RIFF "EXIF" chunk (RFC 9649 §2.7.1.5); PNG files keep it in eXIf,
# once after the image data (where ImageMagick writes it: png_o*_late.png)
# and once before it (where exiftool puts it: png_o*.png). Plus XMP-only
# variants (GPS as XMP GPSCoordinate "51,1.404N"). Needs ImageMagick with
# HEIC support, exiftool, exiv2 and python3. The expected values are in the test, stated from the tags
# written here; `exiftool -n -GPS* -Orientation -DateTimeOriginal FILE`
# shows the same.
set -euo pipefail
cd "$(dirname "$0")/attack8"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
convert -size 256x192 xc:'rgb(128,128,128)' \
	-fill 'rgb(220,20,20)' -draw 'rectangle 0,0 31,31' \
	-fill 'rgb(20,20,220)' -draw 'rectangle 224,0 255,31' \
	-fill 'rgb(20,200,20)' -draw 'rectangle 0,160 31,191' "$tmp/upright.png"
# How a camera stores the upright picture for orientation o.
store=("" "" "-flop" "-rotate 180" "-flip" "-transpose" "-rotate 270" "-transverse" "-rotate 90")
tags=(-GPSLatitude=51.0234 -GPSLatitudeRef=N -GPSLongitude=7.5921 -GPSLongitudeRef=E
	'-DateTimeOriginal=2026:05:20 10:15:00' -OffsetTimeOriginal=+02:00
	-SerialNumber=SECRET-SN-4711 -Make=Fieldgate -Model='Testkamera A8')
for o in 1 2 3 4 5 6 7 8; do
	# shellcheck disable=SC2086
	convert "$tmp/upright.png" ${store[$o]} -strip "$tmp/s$o.png"
	convert "$tmp/s$o.png" -define webp:lossless=true "webp_o$o.webp"
	exiftool -q -overwrite_original -Orientation#=$o "${tags[@]}" "webp_o$o.webp"
	cp "$tmp/s$o.png" "png_o$o.png"
	exiftool -q -overwrite_original -Orientation#=$o "${tags[@]}" "png_o$o.png"
done
# 16-bit RGB PNG (orientation 7) and lossy WebP (VP8 in a VP8X file,
# orientation 6), as editors and messengers write them.
convert "$tmp/s7.png" -depth 16 png48:png16_o7.png
exiftool -q -overwrite_original -Orientation#=7 "${tags[@]}" png16_o7.png
convert "$tmp/s6.png" -quality 90 webp_lossy_o6.webp
exiftool -q -overwrite_original -Orientation#=6 "${tags[@]}" webp_lossy_o6.webp
# exiv2 (the library of GIMP, digiKam, darktable, Shotwell) writes EXIF
# into a PNG as a zTXt "Raw profile type exif" chunk (hex), not as eXIf.
cp "$tmp/s6.png" png_exiv2_o6.png
exiv2 -M"set Exif.Image.Orientation 6" -M"set Exif.Image.Make Fieldgate" -M"set Exif.Image.Model Testkamera A8" \
	-M"set Exif.GPSInfo.GPSLatitudeRef N" -M"set Exif.GPSInfo.GPSLatitude 51/1 1/1 2424/100" \
	-M"set Exif.GPSInfo.GPSLongitudeRef E" -M"set Exif.GPSInfo.GPSLongitude 7/1 35/1 3156/100" \
	-M"set Exif.Photo.DateTimeOriginal 2026:05:20 10:15:00" -M"set Exif.Photo.OffsetTimeOriginal +02:00" \
	-M"set Exif.Photo.BodySerialNumber SECRET-SN-4711" png_exiv2_o6.png
# ImageMagick carries EXIF into a PNG as an eXIf chunk after IDAT.
convert "$tmp/s6.png" "$tmp/s6.jpg"
exiftool -q -overwrite_original -Orientation#=6 "${tags[@]}" "$tmp/s6.jpg"
convert "$tmp/s6.jpg" -define png:exclude-chunks=date,time png_o6_late.png
# XMP only (no EXIF): GPS as XMP GPSCoordinate, orientation as tiff:Orientation.
convert "$tmp/s6.png" -define webp:lossless=true xmp_o6.webp
exiftool -q -overwrite_original -XMP-exif:GPSLatitude=51.0234 -XMP-exif:GPSLongitude=7.5921 \
	-XMP-tiff:Orientation#=6 xmp_o6.webp
cp "$tmp/s6.png" xmp_o6.png
exiftool -q -overwrite_original -XMP-exif:GPSLatitude=51.0234 -XMP-exif:GPSLongitude=7.5921 \
	-XMP-tiff:Orientation#=6 xmp_o6.png
# HEIC (ISO/IEC 23008-12): the HEIF rule is that the transformative
# properties (irot, imir) say how to show the picture and the EXIF
# orientation inside is informative only (§6.5.10 note; iPhones write
# both, consistent). heif_props.py adds the properties ImageMagick does
# not write. heic_irot3.heic: stored as for orientation 6, irot 3 (270°
# anti-clockwise = 90° clockwise); heic_irot3_exif6.heic the same with
# EXIF orientation 6 and GPS (must not be turned twice);
# heic_imir1.heic: stored mirrored left-right, imir 1;
# heic_imir0.heic: stored mirrored top-bottom, imir 0;
# heic_exif6_only.heic: stored as for orientation 6, EXIF orientation 6,
# no irot: HEIF readers show it as stored.
convert "$tmp/s6.png" -quality 90 "$tmp/s6.heic"
../heif_props.py "$tmp/s6.heic" heic_irot3.heic irot:3
../heif_props.py "$tmp/s6.heic" heic_irot3_exif6.heic irot:3
exiftool -q -overwrite_original -Orientation#=6 "${tags[@]}" heic_irot3_exif6.heic
convert "$tmp/s2.png" -quality 90 "$tmp/s2.heic"
../heif_props.py "$tmp/s2.heic" heic_imir1.heic imir:1
convert "$tmp/s4.png" -quality 90 "$tmp/s4.heic"
../heif_props.py "$tmp/s4.heic" heic_imir0.heic imir:0
cp "$tmp/s6.heic" heic_exif6_only.heic
exiftool -q -overwrite_original -Orientation#=6 heic_exif6_only.heic
# heic_grid.heic: the primary image a 2×2 'grid' of 128×96 HEVC tiles
# (ISO/IEC 23008-12 §6.6.2.3), as iPhones store every photo, with EXIF GPS.
for g in 0+0 128+0 0+96 128+96; do
	convert png_o1.png -crop "128x96+$g" +repage -strip -quality 90 "$tmp/t_$g.heic"
done
../heif_grid.py heic_grid.heic 2 2 "$tmp/t_0+0.heic" "$tmp/t_128+0.heic" "$tmp/t_0+96.heic" "$tmp/t_128+96.heic"
exiftool -q -overwrite_original "${tags[@]}" heic_grid.heic
ls -l
