#include "jpeg_encode.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
} ErrorManager;

/* A growing malloc'd output buffer, so the result can be handed to JavaScript without a copy. */
typedef struct {
  struct jpeg_destination_mgr pub;
  unsigned char *buffer;
  size_t capacity;
} GrowingDestination;

static void on_error(j_common_ptr cinfo) { longjmp(((ErrorManager *)cinfo->err)->jump, 1); }

static void init_destination(j_compress_ptr cinfo) {
  GrowingDestination *dest = (GrowingDestination *)cinfo->dest;
  dest->pub.next_output_byte = dest->buffer;
  dest->pub.free_in_buffer = dest->capacity;
}

static boolean grow_destination(j_compress_ptr cinfo) {
  GrowingDestination *dest = (GrowingDestination *)cinfo->dest;
  unsigned char *bigger = realloc(dest->buffer, dest->capacity * 2);
  if (bigger == NULL) ERREXIT(cinfo, JERR_OUT_OF_MEMORY);
  dest->buffer = bigger;
  dest->pub.next_output_byte = bigger + dest->capacity;
  dest->pub.free_in_buffer = dest->capacity;
  dest->capacity *= 2;
  return TRUE;
}

static void term_destination(j_compress_ptr cinfo) { (void)cinfo; }

static void set_up(j_compress_ptr cinfo, const PngImage *image, int quality) {
  cinfo->image_width = image->width;
  cinfo->image_height = image->height;
  cinfo->input_components = 3;
  cinfo->in_color_space = JCS_RGB;
  jpeg_set_defaults(cinfo);
  jpeg_set_quality(cinfo, quality, TRUE);
  cinfo->optimize_coding = FALSE;
  cinfo->dct_method = JDCT_ISLOW;
  /* No JFIF APP0 segment: libvips (sharp) writes none either, so both paths give the same bytes. */
  cinfo->write_JFIF_header = FALSE;
  cinfo->comp_info[0].h_samp_factor = cinfo->comp_info[0].v_samp_factor = 2;
  cinfo->comp_info[1].h_samp_factor = cinfo->comp_info[1].v_samp_factor = 1;
  cinfo->comp_info[2].h_samp_factor = cinfo->comp_info[2].v_samp_factor = 1;
}

/* Grey rows as RGB, the way sharp writes a grey PNG to JPEG (it converts to sRGB first); NULL when out of memory. */
static unsigned char *grey_as_rgb(const PngImage *image) {
  unsigned char *rgb = malloc((size_t)image->width * image->height * 3);
  if (rgb == NULL) return NULL;
  for (uint32_t y = 0; y < image->height; y++) {
    const unsigned char *grey = png_row(image, y);
    unsigned char *out = rgb + (size_t)y * image->width * 3;
    for (uint32_t x = 0; x < image->width; x++) out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = grey[x];
  }
  return rgb;
}

int jpeg_encode(const PngImage *image, int quality, unsigned char **jpeg, size_t *jpeg_size, char message[PNG_MESSAGE_SIZE]) {
  struct jpeg_compress_struct cinfo;
  ErrorManager errors;
  /* Everything the error path frees lives behind pointers fixed before setjmp. */
  GrowingDestination *dest = calloc(1, sizeof *dest);
  JSAMPROW *rows = malloc(sizeof(JSAMPROW) * image->height);
  unsigned char *rgb = image->channels == 1 ? grey_as_rgb(image) : NULL;
  if (dest != NULL) {
    dest->capacity = (size_t)image->width * image->height * image->channels / 4 + 4096;
    dest->buffer = malloc(dest->capacity);
  }
  if (dest == NULL || dest->buffer == NULL || rows == NULL || (image->channels == 1 && rgb == NULL)) {
    if (dest != NULL) free(dest->buffer);
    free(dest);
    free(rows);
    free(rgb);
    snprintf(message, PNG_MESSAGE_SIZE, "jpeg: out of memory");
    return -1;
  }
  for (uint32_t y = 0; y < image->height; y++) rows[y] = rgb != NULL ? rgb + (size_t)y * image->width * 3 : png_row(image, y);
  cinfo.err = jpeg_std_error(&errors.pub);
  errors.pub.error_exit = on_error;
  if (setjmp(errors.jump)) {
    char reason[JMSG_LENGTH_MAX];
    (*cinfo.err->format_message)((j_common_ptr)&cinfo, reason);
    snprintf(message, PNG_MESSAGE_SIZE, "jpeg: %.180s", reason);
    jpeg_destroy_compress(&cinfo);
    free(dest->buffer);
    free(dest);
    free(rows);
    free(rgb);
    return -1;
  }
  jpeg_create_compress(&cinfo);
  dest->pub.init_destination = init_destination;
  dest->pub.empty_output_buffer = grow_destination;
  dest->pub.term_destination = term_destination;
  cinfo.dest = &dest->pub;
  set_up(&cinfo, image, quality);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height)
    jpeg_write_scanlines(&cinfo, rows + cinfo.next_scanline, cinfo.image_height - cinfo.next_scanline);
  jpeg_finish_compress(&cinfo);
  *jpeg_size = dest->capacity - dest->pub.free_in_buffer;
  *jpeg = dest->buffer;
  jpeg_destroy_compress(&cinfo);
  free(dest);
  free(rows);
  free(rgb);
  return 0;
}

#define STRINGIFY_VALUE(x) #x
#define STRINGIFY(x) STRINGIFY_VALUE(x)

const char *jpeg_library_version(void) {
#ifdef LIBJPEG_TURBO_VERSION
  return "libjpeg-turbo " STRINGIFY(LIBJPEG_TURBO_VERSION);
#else
  return "libjpeg " STRINGIFY(JPEG_LIB_VERSION);
#endif
}
