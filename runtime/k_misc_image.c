/* k_misc_image.c - ImageDecoder: the format is sniffed from the bytes and decoded by the
 * system's codec libraries (libjpeg-turbo, libpng, libtiff, libwebp, OpenJPEG, and stb_image
 * for BMP/PNM), each optional at build time (EFFC_HAVE_*); no codec is written here.
 * Grayscale output follows Pillow's RGB -> L conversion, as ONNX's reference does. */
#include "k_misc.h"

#include <stdio.h>

/* A decoded image: 8-bit samples, `ch` interleaved channels (1 = gray, 3 = RGB). */
typedef struct Img {
  uint8_t *px; /* malloc'd */
  int64_t w, h;
  int ch;
} Img;

static inline bool img_alloc(Img *im, int64_t w, int64_t h, int ch) {
  if (w <= 0 || h <= 0 || w > (1 << 20) || h > (1 << 20)) return false;
  im->w = w;
  im->h = h;
  im->ch = ch;
  im->px = malloc((size_t)(w * h * ch));
  return im->px != NULL;
}

/* ------------------------------------------------------------------ JPEG */
#ifdef EFFC_HAVE_JPEG
#include <jpeglib.h>
#include <setjmp.h>

typedef struct JErr {
  struct jpeg_error_mgr pub;
  jmp_buf jb;
  char msg[JMSG_LENGTH_MAX];
} JErr;

static void jpeg_fail(j_common_ptr ci) {
  JErr *e = (JErr *)ci->err;
  (*ci->err->format_message)(ci, e->msg);
  longjmp(e->jb, 1);
}
static void jpeg_quiet(j_common_ptr ci) { (void)ci; }

static const char *dec_jpeg(const uint8_t *d, size_t n, Img *im) {
  static _Thread_local char msg[JMSG_LENGTH_MAX];
  struct jpeg_decompress_struct ci;
  JErr je;
  memset(&ci, 0, sizeof ci);
  ci.err = jpeg_std_error(&je.pub);
  je.pub.error_exit = jpeg_fail;
  je.pub.output_message = jpeg_quiet;
  je.msg[0] = 0;
  Img *volatile out = im;
  if (setjmp(je.jb)) {
    jpeg_destroy_decompress(&ci);
    free(out->px);
    out->px = NULL;
    snprintf(msg, sizeof msg, "%s", je.msg);
    return msg;
  }
  jpeg_create_decompress(&ci);
  jpeg_mem_src(&ci, d, (unsigned long)n);
  jpeg_read_header(&ci, TRUE);
  ci.out_color_space = ci.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&ci);
  int ch = ci.output_components;
  if ((ch != 1 && ch != 3) || !img_alloc(out, ci.output_width, ci.output_height, ch)) {
    jpeg_destroy_decompress(&ci);
    return "unsupported JPEG layout";
  }
  while (ci.output_scanline < ci.output_height) {
    JSAMPROW row = out->px + (size_t)ci.output_scanline * (size_t)out->w * (size_t)ch;
    jpeg_read_scanlines(&ci, &row, 1);
  }
  jpeg_finish_decompress(&ci);
  jpeg_destroy_decompress(&ci);
  return NULL;
}
#endif

/* ------------------------------------------------------------------ PNG */
#ifdef EFFC_HAVE_PNG
#include <png.h>

/* The classic API rather than png_image: samples as stored (no gamma handling), 16-bit
 * reduced to its high byte and alpha dropped, as Pillow does. */
typedef struct PngIn {
  const uint8_t *d;
  size_t n, pos;
  char msg[128];
} PngIn;

static void png_rd(png_structp p, png_bytep out, size_t len) {
  PngIn *m = png_get_io_ptr(p);
  if (len > m->n - m->pos) png_error(p, "read beyond end of data");
  memcpy(out, m->d + m->pos, len);
  m->pos += len;
}
static void png_fail(png_structp p, png_const_charp msg) {
  PngIn *m = png_get_error_ptr(p);
  snprintf(m->msg, sizeof m->msg, "%s", msg);
  png_longjmp(p, 1);
}
static void png_quiet(png_structp p, png_const_charp msg) { (void)p, (void)msg; }

