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

// decode renders the source into memory, at most a JPEG-shrink factor
// above max_edge, as 8-bit sRGB (an embedded colour profile, e.g. Display
// P3 on iPhones, is converted first; a broken one is ignored), without
// applying any orientation. Sequential access: the decoder reads forward.
static int decode(const void *buf, size_t len, VipsImage *hdr, const fg_opts *o, VipsImage **out) {
	VipsImage *t[3] = {0};
	int rc = -1;
	int longest = VIPS_MAX(hdr->Xsize, hdr->Ysize);
	const char *loader = vips_foreign_find_load_buffer(buf, len);
	if (!o->magick && loader && strcmp(loader, "VipsForeignLoadJpegBuffer") == 0) {
		if (vips_jpegload_buffer((void *)buf, len, &t[0], "shrink", jpeg_shrink(longest, o->max_edge),
				"access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_NONE, "autorotate", FALSE, NULL))
			goto out;
	} else {
		t[0] = hdr;
		g_object_ref(hdr);
	}
	VipsImage *in = t[0];
	if (vips_image_get_typeof(in, VIPS_META_ICC_NAME)) {
		if (vips_icc_transform(in, &t[1], "srgb", "embedded", TRUE, "intent", VIPS_INTENT_PERCEPTUAL, NULL) == 0)
			in = t[1];
		else
			vips_error_clear();
	}
	if (to_srgb8(in, &t[2]))
		goto out;
	if (!(*out = vips_image_copy_memory(t[2])))
		goto out;
	rc = 0;
out:
	for (int i = 0; i < 3; i++)
		if (t[i])
			g_object_unref(t[i]);
	return rc;
}

// fit scales in down (never up) so that its longest edge is at most edge
// pixels. Triangle (linear) filter: for the last factor below 2 after
// shrink-on-load it looks the same at chat size as Lanczos3 and costs
// about half (media/PERFORMANCE.md).
static int fit(VipsImage *in, int edge, VipsImage **out) {
	int longest = VIPS_MAX(in->Xsize, in->Ysize);
	if (longest <= edge)
		return vips_copy(in, out, NULL);
	return vips_resize(in, out, (double)edge / longest, "kernel", VIPS_KERNEL_LINEAR, NULL);
}

int fg_team_copy(const void *buf, size_t len, const fg_opts *o, fg_result *r) {
	VipsImage *t[8] = {0};
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

	// 2. Decode once, shrinking on load: a 12 MP JPEG is decoded at 1/2
	// scale and never held at full size.
	if (decode(buf, len, hdr, o, &t[1]))
		goto err;

	// 3. The rest of the way to max_edge, then upright by the orientation
	// the caller read and validated; rendered once, both encodings are
	// made from it.
	if (fit(t[1], o->max_edge, &t[2]))
		goto err;
	VipsImage *sized = t[2];
	if (o->orientation >= 2 && o->orientation <= 8) {
		if (vips_copy(t[2], &t[3], NULL))
			goto err;
		vips_image_set_int(t[3], VIPS_META_ORIENTATION, o->orientation);
		if (vips_autorot(t[3], &t[4], NULL))
			goto err;
		sized = t[4];
	}
	if (!(t[5] = vips_image_copy_memory(sized)))
		goto err;
	VipsImage *full = t[5];
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

	if (fit(full, o->thumb_edge, &t[6]))
		goto err;
	VipsImage *thumb = t[6];
	if (vips_image_hasalpha(thumb)) {
		VipsArrayDouble *white = vips_array_double_newv(3, 255.0, 255.0, 255.0);
		int e = vips_flatten(thumb, &t[7], "background", white, NULL);
		vips_area_unref(VIPS_AREA(white));
		if (e)
			goto err;
		thumb = t[7];
	}
	if (vips_jpegsave_buffer(thumb, &r->thumb, &r->thumb_len, "Q", 80, "strip", TRUE, NULL))
		goto err;
	code = FG_OK;
	goto out;
err:
	code = fail(r, FG_ERR_UNREADABLE);
out:
	for (int i = 0; i < 8; i++)
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
