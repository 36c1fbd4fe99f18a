/*
 * decodeScaled(jpeg: Uint8Array, minWidth: number, minHeight: number, maxPixels: number, into?: Uint8Array)
 *   : Promise<{ data, width, height, scale }>
 *
 * Decodes a JPEG to interleaved 8-bit RGB with libjpeg-turbo, using its DCT-domain scaling (scale/8, scale 1..8)
 * at the smallest scale whose output is still at least minWidth x minHeight: the same shrink-on-load that
 * libvips applies, without the per-call pipeline cost. Runs on libuv's thread pool.
 * With `into` (large enough for the decoded pixels), `data` is a view of it instead of a new buffer: callers that
 * decode many images reuse one scratch buffer per decode in flight and spare the allocator and the GC.
 *
 * decodeScaled(…, into, tensor: { fit, shorterSide, width, height, lut, nchw, bgr }) also cuts the centre
 * width x height out of the decoded pixels (edges repeated) and writes it as float32 through `lut` (3 x 256 values:
 * the normalised value of each 8-bit level per output channel), NCHW or NHWC, when the decoded size already fits:
 * fit 0 (centre crop) always, fit 1 when the shorter side equals `shorterSide`, fit 2 when it is width x height.
 * The result then carries `tensor` (a Float32Array); otherwise the caller resizes `data` itself. With a 7th
 * argument `tensorInto` (a Float32Array of exactly width x height x 3 values, not touched until the promise
 * settles), the tensor is written there and `tensor` is that array, so callers can reuse tensors too.
 * Rejections carry `code`: 'too_large' (header over maxPixels), 'unsupported' (CMYK/YCCK or not 3 channels)
 * or 'corrupt' (any libjpeg error or corrupt-data warning); callers fall back to a general decoder.
 */
#include <node_api.h>
#include "napi-helpers.h"
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
  napi_ref into_ref;
  napi_ref tensor_into_ref;
  float *tensor_into;
  unsigned char *into;
  size_t into_length;
  const unsigned char *input;
  size_t input_length;
  uint32_t min_width, min_height;
  double max_pixels;
  unsigned char *pixels;
  uint32_t width, height, scale;
  int want_tensor, fit, nchw, bgr;
  uint32_t shorter_side, tensor_width, tensor_height;
  float lut[768];
  float *tensor;
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

static int fits(const DecodeJob *job) {
  uint32_t shorter = job->width < job->height ? job->width : job->height;
  if (job->fit == 0) return 1;
  if (job->fit == 1) return shorter == job->shorter_side;
  return job->width == job->tensor_width && job->height == job->tensor_height;
}

static long clamp(long value, long low, long high) { return value < low ? low : value > high ? high : value; }

/* The centre tensor_width x tensor_height of the decoded pixels, normalised through the lookup tables. */
static void write_tensor(DecodeJob *job) {
  uint32_t tw = job->tensor_width, th = job->tensor_height;
  size_t plane = (size_t)tw * th;
  float *out = job->tensor_into != NULL ? job->tensor_into : malloc(plane * 3 * sizeof(float));
  if (out == NULL) return; /* the caller then crops in JavaScript */
  long left = ((long)job->width - (long)tw) / 2, top = ((long)job->height - (long)th) / 2;
  if ((long)job->width - (long)tw < 0 && ((long)job->width - (long)tw) % 2 != 0) left -= 1;
  if ((long)job->height - (long)th < 0 && ((long)job->height - (long)th) % 2 != 0) top -= 1;
  const float *l0 = job->lut, *l1 = job->lut + 256, *l2 = job->lut + 512;
  int c0 = job->bgr ? 2 : 0, c2 = job->bgr ? 0 : 2;
  for (uint32_t y = 0; y < th; y++) {
    const unsigned char *row = job->pixels + (size_t)clamp(top + (long)y, 0, (long)job->height - 1) * job->width * 3;
    for (uint32_t x = 0; x < tw; x++) {
      const unsigned char *p = row + (size_t)clamp(left + (long)x, 0, (long)job->width - 1) * 3;
      size_t i = (size_t)y * tw + x;
      if (job->nchw) {
        out[i] = l0[p[c0]];
        out[plane + i] = l1[p[1]];
        out[2 * plane + i] = l2[p[c2]];
      } else {
        out[3 * i] = l0[p[c0]];
        out[3 * i + 1] = l1[p[1]];
        out[3 * i + 2] = l2[p[c2]];
      }
    }
  }
  job->tensor = out;
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
    if (pixels != job->into) free(pixels);
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
  pixels = job->into != NULL && job->into_length >= stride * cinfo.output_height ? job->into : malloc(stride * cinfo.output_height);
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
  if (job->want_tensor && fits(job)) write_tensor(job);
}

