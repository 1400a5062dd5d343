package media

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"time"
)

// Content types this package can recognise by sniffing.
const (
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
	TypeHEIC = "image/heic"
	TypeHEIF = "image/heif"
	TypeWebP = "image/webp"
	TypePDF  = "application/pdf"
	TypeMP4  = "video/mp4"
	TypeMOV  = "video/quicktime" // recognised but not allowed by default
)

const (
	// DefaultPartSize is the multipart part size. An upload holds at most
	// PartsInFlight+1 parts (default 3: 24 MiB), so the default 8
	// concurrent uploads stay within 192 MiB of buffers. Objects
	// may reach 10,000 parts × 8 MiB ≈ 78 GiB (S3's part-count limit), far
	// above the 8 GiB MP4 default; S3's minimum part is 5 MiB; at 8 MiB the
	// per-part request (one signed HTTP round trip) costs a few percent at
	// most. minio-go's own default for unknown sizes would buffer ~550 MiB.
	DefaultPartSize int64 = 8 << 20
	// DefaultPartsInFlight overlaps reading one part with sending two; one
	// in flight measured 0.77× a raw sized PutObject for 200 MB, two 0.96×.
	DefaultPartsInFlight = 2
	// DefaultMaxConcurrent caps simultaneous uploads (and so buffer memory).
	DefaultMaxConcurrent = 8
	// DefaultPresignTTL is the lifetime of presigned GET links.
	DefaultPresignTTL = 15 * time.Minute
	// DefaultDerivativeMaxEdge is the longest edge of the team copy in
	// pixels. 1600 lets the JPEG decoder scale a 4032×3024 phone photo by
	// 1/2 while decoding (at 2048 it would have to decode all 12 MP); the
	// last step, 2016 → 1600, costs about 3 CPU-ms (libyuv). 2016 is no
	// cheaper (a larger encode) and makes copies 2.1 times larger; 1008
	// saves a third of the CPU at a quarter of the resolution
	// (media/PERFORMANCE.md).
	DefaultDerivativeMaxEdge = 1600
	// DefaultTeamCopyQuality is the team copy's JPEG quality.
	DefaultTeamCopyQuality = 80
	// DefaultThumbMaxEdge is the longest edge of the chat thumbnail.
	DefaultThumbMaxEdge = 320
	// DefaultMaxDecodePixels refuses to decode images larger than this
	// (decompression bombs); 48 MP covers current phone cameras.
	DefaultMaxDecodePixels = 48_000_000

	minPartSize  int64 = 5 << 20
	maxPartSize  int64 = 5 << 30
	maxPartCount       = 10000
)

// TypeRule allows one content type up to MaxBytes.
type TypeRule struct {
	ContentType string
	MaxBytes    int64
}

// DefaultTypes is the allow-list used when Config.Types is nil.
func DefaultTypes() []TypeRule {
	return []TypeRule{
		{TypeJPEG, 50 << 20},
		{TypePNG, 50 << 20},
		{TypeHEIC, 50 << 20},
		{TypeHEIF, 50 << 20},
		{TypeWebP, 50 << 20},
		{TypePDF, 100 << 20},
		{TypeMP4, 8 << 30},
	}
}

// Config configures a Store. Zero values get the documented defaults.
type Config struct {
	Endpoint, AccessKey, SecretKey, Bucket, Region string
	UseTLS                                         bool
	// PartSize is the multipart part size (default DefaultPartSize, min
	// 5 MiB); each upload buffers up to two parts.
	PartSize int64
	// MaxConcurrent caps concurrent uploads (default DefaultMaxConcurrent).
	MaxConcurrent int
	// PartsInFlight is how many parts of one upload are sent at once while
	// the next is read (default DefaultPartsInFlight). An upload buffers
	// up to PartsInFlight+1 parts.
	PartsInFlight int
	// Types is the allow-list with per-type limits; nil means DefaultTypes().
	Types []TypeRule
	// PresignTTL is the lifetime of presigned URLs to team copies, the
	// links posted into team rooms (default 15m, max 7 days).
	PresignTTL time.Duration
	// OriginalTTL is the lifetime of links to originals, handed out by the
	// API only (default DefaultOriginalTTL, 5m; max 7 days).
	OriginalTTL time.Duration
	// Encryption is "" (none), "sse-s3" or "sse-c". If the server does not
	// support it, New fails with ErrEncryptionUnavailable if
	// RequireEncryption is set (fieldgate's default), else logs an error
	// and stores unencrypted.
	Encryption        string
	RequireEncryption bool
	// SSECKey is the base64 of a 32-byte key for "sse-c"; load it from the
	// environment or a file, never from the YAML file.
	SSECKey string
	// DerivativeMaxEdge, ThumbMaxEdge, MaxDecodePixels bound the team copy
	// (pixels; defaults 1600, 320, 48 MP).
	DerivativeMaxEdge, ThumbMaxEdge, MaxDecodePixels int
	// TeamCopyQuality is the team copy's JPEG quality, 1..100 (default 80).
	TeamCopyQuality int
	// LosslessTeamCopy (default off): an upright sRGB JPEG within the edge,
	// saved at up to TeamCopyQuality + 10, is copied losslessly instead of
	// re-encoded, its metadata dropped (lossless.go; about 1.5 CPU-ms less
	// per messenger photo). Off by default because re-encoding also
	// disarms the photo: with it on, the sender's entropy-coded data
	// reaches every team member's phone byte for byte, checked only by
	// libjpeg decoding it without a warning.
	LosslessTeamCopy bool
	// MaxDerivatives caps team copies made at once (each is CPU-bound and
	// holds the original plus about 10 MB of pixels). Default: the number
	// of CPUs.
	MaxDerivatives int
	// Now is the clock (default time.Now); it dates object keys.
	Now func() time.Time
	// Transport is the HTTP transport to S3 (default: minio-go's), e.g. to
	// trust a private CA.
	Transport http.RoundTripper
}

