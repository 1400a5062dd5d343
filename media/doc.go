// Package media takes in report attachments: it streams them into
// S3-compatible storage with bounded memory, reads position, time and
// orientation from EXIF, makes metadata-free team copies and hands out
// short-lived links.
//
// # Storing
//
// Put reads a body of unknown length part by part (Config.PartSize,
// default 8 MiB) into pooled buffers: up to PartsInFlight (default 2)
// parts upload while the next is read and hashed. A body that fits in one
// part is a single PUT and holds only a buffer tier of its own size
// (256 KiB … 8 MiB). Memory per upload is at most 3 parts (24 MiB; a 2 GiB
// stream measured +42 MiB RSS); MaxConcurrent uploads (default 8) bound the
// total at 192 MiB. The SHA-256 is computed once on the way in; the server
// checks it (single PUT: x-amz-checksum-sha256) or a per-part checksum
// (SHA-256 over HTTP, CRC32C over TLS) in signed headers. The type is sniffed from the
// first bytes, never taken from the client; keys are UUIDv7 under
// "orig/YYYY/MM/". A body over its type's limit, a read error or a failed
// part aborts the multipart upload and removes the key. Uploads orphaned by
// a crash are reaped by a bucket lifecycle rule (AWS S3) or the server's
// own stale-upload expiry (MinIO: 24 h; it rejects such a rule).
//
// # Reading EXIF safely
//
// goexif (unmaintained since 2019) loops forever on cyclic IFD chains,
// allocates gigabytes on overflowing tag counts and panics on bad offsets
// and zero denominators; recover() helps only with the last. So goexif
// never sees the file. Extract:
//
//  1. reads only bounded regions: the JPEG segment headers and the Exif
//     APP1 payload (≤ 64 KiB); for PNG the chunk headers (≤ 512 chunks,
//     stepping over ≤ 8 IDAT chunks, then the last 320 KiB for an eXIf
//     after the image data, as ImageMagick writes it), the eXIf chunk
//     (≤ 256 KiB) and text chunks (≤ 576 KiB read and inflated: XMP,
//     exiv2's hex "Raw profile type exif"); for WebP the RIFF chunk headers, the EXIF chunk
//     (≤ 256 KiB) and the "XMP " chunk (≤ 64 KiB); for HEIC/HEIF the meta
//     box (≤ 4 MiB) and the Exif item (≤ 256 KiB);
//  2. validates that TIFF with its own small parser: IFD0 and the Exif,
//     GPS and Interop sub-IFDs only (fixed depth, each offset visited once,
//     the IFD chain is not followed), ≤ 512 entries per IFD and 1024 in
//     all, known types only, every count × size computed in 64 bits and
//     inside the buffer, ≤ 256 KiB of values in total;
//  3. writes a canonical TIFF of just the valid entries (bad ones are
//     dropped, so one broken tag does not lose the position) and gives
//     that to goexif, whose work is then linear in a buffer we bounded;
//  4. reads values through accessors that check counts and denominators
//     (goexif's Rat panics on 0), under a recover() as a last resort.
//
// Running goexif in a subprocess with rlimits would also contain it, but
// costs a fork per photo and an extra binary to deploy; validation makes
// hangs and blow-ups impossible by construction, and FuzzExtract checks it.
// Callers store the report first and extract afterwards, so a bad photo
// never costs a report.
//
// # Team copies
//
// MakeDerivative makes the team copy with libvips (internal/vips, a thin
// cgo binding of our own): the original is read into memory (bounded by
// its type's size limit), its header checked against MaxDecodePixels
// (48 MP) before any decoding, then decoded once with shrink-on-load (the
// JPEG decoder scales the DCT by 1/2…1/8, so a 4032×3024 photo is decoded
// at 2016×1512 for the 1600 px copy), turned upright by the EXIF
// orientation that Extract validated (a JPEG's, a WebP's EXIF chunk's, a
// PNG's eXIf chunk's wherever it stands: ImageMagick writes it after the
// image data, where browsers ignore it, with the pixels as the camera
// stored them), converted to sRGB if it carries a
// colour profile, and encoded without any metadata (no EXIF, XMP, IPTC,
// ICC, comments); the thumbnail is made from the same pixels. HEIC/HEIF
// are decoded by libheif, which applies the container's rotation. A JPEG
// whose pixel data is damaged (corrupted.jpg), which libvips' own loader
// gives up on, is read again through libvips' ImageMagick loader, which
// shows it as far as it goes, as browsers do. Every other libvips loader
// is blocked. At most MaxDerivatives (default: CPUs) run at once; each
// holds the original plus about 10 MB of pixels.
//
// With Config.LosslessTeamCopy on (default off: re-encoding also disarms
// the sender's image data before it reaches the team's phones), a JPEG
// that needs no pixel work (orientation 1 or none, at most
// DerivativeMaxEdge on its longest edge, baseline or progressive Huffman,
// 8-bit YCbCr or grey, no colour profile or an sRGB one, well-formed to
// its EOI, at most 1 byte per pixel) is not decoded for its team copy:
// lossless.go's segment walker copies its entropy-coded data byte for
// byte with only the segments a decoder needs (SOI, JFIF without its
// thumbnail, DQT, DHT, DRI, SOF, SOS, EOI), as `jpegtran -copy none`
// does, and drops every other APPn (EXIF, XMP, IPTC, MPF, ICC, maker
// notes), COM and everything after EOI. Its thumbnail comes from a
// DCT-scaled libjpeg decode of that copy; any libjpeg warning there sends
// the file down the converting path. The copy decodes to exactly the
// original's pixels (no generation loss) and costs about a quarter less
// CPU for a 135 KB messenger photo (media/PERFORMANCE.md).
//
// # Access and encryption
//
// The bucket is never public (New refuses a bucket with a public policy);
// teams get presigned GET links to "team/" keys only (PresignGet), valid
// for Config.PresignTTL. Encryption "sse-s3" needs a KMS on the server,
// "sse-c" needs TLS; if the server refuses, New fails with
// ErrEncryptionUnavailable when RequireEncryption is set, else logs an
// error and stores unencrypted (Store.Encrypted says which).
// With sse-c, presigned links cannot work (the key would have to travel
// in headers), so PresignGet refuses and the API must proxy downloads.
//
// # Tests
//
// Integration tests get their S3 server from internal/testsvc.S3 (skipped
// with -short or without the variables, failing under CI=true), which has
// a KMS key so that SSE-S3 works; testsvc.OwnS3 starts one without. By hand:
//
//	MINIO_ROOT_USER=fieldgate MINIO_ROOT_PASSWORD=fieldgate-secret \
//	  MINIO_KMS_SECRET_KEY=test-key:$(openssl rand -base64 32) \
//	  minio server --address 127.0.0.1:19000 /tmp/minio-data &
//	export FIELDGATE_TEST_S3_ENDPOINT=127.0.0.1:19000 \
//	  FIELDGATE_TEST_S3_ACCESS_KEY=fieldgate FIELDGATE_TEST_S3_SECRET_KEY=fieldgate-secret
//	go test -race ./media/...
//
// Building needs libvips-dev, libyuv-dev and pkg-config (deploy/dev/services
// installs them); a server needs the runtime libraries libvips42 and libyuv0.
//
// Optional: MEDIA_TEST_S3_TLS_ENDPOINT and MEDIA_TEST_S3_TLS_CA point
// TestTLSStore at a MinIO with TLS (exercises SSE-C); MEDIA_RSS=1 runs the
// 2 GiB streaming RSS measurement. Fuzz under a memory limit:
//
//	(ulimit -v 4000000; go test -run '^$' -fuzz FuzzExtract -fuzztime 10m ./media/)
//	go test -run '^$' -fuzz FuzzLosslessJPEG -fuzztime 5m ./media/
package media
