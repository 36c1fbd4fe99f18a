#include "png_decode.h"
#include <libdeflate.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* The whole image is inflated into one buffer; bigger images go to sharp, which streams. */
#define NATIVE_MAX_PIXELS (1u << 25)

static const unsigned char SIGNATURE[8] = {137, 80, 78, 71, 13, 10, 26, 10};

static uint32_t be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static int fail(PngImage *image, const char *code, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(image->message, sizeof image->message, format, args);
  va_end(args);
  image->code = code;
  return -1;
}

static int is_type(const unsigned char *type, const char *name) { return memcmp(type, name, 4) == 0; }

static int read_header(const unsigned char *body, double max_pixels, PngImage *image) {
  uint32_t width = be32(body), height = be32(body + 4);
  unsigned depth = body[8], colour = body[9], compression = body[10], filter = body[11], interlace = body[12];
  if (width == 0 || height == 0 || width > 0x7fffffff || height > 0x7fffffff) return fail(image, "corrupt", "png: bad size %ux%u", width, height);
  if (compression != 0 || filter != 0 || interlace > 1) return fail(image, "corrupt", "png: bad IHDR method fields");
  if ((double)width * (double)height > max_pixels) return fail(image, "too_large", "png: %ux%u pixels is over the limit", width, height);
  if ((double)width * (double)height > NATIVE_MAX_PIXELS) return fail(image, "unsupported", "png: %ux%u is left to the streaming decoder", width, height);
  if (depth != 8) return fail(image, "unsupported", "png: bit depth %u", depth);
  if (colour != 0 && colour != 2) return fail(image, "unsupported", "png: colour type %u", colour);
  if (interlace != 0) return fail(image, "unsupported", "png: interlaced");
  image->width = width;
  image->height = height;
  image->channels = colour == 2 ? 3 : 1;
  image->row_bytes = (size_t)width * image->channels;
  return 0;
}

/* Walks the chunks once: checks lengths and CRCs, reads IHDR, finds the IDAT run and sums its size. */
static int scan_chunks(const unsigned char *png, size_t length, double max_pixels, PngImage *image,
                       size_t *idat_start, size_t *idat_end, size_t *idat_bytes, size_t *idat_chunks) {
  size_t at = 8;
  int seen_header = 0, idat_state = 0; /* 0 none yet, 1 inside the run, 2 after it */
  for (;;) {
    if (length - at < 12) return fail(image, "corrupt", "png: truncated before IEND");
    uint32_t size = be32(png + at);
    const unsigned char *type = png + at + 4;
    if (size > 0x7fffffff || size > length - at - 12) return fail(image, "corrupt", "png: truncated %.4s chunk", (const char *)type);
    if (libdeflate_crc32(0, type, (size_t)size + 4) != be32(png + at + 8 + size)) return fail(image, "corrupt", "png: CRC mismatch in %.4s", (const char *)type);
    const unsigned char *body = type + 4;
    if (!seen_header) {
      if (!is_type(type, "IHDR") || size != 13) return fail(image, "corrupt", "png: IHDR is not the first chunk");
      if (read_header(body, max_pixels, image) != 0) return -1;
      seen_header = 1;
    } else if (is_type(type, "IDAT")) {
      if (idat_state == 2) return fail(image, "corrupt", "png: IDAT chunks are not consecutive");
      if (idat_state == 0) *idat_start = at;
      idat_state = 1;
      *idat_bytes += size;
      *idat_chunks += 1;
      *idat_end = at + 12 + size;
    } else if (is_type(type, "IEND")) {
      if (idat_state == 0) return fail(image, "corrupt", "png: no IDAT before IEND");
      return 0;
    } else {
      if (idat_state == 1) idat_state = 2;
      /* eXIf: sharp applies its orientation, which this path does not. */
      if (is_type(type, "iCCP") || is_type(type, "tRNS") || is_type(type, "cICP") || is_type(type, "eXIf") || is_type(type, "IHDR"))
        return fail(image, "unsupported", "png: %.4s chunk is left to sharp", (const char *)type);
      if (!(type[0] & 0x20) && !is_type(type, "PLTE")) return fail(image, "unsupported", "png: unknown critical chunk %.4s", (const char *)type);
      if (is_type(type, "PLTE") && image->channels == 1) return fail(image, "corrupt", "png: PLTE in a grey image");
    }
    at += 12 + (size_t)size;
  }
}

static inline unsigned char paeth(int a, int b, int c) {
  int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
  if (pa <= pb && pa <= pc) return (unsigned char)a;
  return (unsigned char)(pb <= pc ? b : c);
}

#ifdef __SSE2__
static inline __m128i load_pixel3(const unsigned char *p) {
  uint32_t v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16);
  return _mm_unpacklo_epi8(_mm_cvtsi32_si128((int)v), _mm_setzero_si128());
}

