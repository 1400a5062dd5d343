#include <malloc.h>
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

// shrink decodes at most max_edge pixels on the longest edge, without
// applying any orientation.
static int shrink(const void *buf, size_t len, VipsImage *hdr, const fg_opts *o, int to_srgb, VipsImage **out) {
	const char *profile = to_srgb ? "srgb" : NULL;
	if (o->magick)
		return vips_thumbnail_image(hdr, out, o->max_edge, "height", o->max_edge,
			"size", VIPS_SIZE_DOWN, "no_rotate", TRUE, "export_profile", profile, NULL);
	return vips_thumbnail_buffer((void *)buf, len, out, o->max_edge, "height", o->max_edge,
		"size", VIPS_SIZE_DOWN, "no_rotate", TRUE, "export_profile", profile,
		"option_string", "fail_on=none", NULL);
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

	// 2. Decode and shrink in one pass: vips_thumbnail lets the JPEG
	// decoder scale the DCT (1/2, 1/4, 1/8) and never holds the full image.
	// An embedded colour profile (Display P3 on iPhones) is converted to
	// sRGB before it is stripped; if it is broken, the pixels are taken as
	// they are.
	int icc = vips_image_get_typeof(hdr, VIPS_META_ICC_NAME) != 0;
	if (shrink(buf, len, hdr, o, icc, &t[1]) && (!icc || shrink(buf, len, hdr, o, 0, &t[1])))
		goto err;

	// 3. Decode once: the shrunk image is rendered into memory (the
	// decoder reads sequentially; rotating needs random access), and both
	// encodings are made from it.
	if (to_srgb8(t[1], &t[2]))
		goto err;
	if (!(t[3] = vips_image_copy_memory(t[2])))
		goto err;

	// 4. Upright by the orientation the caller read and validated.
	t[5] = t[3];
	g_object_ref(t[5]);
	if (o->orientation >= 2 && o->orientation <= 8) {
		VipsImage *rot = NULL;
		if (vips_copy(t[3], &t[4], NULL))
			goto err;
		vips_image_set_int(t[4], VIPS_META_ORIENTATION, o->orientation);
		if (vips_autorot(t[4], &rot, NULL))
			goto err;
		g_object_unref(t[5]);
		t[5] = vips_image_copy_memory(rot);
		g_object_unref(rot);
		if (!t[5])
			goto err;
	}
	VipsImage *full = t[5];
	r->width = full->Xsize;
	r->height = full->Ysize;
	r->png = vips_image_hasalpha(full);
	if (r->png) {
		if (vips_pngsave_buffer(full, &r->full, &r->full_len, "strip", TRUE, "compression", 3, NULL))
			goto err;
	} else if (vips_jpegsave_buffer(full, &r->full, &r->full_len, "Q", 85, "strip", TRUE,
			"optimize_coding", TRUE, NULL))
		goto err;

	if (vips_thumbnail_image(full, &t[6], o->thumb_edge, "height", o->thumb_edge,
			"size", VIPS_SIZE_DOWN, "no_rotate", TRUE, NULL))
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
