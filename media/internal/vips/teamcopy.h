#ifndef FIELDGATE_TEAMCOPY_H
#define FIELDGATE_TEAMCOPY_H

#include <stddef.h>

// fg_init starts libvips once: no operation cache (it would keep
// references to caller buffers), every loader blocked except the ones we
// use. Returns 0 on success.
int fg_init(void);

typedef struct {
	int max_edge;      // longest edge of the team copy
	int thumb_edge;    // longest edge of the thumbnail
	double max_pixels; // refuse sources with more pixels (before decoding)
	int orientation;   // EXIF orientation 1..8 to apply; 0 or 1: none
	int magick;        // load with ImageMagick (lenient damaged-JPEG path)
	int quality;       // JPEG quality of the team copy, 1..100
} fg_opts;

typedef struct {
	void *full;
	size_t full_len;
	void *thumb;
	size_t thumb_len;
	int png;                     // team copy is PNG (source has alpha)
	int width, height;           // of the team copy
	int src_width, src_height;   // of the source, as stored
	int decoded_width, decoded_height; // of the pixels the decoder produced (shrink-on-load)
	int decoder;                 // FG_DECODER_*: which decoder read the pixels
	char *err;                   // set on failure; free with g_free
} fg_result;

// Decoders of fg_result.decoder.
enum { FG_DECODER_LIBJPEG = 1, FG_DECODER_LIBVIPS = 2, FG_DECODER_MAGICK = 3 };

// Return codes of fg_team_copy.
enum { FG_OK = 0, FG_ERR_UNREADABLE = 1, FG_ERR_TOO_LARGE = 2 };

// fg_team_copy decodes buf once (shrink-on-load), scales it, applies the
// orientation and encodes the team copy and its thumbnail without any
// metadata. buf is only read during the call.
int fg_team_copy(const void *buf, size_t len, const fg_opts *o, fg_result *r);

// fg_jpeg_thumbnail makes only the thumbnail (r->thumb) of a JPEG whose
// team copy is the file itself: libjpeg decodes it DCT-scaled to about
// thumb_edge. Any libjpeg warning or error, a colour space other than
// YCbCr or grey, a colour profile or more than max_pixels is
// FG_ERR_UNREADABLE. r->width, r->height are the source's.
int fg_jpeg_thumbnail(const void *buf, size_t len, const fg_opts *o, fg_result *r);

// fg_jpeg_pixels decodes a JPEG with libjpeg at full size into
// r->full (B, G, R, A bytes per pixel, r->width × r->height); a warning,
// error or more than max_pixels is FG_ERR_UNREADABLE.
int fg_jpeg_pixels(const void *buf, size_t len, double max_pixels, fg_result *r);

// fg_is_srgb reports whether an ICC profile describes sRGB (1) or not (0).
int fg_is_srgb(const void *icc, size_t len);

void fg_result_free(fg_result *r);

#endif
