/*
 * N-API helpers shared by the project's native addons (packages/<name>/native/<addon>). Each addon's
 * binding.gyp adds this folder to its include path. Header-only: static inline functions, one copy per addon.
 */
#ifndef GENIMAGE_NAPI_HELPERS_H
#define GENIMAGE_NAPI_HELPERS_H

#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>

/* Finalizer for external buffers whose memory came from malloc. */
static inline void napi_helpers_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static inline void napi_helpers_set_uint32(napi_env env, napi_value object, const char *name, uint32_t value) {
  napi_value number;
  napi_create_uint32(env, value, &number);
  napi_set_named_property(env, object, name, number);
}

/* Rejects a promise with an Error whose `code` callers branch on. */
static inline void napi_helpers_reject(napi_env env, napi_deferred deferred, const char *code, const char *message) {
  napi_value code_value, message_value, error;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_value);
  napi_create_error(env, code_value, message_value, &error);
  napi_reject_deferred(env, deferred, error);
}

/* Throws a TypeError with code `invalid_argument`; returns NULL for the caller to return. */
static inline napi_value napi_helpers_invalid_argument(napi_env env, const char *message) {
  napi_throw_type_error(env, "invalid_argument", message);
  return NULL;
}

#endif
