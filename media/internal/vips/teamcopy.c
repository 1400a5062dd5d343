#include <malloc.h>
#include <string.h>
#include <vips/vips.h>

#include "teamcopy.h"

static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data) {}

int fg_init(void) {
#ifdef M_ARENA_MAX
	// glibc gives every thread that mallocs an arena of its own; libvips'
	// worker threads then keep tens of MB each. Two arenas: 8 photos at
	// once measured 201 MB peak RSS instead of 339 MB (media/PERFORMANCE.md).
	mallopt(M_ARENA_MAX, 2);
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
// without applying any orientation. Nothing is rendered yet: the first
// resize runs while the decoder reads (sequential access), so the decoded
// image is never held in memory whole.
static int decode(const void *buf, size_t len, VipsImage *hdr, const fg_opts *o, VipsImage **out) {
	VipsImage *t[2] = {0};
	VipsImage *in = hdr;
	int rc = -1;
	int longest = VIPS_MAX(hdr->Xsize, hdr->Ysize);
	const char *loader = vips_foreign_find_load_buffer(buf, len);
	if (!o->magick && loader && strcmp(loader, "VipsForeignLoadJpegBuffer") == 0) {
		if (vips_jpegload_buffer((void *)buf, len, &t[0], "shrink", jpeg_shrink(longest, o->max_edge),
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

// vshrink scales in vertically to exactly height rows with a triangle
// (linear) filter, after a box shrink by the integer part of the factor
// beyond 8 (which bounds the filter's taps). Only vertical: libvips 8.14
// reduces vertically with vector code (orc) and horizontally with scalar
// code, 5 against 45 CPU-ms for 2016×1512 → 1600×1200, and its box
// shrinks are slower than the vector reduce below a factor of 8
// (media/PERFORMANCE.md); so the caller transposes instead of reducing
// horizontally. Reads its input forward only.
static int vshrink(VipsImage *in, int height, VipsImage **out) {
	VipsImage *box = NULL;
	if (in->Ysize <= height)
		return vips_copy(in, out, NULL);
	int k = (int)((double)in->Ysize / height / 8.0);
	if (k >= 2) {
		if (vips_shrinkv(in, &box, k, NULL))
			return -1;
		in = box;
	}
	int rc = in->Ysize <= height ? vips_copy(in, out, NULL)
		: vips_reducev(in, out, (double)in->Ysize / height, "kernel", VIPS_KERNEL_LINEAR, NULL);
	if (box)
		g_object_unref(box);
	return rc;
}

// turned is the EXIF orientation that makes upright an image already
// rotated 90° clockwise from the stored one (TIFF 6.0 tag 0x0112; index:
// the stored image's orientation): A[turned[o]] = A[o] · rot270.
static const int turned[9] = {0, 8, 7, 6, 5, 2, 1, 4, 3};

// orient applies EXIF orientation o (1..8) to in, lazily; in must allow
// random access (in memory).
static int orient(VipsImage *in, int o, VipsImage **out) {
	VipsImage *tagged = NULL;
	if (o < 2 || o > 8)
		return vips_copy(in, out, NULL);
	if (vips_copy(in, &tagged, NULL))
		return -1;
	vips_image_set_int(tagged, VIPS_META_ORIENTATION, o);
	int rc = vips_autorot(tagged, out, NULL);
	g_object_unref(tagged);
	return rc;
}

// fit renders in into memory with its longest edge at most edge pixels
// (never enlarged), stored orientation unchanged except that it may come
// out turned 90° clockwise; *o is updated to the orientation that makes
// the result upright. Scaling is vertical, transpose, vertical again: see
// vshrink.
static VipsImage *fit(VipsImage *in, int edge, int *o) {
	VipsImage *t[3] = {0}, *res = NULL;
	double f = (double)VIPS_MAX(in->Xsize, in->Ysize) / edge;
	if (f <= 1.0)
		return vips_image_copy_memory(in);
	int w = VIPS_MAX(1, (int)(in->Xsize / f + 0.5)), h = VIPS_MAX(1, (int)(in->Ysize / f + 0.5));
	if (vshrink(in, h, &t[0]) || !(t[1] = vips_image_copy_memory(t[0])) ||
			vips_rot(t[1], &t[2], VIPS_ANGLE_D90, NULL))
		goto out;
	VipsImage *v = NULL;
	if (vshrink(t[2], w, &v))
		goto out;
	res = vips_image_copy_memory(v);
	g_object_unref(v);
	if (res)
		*o = turned[*o >= 1 && *o <= 8 ? *o : 1];
out:
	for (int i = 0; i < 3; i++)
		if (t[i])
			g_object_unref(t[i]);
	return res;
}

int fg_team_copy(const void *buf, size_t len, const fg_opts *o, fg_result *r) {
	VipsImage *t[7] = {0};
	int code = FG_ERR_UNREADABLE;
	memset(r, 0, sizeof(*r));

	// 1. Header only: the pixel bound is checked before any decoding.
	VipsImage *hdr = NULL;
	if (o->magick)
		vips_magickload_buffer((void *)buf, len, &hdr, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
	else
		hdr = vips_image_new_from_buffer(buf, len, "", "access", VIPS_ACCESS_SEQUENTIAL,
			"fail_on", VIPS_FAIL_ON_NONE, NULL);
	if (!hdr)
		return fail(r, FG_ERR_UNREADABLE);
	t[0] = hdr;
	r->src_width = hdr->Xsize;
	r->src_height = hdr->Ysize;
	if (hdr->Xsize <= 0 || hdr->Ysize <= 0 || (double)hdr->Xsize * hdr->Ysize > o->max_pixels) {
		code = FG_ERR_TOO_LARGE;
		goto out;
	}

	// 2. One forward pass of the decoder, shrinking on load (a 12 MP JPEG
	// is decoded at 1/2 scale), straight into the first resize; the
	// result, at most max_edge, is the only full image held in memory.
	int orientation = o->orientation;
	if (decode(buf, len, hdr, o, &t[1]) || !(t[2] = fit(t[1], o->max_edge, &orientation)))
		goto err;
	VipsImage *sized = t[2];

	// 3. Upright by the orientation the caller read and validated (lazy:
	// computed while encoding), then both encodings from the same pixels.
	if (orient(sized, orientation, &t[3]))
		goto err;
	VipsImage *full = t[3];
	r->width = full->Xsize;
	r->height = full->Ysize;
	r->png = vips_image_hasalpha(full);
	// Baseline JPEG without optimised Huffman tables: that pass costs as
	// much as the encoding itself for a 1600 px copy.
	if (r->png) {
		if (vips_pngsave_buffer(full, &r->full, &r->full_len, "strip", TRUE, "compression", 3, NULL))
			goto err;
	} else if (vips_jpegsave_buffer(full, &r->full, &r->full_len, "Q", o->quality, "strip", TRUE, NULL))
		goto err;

	// 4. The thumbnail from the team copy's pixels before orientation
	// (turning the small image is cheaper than reading the turned large
	// one again), scaled the same way.
	int thumb_orientation = orientation;
	if (!(t[4] = fit(sized, o->thumb_edge, &thumb_orientation)) || orient(t[4], thumb_orientation, &t[5]))
		goto err;
	VipsImage *th = t[5];
	if (vips_image_hasalpha(th)) {
		VipsArrayDouble *white = vips_array_double_newv(3, 255.0, 255.0, 255.0);
		int e = vips_flatten(th, &t[6], "background", white, NULL);
		vips_area_unref(VIPS_AREA(white));
		if (e)
			goto err;
		th = t[6];
	}
	if (vips_jpegsave_buffer(th, &r->thumb, &r->thumb_len, "Q", 80, "strip", TRUE, NULL))
		goto err;
	code = FG_OK;
	goto out;
err:
	code = fail(r, FG_ERR_UNREADABLE);
out:
	for (int i = 0; i < 7; i++)
		if (t[i])
			g_object_unref(t[i]);
	if (code != FG_OK) {
		g_free(r->full);
		g_free(r->thumb);
		r->full = r->thumb = NULL;
	}
	return code;
}

void fg_result_free(fg_result *r) {
	g_free(r->full);
	g_free(r->thumb);
	g_free(r->err);
	r->full = r->thumb = NULL;
	r->err = NULL;
}
