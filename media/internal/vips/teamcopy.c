#include <malloc.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <vips/vips.h>
#include <libyuv.h>
#include <jpeglib.h>
#include <lcms2.h>
#include <math.h>

#include "teamcopy.h"

static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data) {}

int fg_init(void) {
#ifdef M_ARENA_MAX
	// glibc gives every thread that mallocs an arena of its own; libvips'
	// worker threads then keep tens of MB each. Two arenas: 8 photos at
	// once measured 201 MB peak RSS instead of 339 MB (media/PERFORMANCE.md).
	mallopt(M_ARENA_MAX, 2);
	// A team copy allocates about 35 MB in buffers of up to 12 MB (12 MP
	// photo); from fresh mmaps every page faults and is zeroed again on
	// each photo. Kept in the heap (up to 64 MB free per arena before it
	// is trimmed) they are reused: 12 MP copy 96 -> 78 CPU-ms
	// (media/PERFORMANCE.md), for RSS that stays at its first peak.
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
	if (VIPS_INIT("fieldgate"))
		return -1;
	// Cached operations would hold references to the caller's buffer after
	// the call returns; team copies are never repeated anyway.
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);
	// Decoders for untrusted input: only the ones we ask for.
	vips_operation_block_set("VipsForeignLoad", TRUE);
	vips_operation_block_set("VipsForeignLoadJpeg", FALSE);
	vips_operation_block_set("VipsForeignLoadPng", FALSE);
	vips_operation_block_set("VipsForeignLoadWebp", FALSE);
	vips_operation_block_set("VipsForeignLoadHeif", FALSE);
	vips_operation_block_set("VipsForeignLoadMagickBuffer", FALSE);
	// Damaged files make libjpeg warn per scanline; the caller reports
	// the outcome once.
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, quiet, NULL);
	return 0;
}

static int fail(fg_result *r, int code) {
	r->err = vips_error_buffer_copy();
	return code;
}

// to_srgb8 makes an 8-bit sRGB (or sRGB + alpha) image.
static int to_srgb8(VipsImage *in, VipsImage **out) {
	if (in->Type == VIPS_INTERPRETATION_sRGB && in->BandFmt == VIPS_FORMAT_UCHAR)
		return vips_copy(in, out, NULL);
	return vips_colourspace(in, out, VIPS_INTERPRETATION_sRGB, NULL);
}

// jpeg_shrink is the largest JPEG shrink-on-load factor (8, 4, 2; the
// decoder scales the DCT, ITU-T T.81 §A.3.3) that still leaves at least
// max_edge pixels on the longest edge.
static int jpeg_shrink(int longest, int max_edge) {
	for (int f = 8; f > 1; f /= 2)
		if (longest / f >= max_edge)
			return f;
	return 1;
}

