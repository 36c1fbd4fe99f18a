#ifndef GENIMAGE_JPEG_ENCODE_H
#define GENIMAGE_JPEG_ENCODE_H
#include "png_decode.h"

/*
 * Encodes an unfiltered PngImage as baseline YCbCr JPEG with libjpeg(-turbo): IJG quality tables at `quality`, 4:2:0
 * chroma subsampling, standard Huffman tables, integer DCT, no JFIF header: the bytes sharp writes for the same pixels.
 * Grey images are written as RGB, as sharp does. On success *jpeg is a
 * malloc'd buffer of *jpeg_size bytes; on failure returns -1 and writes the reason into message.
 */
int jpeg_encode(const PngImage *image, int quality, unsigned char **jpeg, size_t *jpeg_size, char message[PNG_MESSAGE_SIZE]);

/* "libjpeg-turbo X.Y.Z" (or "libjpeg N") as compiled against. */
const char *jpeg_library_version(void);

#endif
