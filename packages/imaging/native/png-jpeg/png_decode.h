/*
 * A whole-buffer PNG decoder for the one case `degrade --jpeg` meets most: 8-bit, non-interlaced grey or RGB
 * without an ICC profile, transparency or EXIF block. Anything else is declined with a code so the caller can use a general
 * decoder (sharp), which then has the final word on the image, errors included.
 */
#ifndef GENIMAGE_PNG_DECODE_H
#define GENIMAGE_PNG_DECODE_H
#include <stddef.h>
#include <stdint.h>

#define PNG_MESSAGE_SIZE 200

typedef struct {
  uint32_t width, height;
  uint32_t channels; /* 1 (grey) or 3 (RGB) */
  /* height rows of (1 filter byte + width * channels pixel bytes); after png_decode the pixel bytes are unfiltered. */
  unsigned char *raw;
  size_t row_bytes; /* width * channels */
  const char *code; /* NULL on success, else "corrupt", "unsupported" or "too_large" */
  char message[PNG_MESSAGE_SIZE];
} PngImage;

/* Decodes `png` into image->raw (caller frees with free()). Returns 0 on success, -1 with code and message set. */
int png_decode(const unsigned char *png, size_t length, double max_pixels, PngImage *image);

/* Pointer to the first pixel byte of row `y`. */
static inline unsigned char *png_row(const PngImage *image, uint32_t y) {
  return image->raw + (size_t)y * (image->row_bytes + 1) + 1;
}

#endif