// decode opens the source for one forward pass, at most a JPEG-shrink
// factor above max_edge, as 8-bit sRGB (an embedded colour profile, e.g.
// Display P3 on iPhones, is converted first; a broken one is ignored),
// without applying any orientation. Nothing is decoded yet.
static int decode(const void *buf, size_t len, VipsImage *hdr, int jpeg, int shrink, VipsImage **out) {
	VipsImage *t[2] = {0};
	VipsImage *in = hdr;
	int rc = -1;
	if (jpeg) {
		if (vips_jpegload_buffer((void *)buf, len, &t[0], "shrink", shrink,
				"access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_NONE, "autorotate", FALSE, NULL))
			goto out;
		in = t[0];
	}
	if (vips_image_get_typeof(in, VIPS_META_ICC_NAME)) {
		if (vips_icc_transform(in, &t[1], "srgb", "embedded", TRUE, "intent", VIPS_INTENT_PERCEPTUAL, NULL) == 0)
			in = t[1];
		else
			vips_error_clear();
	}
	rc = to_srgb8(in, out);
out:
	for (int i = 0; i < 2; i++)
		if (t[i])
			g_object_unref(t[i]);
	return rc;
}

// Largest edge libyuv scales and rotates (its ARGBScale refuses more).
#define YUV_MAX_EDGE 32768

// presize shrinks in while it is decoded, by the integer part of the
// factor to max_edge, when that is 2 or more (sources without
// shrink-on-load: PNG, WebP, HEIC; and huge panoramas): the pixels held
// in memory stay near the team copy's size. A box filter, forward only.
static int presize(VipsImage *in, int max_edge, VipsImage **out) {
	int longest = VIPS_MAX(in->Xsize, in->Ysize);
	int k = longest / max_edge;
	// A strip thinner than k pixels (a 1×40000 PNG) keeps its short
	// edge: shrunk by k it would have none ("shrunk to nothing").
	if (k >= 2)
		return vips_shrink(in, out, VIPS_MIN(k, in->Xsize), VIPS_MIN(k, in->Ysize), NULL);
	if (longest > YUV_MAX_EDGE) // only with max_edge > 16384: not configurable
		return vips_resize(in, out, (double)max_edge / longest, NULL);
	return vips_copy(in, out, NULL);
}

// pixels is a 4-byte-per-pixel image in memory (libyuv's ARGB layout,
// whose operations here do not care which byte is which).
typedef struct {
	uint8_t *p;
	int w, h;
} pixels;

static int pixels_new(pixels *px, int w, int h) {
	px->w = w;
	px->h = h;
	px->p = g_try_malloc((size_t)w * h * 4);
	return px->p ? 0 : -1;
}

static void pixels_free(pixels *px) {
	g_free(px->p);
	px->p = NULL;
}

// scaled fits src into edge pixels (never enlarged) and applies EXIF
// orientation o (TIFF 6.0 tag 0x0112, 1..8: rotate clockwise, then mirror
// horizontally), with libyuv's SIMD code: halving with a 2×2 box filter
// while the factor is 2 or more, then a bilinear filter for the rest
// (libyuv's ARGB scaler samples only 2×2 source pixels per output pixel,
// which aliases at larger factors). For 2016×1512 → 1600×1200 about 3 ms
// each for the scale and the turn, where libvips 8.14 needs 45 ms for
// its horizontal reduce alone (media/PERFORMANCE.md).
static int scaled_to(const pixels *src, int w, int h, int o, pixels *out);

static int scaled(const pixels *src, int edge, int o, pixels *out) {
	double f = (double)VIPS_MAX(src->w, src->h) / edge;
	if (f <= 1.0)
		return scaled_to(src, src->w, src->h, o, out);
	return scaled_to(src, VIPS_MAX(1, (int)(src->w / f + 0.5)), VIPS_MAX(1, (int)(src->h / f + 0.5)), o, out);
}

// scaled_to is scaled to exactly w×h pixels (before orientation).
static int scaled_to(const pixels *src, int w, int h, int o, pixels *out) {
	static const struct {
		enum RotationMode rot;
		int mirror;
	} orient[9] = {{kRotate0, 0}, {kRotate0, 0}, {kRotate0, 1}, {kRotate180, 0}, {kRotate180, 1},
		{kRotate90, 1}, {kRotate90, 0}, {kRotate270, 1}, {kRotate270, 0}};
	pixels cur = *src, next = {0};
	int owned = 0; // cur is ours to free
	int rc = -1;
	if (o < 1 || o > 8)
		o = 1;
	while (cur.w != w || cur.h != h) {
		int half = cur.w >= 2 * w && cur.h >= 2 * h;
		if (pixels_new(&next, half ? cur.w / 2 : w, half ? cur.h / 2 : h) ||
				ARGBScale(cur.p, cur.w * 4, cur.w, cur.h, next.p, next.w * 4, next.w, next.h,
					half ? kFilterBox : kFilterBilinear))
			goto out;
		if (owned)
			pixels_free(&cur);
		cur = next, owned = 1, next = (pixels){0};
		if (!half)
			break;
	}
	if (orient[o].rot != kRotate0) {
		int quarter = orient[o].rot == kRotate90 || orient[o].rot == kRotate270;
		if (pixels_new(&next, quarter ? cur.h : cur.w, quarter ? cur.w : cur.h) ||
				ARGBRotate(cur.p, cur.w * 4, next.p, next.w * 4, cur.w, cur.h, orient[o].rot))
			goto out;
		if (owned)
			pixels_free(&cur);
		cur = next, owned = 1, next = (pixels){0};
	}
	if (orient[o].mirror || !owned) {
		if (pixels_new(&next, cur.w, cur.h))
			goto out;
		if (orient[o].mirror ? ARGBMirror(cur.p, cur.w * 4, next.p, next.w * 4, cur.w, cur.h)
				     : ARGBCopy(cur.p, cur.w * 4, next.p, next.w * 4, cur.w, cur.h))
			goto out;
		if (owned)
			pixels_free(&cur);
		cur = next, owned = 1, next = (pixels){0};
	}
	*out = cur;
	owned = 0;
	rc = 0;
out:
	if (owned)
		pixels_free(&cur);
	pixels_free(&next);
	return rc;
}

static int encode_jpeg(const pixels *px, int quality, void **buf, size_t *len);

// encode writes px as JPEG (alpha flattened on white) or, with keep_alpha,
// PNG, without any metadata. bands is the source's: 3 (px holds libyuv
// ARGB made from RGB; libjpeg encodes it directly) or 4 (px holds RGBA
// bytes; libvips flattens or writes PNG).
static int encode(const pixels *px, int bands, int keep_alpha, int quality, void **buf, size_t *len) {
	VipsImage *t[2] = {0};
	int rc = -1;
	if (bands == 3)
		return encode_jpeg(px, quality, buf, len);
	t[0] = vips_image_new_from_memory(px->p, (size_t)px->w * px->h * 4, px->w, px->h, 4, VIPS_FORMAT_UCHAR);
	if (!t[0])
		goto out;
	t[0]->Type = VIPS_INTERPRETATION_sRGB;
	VipsImage *img = t[0];
	if (bands == 4 && keep_alpha) {
		rc = vips_pngsave_buffer(img, buf, len, "strip", TRUE, "compression", 3, NULL);
		goto out;
	}
	if (bands == 4) {
		VipsArrayDouble *white = vips_array_double_newv(3, 255.0, 255.0, 255.0);
		int e = vips_flatten(img, &t[1], "background", white, NULL);
		vips_area_unref(VIPS_AREA(white));
		if (e)
			goto out;
		img = t[1];
	}
	// Baseline JPEG without optimised Huffman tables: that pass costs as
	// much as the encoding itself for a 1600 px copy.
	rc = vips_jpegsave_buffer(img, buf, len, "Q", quality, "strip", TRUE, NULL);
out:
	for (int i = 0; i < 2; i++)
		if (t[i])
			g_object_unref(t[i]);
	return rc;
}

// jpeg_error ends a libjpeg call by longjmp instead of exit(), and
// notes warnings (corrupt data) without printing them.
typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	int warned;
} jpeg_error;

static void jpeg_fail(j_common_ptr c) { longjmp(((jpeg_error *)c->err)->jump, 1); }

static void jpeg_note(j_common_ptr c, int level) {
	if (level < 0)
		((jpeg_error *)c->err)->warned = 1;
}

static void jpeg_quiet(j_common_ptr c) {}

// has_icc reports whether the JPEG carries an ICC profile (APP2
// "ICC_PROFILE", ICC.1:2010 Annex B.4); saved by jpeg_save_markers.
static int has_icc(j_decompress_ptr c) {
	for (jpeg_saved_marker_ptr m = c->marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 2 && m->data_length >= 12 && memcmp(m->data, "ICC_PROFILE", 12) == 0)
			return 1;
	return 0;
}

// is_srgb reports whether an ICC profile describes sRGB (IEC 61966-2-1),
// as many Android cameras tag their JPEGs: an RGB matrix/TRC profile
// (ICC.1:2010 §F.3) whose colorants are sRGB's (D50-adapted, within
// 0.002) and whose tone curves are sRGB's (within 1/255 at 17 points).
// Such pixels already are what the team copy needs: no conversion at all
// (libvips' conversion through Lab in floating point cost 90 CPU-ms per
// 12 MP photo, media/PERFORMANCE.md).
static int is_srgb(const void *icc, size_t len) {
	static const cmsTagSignature xyz[3] = {cmsSigRedColorantTag, cmsSigGreenColorantTag, cmsSigBlueColorantTag};
	static const cmsTagSignature trc[3] = {cmsSigRedTRCTag, cmsSigGreenTRCTag, cmsSigBlueTRCTag};
	cmsContext ctx = cmsCreateContext(NULL, NULL); // errors stay in this call
	if (!ctx)
		return 0;
	cmsHPROFILE p = cmsOpenProfileFromMemTHR(ctx, icc, len), s = cmsCreate_sRGBProfileTHR(ctx);
	int ok = p && s && cmsGetColorSpace(p) == cmsSigRgbData && cmsIsMatrixShaper(p) &&
		!cmsIsTag(p, cmsSigAToB0Tag) && !cmsIsTag(p, cmsSigAToB1Tag) && !cmsIsTag(p, cmsSigAToB2Tag);
	for (int i = 0; ok && i < 3; i++) {
		const cmsCIEXYZ *a = cmsReadTag(p, xyz[i]), *b = cmsReadTag(s, xyz[i]);
		const cmsToneCurve *ta = cmsReadTag(p, trc[i]), *tb = cmsReadTag(s, trc[i]);
		ok = a && b && ta && tb && fabs(a->X - b->X) < 0.002 && fabs(a->Y - b->Y) < 0.002 && fabs(a->Z - b->Z) < 0.002;
		for (int k = 0; ok && k <= 16; k++)
			ok = fabsf(cmsEvalToneCurveFloat(ta, k / 16.0f) - cmsEvalToneCurveFloat(tb, k / 16.0f)) < 1.0f / 255;
	}
	if (p)
		cmsCloseProfile(p);
	if (s)
		cmsCloseProfile(s);
	cmsDeleteContext(ctx);
	return ok;
}

// profile is an ICC profile to convert from (p NULL: none, the pixels
// are sRGB already).
typedef struct {
	JOCTET *p;
	unsigned int len;
} profile;

// jpeg_profile reads the JPEG's ICC profile into *prof, leaving it empty
// when there is none or it is sRGB. It returns 0 when libvips should
// decode instead: a profile that is not RGB (CMYK, grey) or that libjpeg
// cannot reassemble.
static int jpeg_profile(j_decompress_ptr c, profile *prof) {
	if (!has_icc(c))
		return 1;
	if (!jpeg_read_icc_profile(c, &prof->p, &prof->len))
		return 0;
	cmsContext ctx = cmsCreateContext(NULL, NULL);
	cmsHPROFILE p = ctx ? cmsOpenProfileFromMemTHR(ctx, prof->p, prof->len) : NULL;
	int rgb = p && cmsGetColorSpace(p) == cmsSigRgbData;
	if (p)
		cmsCloseProfile(p);
	if (ctx)
		cmsDeleteContext(ctx);
	if (!rgb || is_srgb(prof->p, prof->len)) {
		free(prof->p);
		prof->p = NULL;
	}
	return rgb;
}

// to_srgb converts px (libyuv ARGB: B, G, R, A bytes) in place from the
// profile to sRGB with lcms2 (8-bit, perceptual intent, as libvips'
// vips_icc_transform would). It runs on the scaled team copy (1600×1200:
// about 30 CPU-ms, and 4–5 ms to build the transform) rather than on the
// decoded image, and replaces libvips' conversion through Lab in floating
// point (about 90 CPU-ms for a 12 MP photo, media/PERFORMANCE.md). A
// profile lcms2 cannot use is ignored, as libvips ignores it.
static void to_srgb(pixels *px, const profile *prof) {
	cmsContext ctx = cmsCreateContext(NULL, NULL);
	if (!ctx)
		return;
	cmsHPROFILE in = cmsOpenProfileFromMemTHR(ctx, prof->p, prof->len), out = cmsCreate_sRGBProfileTHR(ctx);
	cmsHTRANSFORM t = in && out ? cmsCreateTransformTHR(ctx, in, TYPE_BGRA_8, out, TYPE_BGRA_8, INTENT_PERCEPTUAL, 0) : NULL;
	if (t) {
		for (int y = 0; y < px->h; y++) {
			uint8_t *row = px->p + (size_t)y * px->w * 4;
			cmsDoTransform(t, row, row, px->w);
		}
		cmsDeleteTransform(t);
	}
	if (in)
		cmsCloseProfile(in);
	if (out)
		cmsCloseProfile(out);
	cmsDeleteContext(ctx);
}

// decode_jpeg decodes a JPEG with libjpeg directly into libyuv's ARGB
// layout (libjpeg-turbo's JCS_EXT_BGRA), DCT-scaled (jpeg_shrink to
// edge; with ycc_only, YCbCr and grey JPEGs only), after
// checking the pixel bound on the header: the
// decode libvips' loader does, without its copies, thread hand-offs and
// colour-order conversion (45 → 38 CPU-ms for the 12 MP photo at 1/2,
// media/PERFORMANCE.md). It returns 1 with *out filled (and *prof, an RGB
// profile other than sRGB for to_srgb, if the JPEG has one), or 0 when
// libvips should decode instead: CMYK/YCCK, a profile that is not RGB,
// any warning about damaged data, or an error.
static int decode_jpeg(const void *buf, size_t len, const fg_opts *o, int edge, int ycc_only, pixels *out, profile *prof, fg_result *r) {
	// libjpeg's error handling by longjmp (its example.c): c and e live
	// in memory (their addresses are taken), the pixels in *out (the
	// caller's, zeroed), so nothing here is left indeterminate by the jump.
	struct jpeg_decompress_struct c;
	jpeg_error e;
	memset(&c, 0, sizeof(c));
	c.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = jpeg_fail;
	e.pub.emit_message = jpeg_note;
	e.pub.output_message = jpeg_quiet;
	e.warned = 0;
	if (setjmp(e.jump)) {
		jpeg_destroy_decompress(&c);
		pixels_free(out);
		free(prof->p);
		prof->p = NULL;
		return 0;
	}
	jpeg_create_decompress(&c);
	jpeg_mem_src(&c, (const unsigned char *)buf, len);
	jpeg_save_markers(&c, JPEG_APP0 + 2, 0xFFFF);
	if (jpeg_read_header(&c, TRUE) != JPEG_HEADER_OK || e.warned || !jpeg_profile(&c, prof) ||
			c.image_width == 0 || c.image_height == 0 || (double)c.image_width * c.image_height > o->max_pixels ||
			(c.jpeg_color_space != JCS_YCbCr && c.jpeg_color_space != JCS_GRAYSCALE && (ycc_only || c.jpeg_color_space != JCS_RGB)))
		longjmp(e.jump, 1);
	c.scale_num = 1;
	c.scale_denom = jpeg_shrink(VIPS_MAX(c.image_width, c.image_height), edge);
	c.out_color_space = JCS_EXT_BGRA;
	jpeg_start_decompress(&c);
	if (c.output_components != 4 || pixels_new(out, c.output_width, c.output_height))
		longjmp(e.jump, 1);
	while (c.output_scanline < c.output_height && !e.warned) {
		JSAMPROW row = out->p + (size_t)c.output_scanline * out->w * 4;
		jpeg_read_scanlines(&c, &row, 1);
	}
	if (e.warned)
		longjmp(e.jump, 1);
	jpeg_finish_decompress(&c);
	jpeg_destroy_decompress(&c);
	if (e.warned) {
		pixels_free(out);
		free(prof->p);
		prof->p = NULL;
		return 0;
	}
	r->src_width = c.image_width;
	r->src_height = c.image_height;
	r->decoded_width = c.output_width;
	r->decoded_height = c.output_height;
	return 1;
}

// encode_jpeg encodes px (libyuv ARGB: B, G, R, X bytes) with libjpeg
// directly (JCS_EXT_BGRX): baseline, 4:2:0, the given quality, no
// optimised Huffman tables (that pass costs as much as the encoding itself
// for a 1600 px copy), and no marker but JFIF's APP0: no metadata at all.
// *buf is g_malloc'd, like libvips' encoders' (fg_result_free).
static int encode_jpeg(const pixels *px, int quality, void **buf, size_t *len) {
	struct jpeg_compress_struct c;
	jpeg_error e;
	unsigned char *mem = NULL;
	unsigned long size = 0;
	memset(&c, 0, sizeof(c));
	c.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = jpeg_fail;
	e.pub.emit_message = jpeg_note;
	e.pub.output_message = jpeg_quiet;
	if (setjmp(e.jump)) {
		jpeg_destroy_compress(&c);
		free(mem);
		vips_error("fieldgate", "JPEG encoder failed");
		return -1;
	}
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &mem, &size);
	c.image_width = px->w;
	c.image_height = px->h;
	c.input_components = 4;
	c.in_color_space = JCS_EXT_BGRX;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	c.optimize_coding = FALSE;
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = px->p + (size_t)c.next_scanline * px->w * 4;
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	*buf = g_memdup2(mem, size);
	*len = size;
	free(mem);
	return 0;
}