// withDefaults returns a copy with defaults filled in, or an error if invalid.
func (c Config) withDefaults() (Config, error) {
	c.PartSize = cmp.Or(c.PartSize, DefaultPartSize)
	c.MaxConcurrent = cmp.Or(c.MaxConcurrent, DefaultMaxConcurrent)
	c.PartsInFlight = cmp.Or(c.PartsInFlight, DefaultPartsInFlight)
	c.PresignTTL = cmp.Or(c.PresignTTL, DefaultPresignTTL)
	c.DerivativeMaxEdge = cmp.Or(c.DerivativeMaxEdge, DefaultDerivativeMaxEdge)
	c.ThumbMaxEdge = cmp.Or(c.ThumbMaxEdge, DefaultThumbMaxEdge)
	c.MaxDecodePixels = cmp.Or(c.MaxDecodePixels, DefaultMaxDecodePixels)
	c.TeamCopyQuality = cmp.Or(c.TeamCopyQuality, DefaultTeamCopyQuality)
	c.MaxDerivatives = cmp.Or(c.MaxDerivatives, runtime.NumCPU())
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Types == nil {
		c.Types = DefaultTypes()
	}
	switch {
	case c.Endpoint == "":
		return c, fmt.Errorf("media: config: endpoint is empty")
	case c.Bucket == "":
		return c, fmt.Errorf("media: config: bucket is empty")
	case c.PartSize < minPartSize || c.PartSize > maxPartSize:
		return c, fmt.Errorf("media: config: part size %d outside [5 MiB, 5 GiB]", c.PartSize)
	case c.MaxConcurrent < 0:
		return c, fmt.Errorf("media: config: max concurrent %d < 0", c.MaxConcurrent)
	case c.PartsInFlight < 1 || c.PartsInFlight > 16:
		return c, fmt.Errorf("media: config: parts in flight %d outside [1, 16]", c.PartsInFlight)
	case c.PresignTTL < time.Second || c.PresignTTL > 7*24*time.Hour:
		return c, fmt.Errorf("media: config: presign TTL %v outside [1s, 7d]", c.PresignTTL)
	case c.DerivativeMaxEdge < 160 || c.DerivativeMaxEdge > 8192:
		return c, fmt.Errorf("media: config: team copy edge %d px outside [160, 8192]", c.DerivativeMaxEdge)
	case c.ThumbMaxEdge < 32 || c.ThumbMaxEdge > c.DerivativeMaxEdge:
		return c, fmt.Errorf("media: config: thumbnail edge %d px outside [32, team copy edge]", c.ThumbMaxEdge)
	case c.TeamCopyQuality < 1 || c.TeamCopyQuality > 100:
		return c, fmt.Errorf("media: config: team copy quality %d outside [1, 100]", c.TeamCopyQuality)
	}
	for _, t := range c.Types {
		if t.MaxBytes <= 0 {
			return c, fmt.Errorf("media: config: type %q: max bytes must be > 0", t.ContentType)
		}
		if t.MaxBytes > c.PartSize*maxPartCount {
			return c, fmt.Errorf("media: config: type %q: max bytes %d exceeds %d parts of %d bytes",
				t.ContentType, t.MaxBytes, maxPartCount, c.PartSize)
		}
	}
	switch c.Encryption {
	case "", "sse-s3":
	case "sse-c":
		k, err := base64.StdEncoding.DecodeString(c.SSECKey)
		if err != nil || len(k) != 32 {
			return c, errors.New("media: config: sse-c needs SSECKey, the base64 of a 32-byte key")
		}
	default:
		return c, fmt.Errorf("media: config: encryption %q: want \"\", \"sse-s3\" or \"sse-c\"", c.Encryption)
	}
	return c, nil
}

// Limit returns the size limit for contentType under rules, and whether the
// type is allowed at all.
func Limit(rules []TypeRule, contentType string) (int64, bool) {
	for _, r := range rules {
		if r.ContentType == contentType {
			return r.MaxBytes, true
		}
	}
	return 0, false
}
