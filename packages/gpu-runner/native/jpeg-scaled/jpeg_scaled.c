/*
 * decodeScaled(jpeg: Uint8Array, minWidth: number, minHeight: number, maxPixels: number): Promise<{ data, width, height, scale }>
 *
 * Decodes a JPEG to interleaved 8-bit RGB with libjpeg-turbo, using its DCT-domain scaling (scale/8, scale 1..8)
 * at the smallest scale whose output is still at least minWidth x minHeight: the same shrink-on-load that
 * libvips applies, without the per-call pipeline cost. Runs on libuv's thread pool.
 * Rejections carry `code`: 'too_large' (header over maxPixels), 'unsupported' (CMYK/YCCK or not 3 channels)
 * or 'corrupt' (any libjpeg error or corrupt-data warning); callers fall back to a general decoder.
 */
#include <node_api.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
} ErrorManager;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref;
  const unsigned char *input;
  size_t input_length;
  uint32_t min_width, min_height;
  double max_pixels;
  unsigned char *pixels;
  uint32_t width, height, scale;
  const char *code;
  char message[JMSG_LENGTH_MAX + 64];
} DecodeJob;

static void fail_jump(j_common_ptr cinfo) {
  ErrorManager *errors = (ErrorManager *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, errors->message);
  longjmp(errors->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level) {
  if (level < 0) fail_jump(cinfo); /* corrupt-data warnings count as failures */
}

static uint32_t scaled(uint32_t size, uint32_t num) { return (uint32_t)(((uint64_t)size * num + 7) / 8); }

static void execute(napi_env env, void *data) {
  (void)env;
  DecodeJob *job = (DecodeJob *)data;
  struct jpeg_decompress_struct cinfo;
  ErrorManager errors;
  unsigned char *volatile pixels = NULL;
  cinfo.err = jpeg_std_error(&errors.pub);
  errors.pub.error_exit = fail_jump;
  errors.pub.emit_message = on_message;
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&cinfo);
    free(pixels);
    job->code = "corrupt";
    snprintf(job->message, sizeof job->message, "jpeg: %s", errors.message);
    return;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, (unsigned char *)job->input, (unsigned long)job->input_length);
  jpeg_read_header(&cinfo, TRUE);
  if ((double)cinfo.image_width * (double)cinfo.image_height > job->max_pixels) {
    job->code = "too_large";
    snprintf(job->message, sizeof job->message, "jpeg header claims %ux%u pixels", cinfo.image_width, cinfo.image_height);
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    job->code = "unsupported";
    snprintf(job->message, sizeof job->message, "jpeg is CMYK");
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  uint32_t num = 8;
  for (uint32_t n = 1; n <= 8; n++) {
    if (scaled(cinfo.image_width, n) >= job->min_width && scaled(cinfo.image_height, n) >= job->min_height) {
      num = n;
      break;
    }
  }
  cinfo.scale_num = num;
  cinfo.scale_denom = 8;
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  if (cinfo.output_components != 3) {
    job->code = "unsupported";
    snprintf(job->message, sizeof job->message, "jpeg decodes to %d components", cinfo.output_components);
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  size_t stride = (size_t)cinfo.output_width * 3;
  pixels = malloc(stride * cinfo.output_height);
  if (pixels == NULL) {
    job->code = "too_large";
    snprintf(job->message, sizeof job->message, "out of memory for %ux%u pixels", cinfo.output_width, cinfo.output_height);
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[16];
    JDIMENSION count = cinfo.output_height - cinfo.output_scanline;
    if (count > 16) count = 16;
    for (JDIMENSION r = 0; r < count; r++) rows[r] = pixels + stride * (cinfo.output_scanline + r);
    jpeg_read_scanlines(&cinfo, rows, count);
  }
  jpeg_finish_decompress(&cinfo);
  job->width = cinfo.output_width;
  job->height = cinfo.output_height;
  job->scale = num;
  jpeg_destroy_decompress(&cinfo);
  job->pixels = pixels;
}

static void free_pixels(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void set_number(napi_env env, napi_value object, const char *name, uint32_t value) {
  napi_value number;
  napi_create_uint32(env, value, &number);
  napi_set_named_property(env, object, name, number);
}

static void complete(napi_env env, napi_status status, void *data) {
  (void)status;
  DecodeJob *job = (DecodeJob *)data;
  if (job->code != NULL) {
    napi_value message, code, error;
    napi_create_string_utf8(env, job->message, NAPI_AUTO_LENGTH, &message);
    napi_create_string_utf8(env, job->code, NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  } else {
    napi_value result, buffer;
    size_t length = (size_t)job->width * job->height * 3;
    napi_create_object(env, &result);
    napi_create_external_buffer(env, length, job->pixels, free_pixels, NULL, &buffer);
    napi_set_named_property(env, result, "data", buffer);
    set_number(env, result, "width", job->width);
    set_number(env, result, "height", job->height);
    set_number(env, result, "scale", job->scale);
    napi_resolve_deferred(env, job->deferred, result);
  }
  napi_delete_reference(env, job->input_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value throw_type_error(napi_env env, const char *message) {
  napi_throw_type_error(env, "invalid_argument", message);
  return NULL;
}

static napi_value decode_scaled(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return throw_type_error(env, "decodeScaled(jpeg, minWidth, minHeight, maxPixels)");
  bool is_typed = false;
  napi_is_typedarray(env, argv[0], &is_typed);
  if (!is_typed) return throw_type_error(env, "jpeg must be a Uint8Array");
  napi_typedarray_type type;
  size_t length;
  void *bytes;
  napi_value arraybuffer;
  size_t offset;
  napi_get_typedarray_info(env, argv[0], &type, &length, &bytes, &arraybuffer, &offset);
  if (type != napi_uint8_array) return throw_type_error(env, "jpeg must be a Uint8Array");
  DecodeJob *job = calloc(1, sizeof(DecodeJob));
  if (job == NULL) return throw_type_error(env, "out of memory");
  job->input = bytes;
  job->input_length = length;
  napi_get_value_uint32(env, argv[1], &job->min_width);
  napi_get_value_uint32(env, argv[2], &job->min_height);
  napi_get_value_double(env, argv[3], &job->max_pixels);
  napi_create_reference(env, argv[0], 1, &job->input_ref);
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "jpegDecodeScaled", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "decodeScaled", NAPI_AUTO_LENGTH, decode_scaled, NULL, &fn);
  napi_set_named_property(env, exports, "decodeScaled", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