// decode_vips decodes with libvips (every type, the lenient path, colour
// profiles) into 4 bytes per pixel: libyuv's ARGB layout made from RGB
// (*bands 3) or RGBA as it is (*bands 4). *decoded gets the size the
// loader produced (after shrink-on-load, before presize), no pixels.
static int decode_vips(const void *buf, size_t len, VipsImage *hdr, int jpeg, int shrink, int max_edge, pixels *out, pixels *decoded, int *bands) {
	VipsImage *t[2] = {0};
	uint8_t *raw = NULL;
	int rc = -1;
	if (decode(buf, len, hdr, jpeg, shrink, &t[0]) || presize(t[0], max_edge, &t[1]))
		goto out;
	*decoded = (pixels){NULL, t[0]->Xsize, t[0]->Ysize};
	*bands = t[1]->Bands;
	if (t[1]->BandFmt != VIPS_FORMAT_UCHAR || (*bands != 3 && *bands != 4)) {
		vips_error("fieldgate", "%d bands of format %d after conversion to sRGB", *bands, t[1]->BandFmt);
		goto out;
	}
	size_t size;
	if (!(raw = vips_image_write_to_memory(t[1], &size)))
		goto out;
	if (*bands == 4) {
		*out = (pixels){raw, t[1]->Xsize, t[1]->Ysize};
		raw = NULL;
	} else if (pixels_new(out, t[1]->Xsize, t[1]->Ysize) ||
			RAWToARGB(raw, out->w * 3, out->p, out->w * 4, out->w, out->h)) {
		pixels_free(out);
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < 2; i++)
		if (t[i])
			g_object_unref(t[i]);
	g_free(raw);
	return rc;
}