/* Paeth for 3-byte pixels, one pixel per step in 16-bit lanes: branch-free, so photos do not pay for mispredictions. */
static void paeth_row3(unsigned char *row, const unsigned char *previous, size_t n) {
  __m128i zero = _mm_setzero_si128();
  __m128i left = zero, upper_left = zero;
  for (size_t i = 0; i + 3 <= n; i += 3) {
    __m128i up = load_pixel3(previous + i);
    __m128i value = load_pixel3(row + i);
    __m128i p = _mm_sub_epi16(up, upper_left);
    __m128i q = _mm_sub_epi16(left, upper_left);
    __m128i pa = _mm_max_epi16(p, _mm_sub_epi16(zero, p));
    __m128i pb = _mm_max_epi16(q, _mm_sub_epi16(zero, q));
    __m128i sum = _mm_add_epi16(p, q);
    __m128i pc = _mm_max_epi16(sum, _mm_sub_epi16(zero, sum));
    __m128i smallest = _mm_min_epi16(pa, _mm_min_epi16(pb, pc));
    __m128i use_b = _mm_cmpeq_epi16(pb, smallest);
    __m128i use_a = _mm_cmpeq_epi16(pa, smallest);
    __m128i nearest = _mm_or_si128(_mm_and_si128(use_b, up), _mm_andnot_si128(use_b, upper_left));
    nearest = _mm_or_si128(_mm_and_si128(use_a, left), _mm_andnot_si128(use_a, nearest));
    left = _mm_and_si128(_mm_add_epi16(value, nearest), _mm_set1_epi16(0xff));
    uint32_t packed = (uint32_t)_mm_cvtsi128_si32(_mm_packus_epi16(left, zero));
    row[i] = (unsigned char)packed;
    row[i + 1] = (unsigned char)(packed >> 8);
    row[i + 2] = (unsigned char)(packed >> 16);
    upper_left = up;
  }
}
#endif

static void paeth_row(unsigned char *row, const unsigned char *previous, size_t n, size_t bpp) {
#ifdef __SSE2__
  if (bpp == 3) {
    paeth_row3(row, previous, n);
    return;
  }
#endif
  for (size_t i = 0; i < bpp; i++) row[i] = (unsigned char)(row[i] + previous[i]);
  for (size_t i = bpp; i < n; i++) row[i] = (unsigned char)(row[i] + paeth(row[i - bpp], previous[i], previous[i - bpp]));
}

static int unfilter(PngImage *image) {
  size_t n = image->row_bytes;
  size_t bpp = image->channels;
  const unsigned char *previous = NULL;
  for (uint32_t y = 0; y < image->height; y++) {
    unsigned char *row = png_row(image, y);
    unsigned filter = row[-1];
    if (previous == NULL && (filter == 2 || filter == 4)) filter = filter == 2 ? 0 : 1; /* the row above is all zeros */
    switch (filter) {
      case 0: break;
      case 1:
        for (size_t i = bpp; i < n; i++) row[i] = (unsigned char)(row[i] + row[i - bpp]);
        break;
      case 2:
        for (size_t i = 0; i < n; i++) row[i] = (unsigned char)(row[i] + previous[i]);
        break;
      case 3:
        if (previous == NULL) {
          for (size_t i = bpp; i < n; i++) row[i] = (unsigned char)(row[i] + (row[i - bpp] >> 1));
        } else {
          for (size_t i = 0; i < bpp; i++) row[i] = (unsigned char)(row[i] + (previous[i] >> 1));
          for (size_t i = bpp; i < n; i++) row[i] = (unsigned char)(row[i] + ((row[i - bpp] + previous[i]) >> 1));
        }
        break;
      case 4:
        paeth_row(row, previous, n, bpp);
        break;
      default:
        return fail(image, "corrupt", "png: unknown filter type %u in row %u", filter, y);
    }
    previous = row;
  }
  return 0;
}

int png_decode(const unsigned char *png, size_t length, double max_pixels, PngImage *image) {
  memset(image, 0, sizeof *image);
  if (length < 8 + 25 || memcmp(png, SIGNATURE, 8) != 0) return fail(image, "corrupt", "png: bad signature");
  size_t idat_start = 0, idat_end = 0, idat_bytes = 0, idat_chunks = 0;
  if (scan_chunks(png, length, max_pixels, image, &idat_start, &idat_end, &idat_bytes, &idat_chunks) != 0) return -1;
  const unsigned char *stream = png + idat_start + 8;
  unsigned char *joined = NULL;
  if (idat_chunks > 1) {
    joined = malloc(idat_bytes ? idat_bytes : 1);
    if (joined == NULL) return fail(image, "too_large", "png: out of memory");
    size_t filled = 0;
    for (size_t at = idat_start; at < idat_end;) {
      uint32_t size = be32(png + at);
      if (is_type(png + at + 4, "IDAT")) {
        memcpy(joined + filled, png + at + 8, size);
        filled += size;
      }
      at += 12 + (size_t)size;
    }
    stream = joined;
  }
  size_t raw_size = (size_t)image->height * (image->row_bytes + 1);
  image->raw = malloc(raw_size);
  struct libdeflate_decompressor *inflater = libdeflate_alloc_decompressor();
  if (image->raw == NULL || inflater == NULL) {
    free(joined);
    libdeflate_free_decompressor(inflater);
    free(image->raw);
    image->raw = NULL;
    return fail(image, "too_large", "png: out of memory");
  }
  size_t consumed = 0;
  enum libdeflate_result result = libdeflate_zlib_decompress_ex(inflater, stream, idat_bytes, image->raw, raw_size, &consumed, NULL);
  libdeflate_free_decompressor(inflater);
  free(joined);
  if (result != LIBDEFLATE_SUCCESS || consumed != idat_bytes) {
    free(image->raw);
    image->raw = NULL;
    const char *why = result == LIBDEFLATE_SHORT_OUTPUT ? "too little image data" : result == LIBDEFLATE_INSUFFICIENT_SPACE ? "too much image data" : result == LIBDEFLATE_SUCCESS ? "bytes after the zlib stream" : "bad zlib stream";
    return fail(image, "corrupt", "png: %s", why);
  }
  if (unfilter(image) != 0) {
    free(image->raw);
    image->raw = NULL;
    return -1;
  }
  return 0;
}
