/*
 * pngToJpeg(png: Uint8Array, quality: number, maxPixels: number): Promise<Buffer>
 *   Decodes an 8-bit non-interlaced grey/RGB PNG (libdeflate inflates the whole IDAT stream in one call) and
 *   re-encodes it as JPEG with libjpeg(-turbo) at `quality`, 4:2:0, standard Huffman tables.
 * decodePng(png: Uint8Array, maxPixels: number): Promise<{ data: Buffer, width, height, channels }>
 *   The same decoder's unfiltered pixels, for tests and tools that compare decoders.
 * versions: { jpeg: string, deflate: string }
 * Both run on libuv's thread pool. Rejections carry `code`: 'unsupported' (a PNG this path leaves to sharp),
 * 'too_large' (over maxPixels) or 'corrupt' (signature, chunk lengths, CRCs, zlib stream or filters).
 */
#include <node_api.h>
#include "napi-helpers.h"
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include "jpeg_encode.h"
#include "png_decode.h"

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref;
  const unsigned char *input;
  size_t input_length;
  double max_pixels;
  int quality; /* 0: decode only */
  PngImage image;
  unsigned char *output;
  size_t output_length;
  const char *code;
  char message[PNG_MESSAGE_SIZE];
} Job;

static void execute(napi_env env, void *data) {
  (void)env;
  Job *job = (Job *)data;
  if (png_decode(job->input, job->input_length, job->max_pixels, &job->image) != 0) {
    job->code = job->image.code;
    memcpy(job->message, job->image.message, sizeof job->message);
    return;
  }
  if (job->quality == 0) {
    size_t row_bytes = job->image.row_bytes;
    for (uint32_t y = 0; y < job->image.height; y++) memmove(job->image.raw + y * row_bytes, png_row(&job->image, y), row_bytes);
    job->output = job->image.raw;
    job->output_length = row_bytes * job->image.height;
    job->image.raw = NULL;
    return;
  }
  if (jpeg_encode(&job->image, job->quality, &job->output, &job->output_length, job->message) != 0) job->code = "corrupt";
  free(job->image.raw);
  job->image.raw = NULL;
}

static void complete(napi_env env, napi_status status, void *data) {
  (void)status;
  Job *job = (Job *)data;
  if (job->code != NULL) {
    napi_helpers_reject(env, job->deferred, job->code, job->message);
  } else {
    napi_value buffer;
    napi_create_external_buffer(env, job->output_length, job->output, napi_helpers_free, NULL, &buffer);
    if (job->quality == 0) {
      napi_value result;
      napi_create_object(env, &result);
      napi_set_named_property(env, result, "data", buffer);
      napi_helpers_set_uint32(env, result, "width", job->image.width);
      napi_helpers_set_uint32(env, result, "height", job->image.height);
      napi_helpers_set_uint32(env, result, "channels", job->image.channels);
      napi_resolve_deferred(env, job->deferred, result);
    } else {
      napi_resolve_deferred(env, job->deferred, buffer);
    }
  }
  napi_delete_reference(env, job->input_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

/* Reads (png, [quality,] maxPixels) and queues the job; quality 0 means decode only. */
static napi_value queue(napi_env env, napi_callback_info info, int encode) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  size_t wanted = encode ? 3 : 2;
  if (argc < wanted) return napi_helpers_invalid_argument(env, encode ? "pngToJpeg(png, quality, maxPixels)" : "decodePng(png, maxPixels)");
  bool is_typed = false;
  napi_is_typedarray(env, argv[0], &is_typed);
  if (!is_typed) return napi_helpers_invalid_argument(env, "png must be a Uint8Array");
  napi_typedarray_type type;
  size_t length, offset;
  void *bytes;
  napi_value arraybuffer;
  napi_get_typedarray_info(env, argv[0], &type, &length, &bytes, &arraybuffer, &offset);
  if (type != napi_uint8_array) return napi_helpers_invalid_argument(env, "png must be a Uint8Array");
  int32_t quality = 0;
  double max_pixels = 0;
  if (encode && (napi_get_value_int32(env, argv[1], &quality) != napi_ok || quality < 1 || quality > 100))
    return napi_helpers_invalid_argument(env, "quality must be an integer 1-100");
  if (napi_get_value_double(env, argv[encode ? 2 : 1], &max_pixels) != napi_ok) return napi_helpers_invalid_argument(env, "maxPixels must be a number");
  Job *job = calloc(1, sizeof(Job));
  if (job == NULL) return napi_helpers_invalid_argument(env, "out of memory");
  job->input = bytes;
  job->input_length = length;
  job->quality = encode ? quality : 0;
  job->max_pixels = max_pixels;
  napi_create_reference(env, argv[0], 1, &job->input_ref);
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, encode ? "pngToJpeg" : "decodePng", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

static napi_value png_to_jpeg(napi_env env, napi_callback_info info) { return queue(env, info, 1); }
static napi_value decode_png(napi_env env, napi_callback_info info) { return queue(env, info, 0); }

static void set_string(napi_env env, napi_value object, const char *name, const char *value) {
  napi_value string;
  napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &string);
  napi_set_named_property(env, object, name, string);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn, versions;
  napi_create_function(env, "pngToJpeg", NAPI_AUTO_LENGTH, png_to_jpeg, NULL, &fn);
  napi_set_named_property(env, exports, "pngToJpeg", fn);
  napi_create_function(env, "decodePng", NAPI_AUTO_LENGTH, decode_png, NULL, &fn);
  napi_set_named_property(env, exports, "decodePng", fn);
  napi_create_object(env, &versions);
  set_string(env, versions, "jpeg", jpeg_library_version());
  set_string(env, versions, "deflate", "libdeflate " LIBDEFLATE_VERSION_STRING);
  napi_set_named_property(env, exports, "versions", versions);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