int fg_team_copy(const void *buf, size_t len, const fg_opts *o, fg_result *r) {
	pixels px = {0}, full = {0}, th = {0};
	profile prof = {0};
	int code = FG_ERR_UNREADABLE;
	memset(r, 0, sizeof(*r));

	// 1. Phone JPEGs: libjpeg reads the header, checks the pixel bound and
	// decodes once, shrinking on load (a 12 MP photo at 1/2 scale, never at
	// full size), into memory as 4 bytes per pixel. Neither libvips nor
	// its EXIF parser (libexif) reads them.
	VipsImage *hdr = NULL;
	int bands = 3;
	r->decoder = FG_DECODER_LIBJPEG;
	int jpeg = !o->magick && len >= 3 && memcmp(buf, "\xFF\xD8\xFF", 3) == 0;
	if (!(jpeg && decode_jpeg(buf, len, o, o->max_edge, 0, &px, &prof, r))) {
		// 2. Everything else through libvips: the header first, so that
		// the pixel bound is checked before any decoding.
		r->decoder = o->magick ? FG_DECODER_MAGICK : FG_DECODER_LIBVIPS;
		if (o->magick)
			vips_magickload_buffer((void *)buf, len, &hdr, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
		else
			hdr = vips_image_new_from_buffer(buf, len, "", "access", VIPS_ACCESS_SEQUENTIAL,
				"fail_on", VIPS_FAIL_ON_NONE, NULL);
		if (!hdr)
			return fail(r, FG_ERR_UNREADABLE);
		r->src_width = hdr->Xsize;
		r->src_height = hdr->Ysize;
		if (hdr->Xsize <= 0 || hdr->Ysize <= 0 || (double)hdr->Xsize * hdr->Ysize > o->max_pixels) {
			code = FG_ERR_TOO_LARGE;
			goto out;
		}
		const char *loader = vips_foreign_find_load_buffer(buf, len);
		jpeg = !o->magick && loader && strcmp(loader, "VipsForeignLoadJpegBuffer") == 0;
		int shrink = jpeg ? jpeg_shrink(VIPS_MAX(hdr->Xsize, hdr->Ysize), o->max_edge) : 1;
		pixels decoded = {0};
		if (decode_vips(buf, len, hdr, jpeg, shrink, o->max_edge, &px, &decoded, &bands))
			goto err;
		r->decoded_width = decoded.w;
		r->decoded_height = decoded.h;
	}

	// 3. Scaled and upright by the orientation the caller read and
	// validated; the thumbnail from the team copy's pixels.
	if (scaled(&px, o->max_edge, o->orientation, &full))
		goto err;
	if (prof.p)
		to_srgb(&full, &prof);
	if (scaled(&full, o->thumb_edge, 1, &th))
		goto err;
	pixels_free(&px);
	r->width = full.w;
	r->height = full.h;
	r->png = bands == 4;
	if (encode(&full, bands, 1, o->quality, &r->full, &r->full_len) ||
			encode(&th, bands, 0, 80, &r->thumb, &r->thumb_len))
		goto err;
	code = FG_OK;
	goto out;
err:
	if (!vips_error_buffer()[0])
		vips_error("fieldgate", "out of memory or image too large to scale");
	code = fail(r, FG_ERR_UNREADABLE);
out:
	if (hdr)
		g_object_unref(hdr);
	free(prof.p);
	pixels_free(&px);
	pixels_free(&full);
	pixels_free(&th);
	if (code != FG_OK) {
		g_free(r->full);
		g_free(r->thumb);
		r->full = r->thumb = NULL;
	}
	return code;
}

int fg_jpeg_thumbnail(const void *buf, size_t len, const fg_opts *o, fg_result *r) {
	pixels px = {0}, th = {0};
	profile prof = {0};
	int code = FG_ERR_UNREADABLE;
	memset(r, 0, sizeof(*r));
	r->decoder = FG_DECODER_LIBJPEG;
	if (len < 3 || memcmp(buf, "\xFF\xD8\xFF", 3) != 0 || !decode_jpeg(buf, len, o, o->thumb_edge, 1, &px, &prof, r)) {
		vips_error("fieldgate", "not a clean YCbCr or grey JPEG for libjpeg");
		return fail(r, FG_ERR_UNREADABLE);
	}
	// The thumbnail's size is that of the team copy's path (scaled from
	// the full-size pixels), not of the DCT-scaled ones, which round up.
	int w = r->src_width, h = r->src_height;
	double f = (double)VIPS_MAX(w, h) / o->thumb_edge;
	if (f > 1.0)
		w = VIPS_MAX(1, (int)(w / f + 0.5)), h = VIPS_MAX(1, (int)(h / f + 0.5));
	if (prof.p || scaled_to(&px, w, h, 1, &th) || encode_jpeg(&th, 80, &r->thumb, &r->thumb_len)) {
		if (!vips_error_buffer()[0])
			vips_error("fieldgate", "out of memory or colour profile left");
		code = fail(r, FG_ERR_UNREADABLE);
		goto out;
	}
	r->width = r->src_width;
	r->height = r->src_height;
	code = FG_OK;
out:
	free(prof.p);
	pixels_free(&px);
	pixels_free(&th);
	if (code != FG_OK) {
		g_free(r->thumb);
		r->thumb = NULL;
	}
	return code;
}

int fg_jpeg_pixels(const void *buf, size_t len, double max_pixels, fg_result *r) {
	pixels px = {0};
	profile prof = {0};
	fg_opts o = {.max_pixels = max_pixels};
	memset(r, 0, sizeof(*r));
	if (len < 3 || memcmp(buf, "\xFF\xD8\xFF", 3) != 0 || !decode_jpeg(buf, len, &o, 1 << 30, 0, &px, &prof, r)) {
		vips_error("fieldgate", "libjpeg cannot decode it without warnings");
		return fail(r, FG_ERR_UNREADABLE);
	}
	free(prof.p);
	r->full = px.p;
	r->full_len = (size_t)px.w * px.h * 4;
	r->width = px.w;
	r->height = px.h;
	return FG_OK;
}

int fg_is_srgb(const void *icc, size_t len) { return is_srgb(icc, len); }

void fg_result_free(fg_result *r) {
	g_free(r->full);
	g_free(r->thumb);
	g_free(r->err);
	r->full = r->thumb = NULL;
	r->err = NULL;
}
