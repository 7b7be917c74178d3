// A minimal, safe binding to ONNX Runtime's C API, loaded at run time with dlopen.
//
// No ONNX Runtime type appears here: the library is opened by path, sessions are opaque handles,
// element types are ONNX's TensorProto.DataType numbers, and every error is copied into a caller
// buffer as text. The process holds one ONNX Runtime environment (created on the first successful
// stratus_ort_open and kept for the life of the process).
//
// Thread safety: every function may be called from any thread. A session may be run from several
// threads at once (ONNX Runtime allows concurrent Run calls); stratus_ort_session_free must not race
// with other calls on the same session.
#ifndef STRATUS_ORT_H
#define STRATUS_ORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result codes: 0 on success, else one of these (the message says more).
enum {
    STRATUS_ORT_OK = 0,
    /// The library could not be opened, is not ONNX Runtime, or is too old; or it was not opened yet.
    STRATUS_ORT_ERR_UNAVAILABLE = 1,
    /// The model bytes could not be loaded as a session.
    STRATUS_ORT_ERR_MODEL = 2,
    /// The inputs do not fit the graph (ONNX Runtime said "invalid argument").
    STRATUS_ORT_ERR_INPUT = 3,
    /// Anything else that failed while running, including out of memory.
    STRATUS_ORT_ERR_RUNTIME = 4,
};

/// ONNX element type numbers (onnx.TensorProto.DataType) this binding can pass through.
enum {
    STRATUS_ORT_TYPE_UNDEFINED = 0,
    STRATUS_ORT_TYPE_FLOAT = 1,
    STRATUS_ORT_TYPE_UINT8 = 2,
    STRATUS_ORT_TYPE_INT8 = 3,
    STRATUS_ORT_TYPE_UINT16 = 4,
    STRATUS_ORT_TYPE_INT16 = 5,
    STRATUS_ORT_TYPE_INT32 = 6,
    STRATUS_ORT_TYPE_INT64 = 7,
    STRATUS_ORT_TYPE_STRING = 8,
    STRATUS_ORT_TYPE_BOOL = 9,
    STRATUS_ORT_TYPE_FLOAT16 = 10,
    STRATUS_ORT_TYPE_DOUBLE = 11,
    STRATUS_ORT_TYPE_UINT32 = 12,
    STRATUS_ORT_TYPE_UINT64 = 13,
    STRATUS_ORT_TYPE_BFLOAT16 = 16,
};

/// Bytes per element of an ONNX element type, or 0 for a type without a fixed size (string,
/// complex, sub-byte and unknown types).
size_t stratus_ort_element_size(int32_t element_type);

/// Opens the ONNX Runtime shared library at `path`, negotiates the API version and creates the
/// process's environment. Idempotent: once a library is open, a later call succeeds when `path`
/// names the same file and fails otherwise (one ONNX Runtime per process).
int stratus_ort_open(const char *path, char *err, size_t errlen);

/// The opened library's version string (e.g. "1.22.1"), or NULL before a successful open.
const char *stratus_ort_version(void);

/// The OrtApi version negotiated with the library, or 0 before a successful open.
uint32_t stratus_ort_api_version(void);

/// An opaque loaded model.
typedef struct stratus_ort_session stratus_ort_session;

/// Loads a model from `len` bytes of ONNX protobuf. `intra_op_threads` is the per-session
/// intra-op pool size (0: ONNX Runtime's default, one per core); `allow_spinning` lets those pool
/// threads busy-wait for work between nodes. On success `*out` owns the session: free it with
/// stratus_ort_session_free.
int stratus_ort_session_create(const void *bytes, size_t len, int intra_op_threads, int allow_spinning,
                               stratus_ort_session **out, char *err, size_t errlen);

void stratus_ort_session_free(stratus_ort_session *session);

/// Graph inputs (`is_output` 0) or outputs (`is_output` 1), as read when the session was created.
size_t stratus_ort_session_io_count(const stratus_ort_session *session, int is_output);
/// The name (owned by the session), or NULL for an index out of range.
const char *stratus_ort_session_io_name(const stratus_ort_session *session, int is_output, size_t index);
/// The element type; 0 when the value is not a tensor (sequence, map, optional...). -1 out of range.
int32_t stratus_ort_session_io_element_type(const stratus_ort_session *session, int is_output, size_t index);
/// Whether the value is a tensor (1) or another ONNX type (0).
int stratus_ort_session_io_is_tensor(const stratus_ort_session *session, int is_output, size_t index);
/// The rank; the dimensions (-1 for a dynamic one) are copied into `dims` up to `capacity`.
size_t stratus_ort_session_io_shape(const stratus_ort_session *session, int is_output, size_t index, int64_t *dims,
                                    size_t capacity);

/// One input tensor: `data` holds `byte_len` bytes, densely packed, row-major, native byte order.
typedef struct stratus_ort_input {
    int32_t element_type;
    const int64_t *shape;
    size_t rank;
    const void *data;
    size_t byte_len;
} stratus_ort_input;

/// One output tensor, filled by stratus_ort_run: `shape` and `data` are malloc'd and owned by the
/// caller (release them with stratus_ort_outputs_free).
typedef struct stratus_ort_output {
    int32_t element_type;
    size_t rank;
    int64_t *shape;
    void *data;
    size_t byte_len;
} stratus_ort_output;

/// Runs the session on one input per graph input (in graph order) and fills one output per graph
/// output (in graph order). `input_count` and `output_count` must equal the session's counts. On
/// failure no output holds memory.
int stratus_ort_run(stratus_ort_session *session, const stratus_ort_input *inputs, size_t input_count,
                    stratus_ort_output *outputs, size_t output_count, char *err, size_t errlen);

/// Frees what stratus_ort_run put in `outputs` and clears them.
void stratus_ort_outputs_free(stratus_ort_output *outputs, size_t count);

#ifdef __cplusplus
}
#endif

#endif