static void complete(napi_env env, napi_status status, void *data) {
  (void)status;
  DecodeJob *job = (DecodeJob *)data;
  if (job->code != NULL) {
    napi_helpers_reject(env, job->deferred, job->code, job->message);
  } else {
    napi_value result, buffer;
    size_t length = (size_t)job->width * job->height * 3;
    napi_create_object(env, &result);
    if (job->pixels == job->into) {
      napi_value into, arraybuffer;
      napi_typedarray_type type;
      size_t into_length, offset;
      void *data;
      napi_get_reference_value(env, job->into_ref, &into);
      napi_get_typedarray_info(env, into, &type, &into_length, &data, &arraybuffer, &offset);
      napi_create_typedarray(env, napi_uint8_array, length, arraybuffer, offset, &buffer);
    } else {
      napi_create_external_buffer(env, length, job->pixels, napi_helpers_free, NULL, &buffer);
    }
    napi_set_named_property(env, result, "data", buffer);
    napi_helpers_set_uint32(env, result, "width", job->width);
    napi_helpers_set_uint32(env, result, "height", job->height);
    napi_helpers_set_uint32(env, result, "scale", job->scale);
    if (job->tensor != NULL && job->tensor == job->tensor_into) {
      napi_value tensor;
      napi_get_reference_value(env, job->tensor_into_ref, &tensor);
      napi_set_named_property(env, result, "tensor", tensor);
    } else if (job->tensor != NULL) {
      napi_value arraybuffer, tensor;
      size_t count = (size_t)job->tensor_width * job->tensor_height * 3;
      napi_create_external_arraybuffer(env, job->tensor, count * sizeof(float), napi_helpers_free, NULL, &arraybuffer);
      napi_create_typedarray(env, napi_float32_array, count, arraybuffer, 0, &tensor);
      napi_set_named_property(env, result, "tensor", tensor);
    }
    napi_resolve_deferred(env, job->deferred, result);
  }
  napi_delete_reference(env, job->input_ref);
  if (job->into_ref != NULL) napi_delete_reference(env, job->into_ref);
  if (job->tensor_into_ref != NULL) napi_delete_reference(env, job->tensor_into_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

static uint32_t named_uint32(napi_env env, napi_value object, const char *name) {
  napi_value value;
  uint32_t number = 0;
  if (napi_get_named_property(env, object, name, &value) == napi_ok) napi_get_value_uint32(env, value, &number);
  return number;
}

static int named_bool(napi_env env, napi_value object, const char *name) {
  napi_value value;
  bool flag = false;
  if (napi_get_named_property(env, object, name, &value) == napi_ok) napi_get_value_bool(env, value, &flag);
  return flag ? 1 : 0;
}

/* Reads the optional tensor spec; 0 when absent or valid. */
static int read_tensor_spec(napi_env env, napi_value spec, DecodeJob *job) {
  napi_valuetype type;
  napi_typeof(env, spec, &type);
  if (type == napi_undefined || type == napi_null) return 0;
  if (type != napi_object) return 1;
  napi_value lut;
  bool is_typed = false;
  if (napi_get_named_property(env, spec, "lut", &lut) != napi_ok) return 1;
  napi_is_typedarray(env, lut, &is_typed);
  if (!is_typed) return 1;
  napi_typedarray_type lut_type;
  size_t lut_length, offset;
  void *values;
  napi_value arraybuffer;
  napi_get_typedarray_info(env, lut, &lut_type, &lut_length, &values, &arraybuffer, &offset);
  if (lut_type != napi_float32_array || lut_length != 768) return 1;
  memcpy(job->lut, values, sizeof job->lut);
  job->fit = (int)named_uint32(env, spec, "fit");
  job->shorter_side = named_uint32(env, spec, "shorterSide");
  job->tensor_width = named_uint32(env, spec, "width");
  job->tensor_height = named_uint32(env, spec, "height");
  job->nchw = named_bool(env, spec, "nchw");
  job->bgr = named_bool(env, spec, "bgr");
  if (job->fit > 2 || job->tensor_width == 0 || job->tensor_height == 0) return 1;
  job->want_tensor = 1;
  return 0;
}

static napi_value decode_scaled(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return napi_helpers_invalid_argument(env, "decodeScaled(jpeg, minWidth, minHeight, maxPixels)");
  bool is_typed = false;
  napi_is_typedarray(env, argv[0], &is_typed);
  if (!is_typed) return napi_helpers_invalid_argument(env, "jpeg must be a Uint8Array");
  napi_typedarray_type type;
  size_t length;
  void *bytes;
  napi_value arraybuffer;
  size_t offset;
  napi_get_typedarray_info(env, argv[0], &type, &length, &bytes, &arraybuffer, &offset);
  if (type != napi_uint8_array) return napi_helpers_invalid_argument(env, "jpeg must be a Uint8Array");
  DecodeJob *job = calloc(1, sizeof(DecodeJob));
  if (job == NULL) return napi_helpers_invalid_argument(env, "out of memory");
  job->input = bytes;
  job->input_length = length;
  napi_get_value_uint32(env, argv[1], &job->min_width);
  napi_get_value_uint32(env, argv[2], &job->min_height);
  napi_get_value_double(env, argv[3], &job->max_pixels);
  napi_create_reference(env, argv[0], 1, &job->input_ref);
  bool into_typed = false;
  if (argc >= 5) napi_is_typedarray(env, argv[4], &into_typed);
  if (into_typed) {
    napi_typedarray_type into_type;
    void *into_bytes;
    napi_value into_buffer;
    size_t into_offset;
    napi_get_typedarray_info(env, argv[4], &into_type, &job->into_length, &into_bytes, &into_buffer, &into_offset);
    if (into_type == napi_uint8_array) {
      job->into = into_bytes;
      napi_create_reference(env, argv[4], 1, &job->into_ref);
    } else {
      job->into_length = 0;
    }
  }
  if (argc >= 6 && read_tensor_spec(env, argv[5], job) != 0) {
    napi_delete_reference(env, job->input_ref);
    if (job->into_ref != NULL) napi_delete_reference(env, job->into_ref);
    free(job);
    return napi_helpers_invalid_argument(env, "tensor must be { fit, shorterSide, width, height, lut: Float32Array(768), nchw, bgr }");
  }
  bool tensor_into_typed = false;
  if (argc >= 7) napi_is_typedarray(env, argv[6], &tensor_into_typed);
  if (tensor_into_typed && job->want_tensor) {
    napi_typedarray_type tensor_type;
    size_t tensor_length, tensor_offset;
    void *tensor_bytes;
    napi_value tensor_buffer;
    napi_get_typedarray_info(env, argv[6], &tensor_type, &tensor_length, &tensor_bytes, &tensor_buffer, &tensor_offset);
    if (tensor_type == napi_float32_array && tensor_length == (size_t)job->tensor_width * job->tensor_height * 3) {
      job->tensor_into = tensor_bytes;
      napi_create_reference(env, argv[6], 1, &job->tensor_into_ref);
    }
  }
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