static const char *dec_png(const uint8_t *d, size_t n, Img *im) {
  static _Thread_local char msg[128];
  PngIn m = {d, n, 0, "cannot decode the PNG image"};
  png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &m, png_fail, png_quiet);
  png_infop info = p ? png_create_info_struct(p) : NULL;
  if (!info) {
    png_destroy_read_struct(&p, NULL, NULL);
    return "libpng initialization failed";
  }
  png_bytep *volatile rows = NULL;
  Img *volatile out = im;
  if (setjmp(png_jmpbuf(p))) {
    png_destroy_read_struct(&p, &info, NULL);
    free(rows);
    free(out->px);
    out->px = NULL;
    snprintf(msg, sizeof msg, "%s", m.msg);
    return msg;
  }
  png_set_read_fn(p, &m, png_rd);
  png_read_info(p, info);
  png_set_expand(p); /* palette -> RGB, gray < 8 bits -> 8, tRNS -> alpha */
  if (png_get_bit_depth(p, info) == 16) png_set_strip_16(p);
  png_set_strip_alpha(p);
  png_set_interlace_handling(p);
  png_read_update_info(p, info);
  int ch = png_get_channels(p, info);
  png_uint_32 w = png_get_image_width(p, info), h = png_get_image_height(p, info);
  if ((ch != 1 && ch != 3) || !img_alloc(out, w, h, ch)) png_error(p, "unsupported PNG layout or size");
  rows = malloc(sizeof(png_bytep) * h);
  if (!rows) png_error(p, "out of memory");
  for (png_uint_32 y = 0; y < h; y++) rows[y] = out->px + (size_t)y * w * (size_t)ch;
  png_read_image(p, rows);
  png_read_end(p, NULL);
  png_destroy_read_struct(&p, &info, NULL);
  free(rows);
  return NULL;
}
#endif

/* ------------------------------------------------------------------ TIFF */
#ifdef EFFC_HAVE_TIFF
#include <tiffio.h>

typedef struct MemIn {
  const uint8_t *d;
  size_t n, pos;
} MemIn;

static tmsize_t tif_read(thandle_t h, void *buf, tmsize_t sz) {
  MemIn *m = (MemIn *)h;
  size_t k = m->pos < m->n ? m->n - m->pos : 0;
  if ((size_t)sz < k) k = (size_t)sz;
  memcpy(buf, m->d + m->pos, k);
  m->pos += k;
  return (tmsize_t)k;
}
static tmsize_t tif_write(thandle_t h, void *buf, tmsize_t sz) {
  (void)h, (void)buf, (void)sz;
  return 0;
}
static toff_t tif_seek(thandle_t h, toff_t off, int whence) {
  MemIn *m = (MemIn *)h;
  uint64_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->n : 0;
  m->pos = (size_t)(base + off);
  return m->pos;
}
static int tif_close(thandle_t h) {
  (void)h;
  return 0;
}
static toff_t tif_size(thandle_t h) { return ((MemIn *)h)->n; }
static int tif_map(thandle_t h, void **base, toff_t *size) {
  (void)h, (void)base, (void)size;
  return 0;
}
static void tif_unmap(thandle_t h, void *base, toff_t size) { (void)h, (void)base, (void)size; }

static const char *dec_tiff(const uint8_t *d, size_t n, Img *im) {
  MemIn m = {d, n, 0};
  TIFFSetErrorHandler(NULL);
  TIFFSetWarningHandler(NULL);
  TIFF *t = TIFFClientOpen("image", "rm", (thandle_t)&m, tif_read, tif_write, tif_seek,
                           tif_close, tif_size, tif_map, tif_unmap);
  if (!t) return "not a readable TIFF image";
  uint32_t w = 0, h = 0;
  uint16_t spp = 3;
  TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
  int ch = spp == 1 ? 1 : 3;
  uint32_t *ras = w && h && (uint64_t)w * h < (1ull << 31) ? malloc((size_t)w * h * 4) : NULL;
  const char *err = NULL;
  if (!ras || !img_alloc(im, w, h, ch)) err = "unsupported TIFF size";
  else if (!TIFFReadRGBAImageOriented(t, w, h, ras, ORIENTATION_TOPLEFT, 0)) err = "cannot decode the TIFF image";
  else
    for (size_t i = 0; i < (size_t)w * h; i++) {
      if (ch == 1) {
        im->px[i] = (uint8_t)TIFFGetR(ras[i]);
      } else {
        im->px[3 * i] = (uint8_t)TIFFGetR(ras[i]);
        im->px[3 * i + 1] = (uint8_t)TIFFGetG(ras[i]);
        im->px[3 * i + 2] = (uint8_t)TIFFGetB(ras[i]);
      }
    }
  free(ras);
  TIFFClose(t);
  if (err) {
    free(im->px);
    im->px = NULL;
  }
  return err;
}
#endif

/* ------------------------------------------------------------------ WebP */
#ifdef EFFC_HAVE_WEBP
#include <webp/decode.h>

