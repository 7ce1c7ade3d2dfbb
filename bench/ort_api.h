/* ort_api.h - the few ONNX Runtime C API entry points bench/ort_bench.c calls. The npm package
 * onnxruntime-node ships libonnxruntime.so.1 but no header: OrtApi is an append-only table of
 * function pointers, so each entry is named here by its slot, in the order of ONNX Runtime's
 * onnxruntime_c_api.h (unchanged since API version 1). We ask for API version 13, which every
 * later library still serves. */
#ifndef ORT_API_H
#define ORT_API_H

#include <stddef.h>
#include <stdint.h>

#define ORT_API_VERSION_WANTED 13

typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtValue OrtValue;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtAllocator OrtAllocator;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;

enum { ORT_LOG_WARNING = 2, ORT_OPT_ALL = 99, ORT_EXEC_SEQUENTIAL = 0 };
enum { ORT_ARENA_ALLOCATOR = 1, ORT_MEM_DEFAULT = 0 };

typedef struct OrtApi {
  void *slot[128];
} OrtApi;
typedef struct OrtApiBase {
  const OrtApi *(*GetApi)(uint32_t version);
  const char *(*GetVersionString)(void);
} OrtApiBase;
const OrtApiBase *OrtGetApiBase(void);

/* ORT(api, slot, return type, argument types...): the function in that slot */
#define ORT(a, i, r, ...) ((r(*)(__VA_ARGS__))(a)->slot[i])
#define ort_error_message(a) ORT(a, 2, const char *, const OrtStatus *)
#define ort_create_env(a) ORT(a, 3, OrtStatus *, int, const char *, OrtEnv **)
#define ort_create_session(a)                                                                      \
  ORT(a, 7, OrtStatus *, const OrtEnv *, const char *, const OrtSessionOptions *, OrtSession **)
#define ort_run(a)                                                                                 \
  ORT(a, 9, OrtStatus *, OrtSession *, const void *, const char *const *, const OrtValue *const *, \
      size_t, const char *const *, size_t, OrtValue **)
#define ort_create_session_options(a) ORT(a, 10, OrtStatus *, OrtSessionOptions **)
#define ort_set_execution_mode(a) ORT(a, 13, OrtStatus *, OrtSessionOptions *, int)
#define ort_set_graph_opt_level(a) ORT(a, 23, OrtStatus *, OrtSessionOptions *, int)
#define ort_set_intra_op_threads(a) ORT(a, 24, OrtStatus *, OrtSessionOptions *, int)
#define ort_set_inter_op_threads(a) ORT(a, 25, OrtStatus *, OrtSessionOptions *, int)
#define ort_input_count(a) ORT(a, 30, OrtStatus *, const OrtSession *, size_t *)
#define ort_output_count(a) ORT(a, 31, OrtStatus *, const OrtSession *, size_t *)
#define ort_input_name(a) ORT(a, 36, OrtStatus *, const OrtSession *, size_t, OrtAllocator *, char **)
#define ort_output_name(a) ORT(a, 37, OrtStatus *, const OrtSession *, size_t, OrtAllocator *, char **)
#define ort_create_tensor_with_data(a)                                                             \
  ORT(a, 49, OrtStatus *, const OrtMemoryInfo *, void *, size_t, const int64_t *, size_t, int,   \
      OrtValue **)
#define ort_tensor_data(a) ORT(a, 51, OrtStatus *, OrtValue *, void **)
#define ort_element_type(a) ORT(a, 60, OrtStatus *, const OrtTensorTypeAndShapeInfo *, int *)
#define ort_dims_count(a) ORT(a, 61, OrtStatus *, const OrtTensorTypeAndShapeInfo *, size_t *)
#define ort_dims(a) ORT(a, 62, OrtStatus *, const OrtTensorTypeAndShapeInfo *, int64_t *, size_t)
#define ort_element_count(a) ORT(a, 64, OrtStatus *, const OrtTensorTypeAndShapeInfo *, size_t *)
#define ort_type_and_shape(a) ORT(a, 65, OrtStatus *, const OrtValue *, OrtTensorTypeAndShapeInfo **)
#define ort_create_cpu_memory_info(a) ORT(a, 69, OrtStatus *, int, int, OrtMemoryInfo **)
#define ort_allocator_free(a) ORT(a, 76, OrtStatus *, OrtAllocator *, void *)
#define ort_default_allocator(a) ORT(a, 78, OrtStatus *, OrtAllocator **)
#define ort_release_env(a) ORT(a, 92, void, OrtEnv *)
#define ort_release_status(a) ORT(a, 93, void, OrtStatus *)
#define ort_release_memory_info(a) ORT(a, 94, void, OrtMemoryInfo *)
#define ort_release_session(a) ORT(a, 95, void, OrtSession *)
#define ort_release_value(a) ORT(a, 96, void, OrtValue *)
#define ort_release_type_and_shape(a) ORT(a, 99, void, OrtTensorTypeAndShapeInfo *)
#define ort_release_session_options(a) ORT(a, 100, void, OrtSessionOptions *)

#endif