static const char *dec_webp(const uint8_t *d, size_t n, Img *im) {
  int w = 0, h = 0;
  uint8_t *p = WebPDecodeRGB(d, n, &w, &h);
  if (!p) return "cannot decode the WebP image";
  const char *err = NULL;
  if (!img_alloc(im, w, h, 3)) err = "unsupported WebP size";
  else memcpy(im->px, p, (size_t)w * (size_t)h * 3);
  WebPFree(p);
  return err;
}
#endif

/* ------------------------------------------------------------------ JPEG 2000 */
#ifdef EFFC_HAVE_OPENJP2
#include <openjpeg.h>

typedef struct JpIn {
  const uint8_t *d;
  size_t n, pos;
} JpIn;

static OPJ_SIZE_T jp_read(void *buf, OPJ_SIZE_T nb, void *u) {
  JpIn *m = u;
  if (m->pos >= m->n) return (OPJ_SIZE_T)-1;
  size_t k = m->n - m->pos < nb ? m->n - m->pos : nb;
  memcpy(buf, m->d + m->pos, k);
  m->pos += k;
  return k;
}
static OPJ_OFF_T jp_skip(OPJ_OFF_T nb, void *u) {
  JpIn *m = u;
  if (nb < 0 || (size_t)nb > m->n - m->pos) return -1;
  m->pos += (size_t)nb;
  return nb;
}
static OPJ_BOOL jp_seek(OPJ_OFF_T nb, void *u) {
  JpIn *m = u;
  if (nb < 0 || (size_t)nb > m->n) return OPJ_FALSE;
  m->pos = (size_t)nb;
  return OPJ_TRUE;
}
static void jp_quiet(const char *msg, void *u) { (void)msg, (void)u; }

static const char *dec_jp2(const uint8_t *d, size_t n, Img *im, bool raw_codestream) {
  JpIn m = {d, n, 0};
  opj_stream_t *s = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
  opj_codec_t *cd = opj_create_decompress(raw_codestream ? OPJ_CODEC_J2K : OPJ_CODEC_JP2);
  opj_image_t *img = NULL;
  const char *err = NULL;
  if (!s || !cd) {
    err = "OpenJPEG initialization failed";
    goto done;
  }
  opj_stream_set_user_data(s, &m, NULL);
  opj_stream_set_user_data_length(s, n);
  opj_stream_set_read_function(s, jp_read);
  opj_stream_set_skip_function(s, jp_skip);
  opj_stream_set_seek_function(s, jp_seek);
  opj_set_error_handler(cd, jp_quiet, NULL);
  opj_set_warning_handler(cd, jp_quiet, NULL);
  opj_set_info_handler(cd, jp_quiet, NULL);
  opj_dparameters_t prm;
  opj_set_default_decoder_parameters(&prm);
  if (!opj_setup_decoder(cd, &prm) || !opj_read_header(s, cd, &img) || !opj_decode(cd, s, img) ||
      !opj_end_decompress(cd, s)) {
    err = "cannot decode the JPEG 2000 image";
    goto done;
  }
  int nc = (int)img->numcomps;
  if (nc < 1) {
    err = "JPEG 2000 image without components";
    goto done;
  }
  int ch = nc >= 3 ? 3 : 1;
  const opj_image_comp_t *c0 = &img->comps[0];
  for (int k = 0; k < ch; k++) {
    const opj_image_comp_t *ck = &img->comps[k];
    if (ck->w != c0->w || ck->h != c0->h || !ck->data || ck->prec < 1 || ck->prec > 31) {
      err = "subsampled or malformed JPEG 2000 components are not supported";
      goto done;
    }
  }
  if (!img_alloc(im, c0->w, c0->h, ch)) {
    err = "unsupported JPEG 2000 size";
    goto done;
  }
  for (int k = 0; k < ch; k++) {
    const opj_image_comp_t *ck = &img->comps[k];
    int64_t off = ck->sgnd ? (int64_t)1 << (ck->prec - 1) : 0;
    int64_t mx = ((int64_t)1 << ck->prec) - 1;
    for (size_t i = 0; i < (size_t)c0->w * c0->h; i++) {
      int64_t v = (int64_t)ck->data[i] + off;
      v = v < 0 ? 0 : v > mx ? mx : v;
      if (ck->prec > 8) v >>= ck->prec - 8;
      else if (ck->prec < 8) v = v * 255 / mx;
      im->px[i * (size_t)ch + (size_t)k] = (uint8_t)v;
    }
  }
done:
  if (img) opj_image_destroy(img);
  if (cd) opj_destroy_codec(cd);
  if (s) opj_stream_destroy(s);
  return err;
}
#endif

/* ------------------------------------------------------------------ BMP, PNM (stb_image) */
#ifdef EFFC_HAVE_STB
#include <stb_image.h>

static const char *dec_stb(const uint8_t *d, size_t n, Img *im) {
  if (n > 0x7fffffff) return "image too large";
  int w = 0, h = 0, ch = 0;
  if (!stbi_info_from_memory(d, (int)n, &w, &h, &ch)) return stbi_failure_reason();
  int want = ch <= 2 ? 1 : 3;
  uint8_t *p = stbi_load_from_memory(d, (int)n, &w, &h, &ch, want);
  if (!p) return stbi_failure_reason();
  const char *err = NULL;
  if (!img_alloc(im, w, h, want)) err = "unsupported image size";
  else memcpy(im->px, p, (size_t)w * (size_t)h * (size_t)want);
  stbi_image_free(p);
  return err;
}
#endif

/* ------------------------------------------------------------------ the kernel */

typedef enum { F_UNKNOWN, F_JPEG, F_PNG, F_TIFF, F_WEBP, F_JP2, F_J2K, F_BMP, F_PNM } Format;

static Format sniff(const uint8_t *d, size_t n) {
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return F_JPEG;
  if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) return F_PNG;
  if (n >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4))) return F_TIFF;
  if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return F_WEBP;
  if (n >= 12 && !memcmp(d, "\0\0\0\x0cjP  \r\n\x87\n", 12)) return F_JP2;
  if (n >= 4 && !memcmp(d, "\xff\x4f\xff\x51", 4)) return F_J2K;
  if (n >= 2 && d[0] == 'B' && d[1] == 'M') return F_BMP;
  if (n >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6') return F_PNM;
  return F_UNKNOWN;
}

static const char *decode(Format f, const uint8_t *d, size_t n, Img *im) {
  (void)d, (void)n, (void)im;
  switch (f) {
#ifdef EFFC_HAVE_JPEG
  case F_JPEG: return dec_jpeg(d, n, im);
#endif
#ifdef EFFC_HAVE_PNG
  case F_PNG: return dec_png(d, n, im);
#endif
#ifdef EFFC_HAVE_TIFF
  case F_TIFF: return dec_tiff(d, n, im);
#endif
#ifdef EFFC_HAVE_WEBP
  case F_WEBP: return dec_webp(d, n, im);
#endif
#ifdef EFFC_HAVE_OPENJP2
  case F_JP2: return dec_jp2(d, n, im, false);
  case F_J2K: return dec_jp2(d, n, im, true);
#endif
#ifdef EFFC_HAVE_STB
  case F_BMP:
  case F_PNM: return dec_stb(d, n, im);
#endif
  case F_UNKNOWN: return "unknown image format";
  default: return "this build has no decoder for the image's format";
  }
}

int rt_k_ImageDecoder(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (x->elem != ELEM_UINT8 || x->rank != 1) return rt_error(c, "input must be a 1-D uint8 tensor");
  const char *pf = rt_attr_str(c, "pixel_format", "RGB");
  int mode = !strcmp(pf, "RGB") ? 0 : !strcmp(pf, "BGR") ? 1 : !strcmp(pf, "Grayscale") ? 2 : -1;
  if (mode < 0) return rt_error(c, "unknown pixel_format '%s'", pf);
  Img im = {0};
  const char *err = decode(sniff(x->data, x->numel), x->data, (size_t)x->numel, &im);
  if (err || !im.px) {
    free(im.px);
    return rt_error(c, "%s", err ? err : "decoding failed");
  }
  int64_t dims[3] = {im.h, im.w, mode == 2 ? 1 : 3};
  RtValue *y = rt_out(c, 0, ELEM_UINT8, 3, dims);
  if (!y) {
    free(im.px);
    return -1;
  }
  uint8_t *o = y->data;
  size_t np = (size_t)(im.w * im.h);
  for (size_t i = 0; i < np; i++) {
    const uint8_t *p = im.px + i * (size_t)im.ch;
    uint8_t r = p[0], g = im.ch == 3 ? p[1] : p[0], b = im.ch == 3 ? p[2] : p[0];
    if (mode == 2) {
      /* ITU-R 601-2 luma in 16-bit fixed point, rounded (Pillow's conversion) */
      o[i] = im.ch == 1 ? r : (uint8_t)((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
    } else {
      o[3 * i] = mode == 1 ? b : r;
      o[3 * i + 1] = g;
      o[3 * i + 2] = mode == 1 ? r : b;
    }
  }
  free(im.px);
  return 0;
}
