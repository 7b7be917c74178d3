// ONNX Runtime through its C API, opened with dlopen at run time (no ONNX Runtime headers needed).
//
// ONNX Runtime exports one entry point, OrtGetApiBase, which returns a pair of functions:
// GetApi(version) -> the OrtApi table, and GetVersionString(). The OrtApi table is an append-only
// array of function pointers whose order is public ABI (ONNX Runtime asserts every shipped version's
// size in onnxruntime_c_api.cc), so this file names the slots it needs by index and gives each its
// C signature with opaque pointers. Enums in that API are plain `int` on every supported ABI.
#define _DEFAULT_SOURCE  // realpath, strdup under strict C modes (glibc)
#include "stratus_ort.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// Our declarations of the ONNX Runtime C ABI.

typedef void *OrtStatusP;  // NULL means success

// OrtApiBase: two function pointers, never versioned.
typedef struct stratus_ort_api_base {
    const void *(*GetApi)(uint32_t version);
    const char *(*GetVersionString)(void);
} stratus_ort_api_base;

// Lowest OrtApi version with every slot below (AddSessionConfigEntry arrived in version 5), and the
// highest version whose table layout we checked (ONNX Runtime 1.24; its static_asserts pin slots
// up to version 24). Later versions only append, so asking for 24 from a newer library is exact.
#define STRATUS_ORT_API_MIN 5u
#define STRATUS_ORT_API_MAX 24u

// OrtApi slot indices (position of the function pointer in the table).
enum {
    SLOT_CreateStatus = 0,
    SLOT_GetErrorCode = 1,
    SLOT_GetErrorMessage = 2,
    SLOT_CreateEnv = 3,
    SLOT_CreateSessionFromArray = 8,
    SLOT_Run = 9,
    SLOT_CreateSessionOptions = 10,
    SLOT_SetSessionGraphOptimizationLevel = 23,
    SLOT_SetIntraOpNumThreads = 24,
    SLOT_SetInterOpNumThreads = 25,
    SLOT_SessionGetInputCount = 30,
    SLOT_SessionGetOutputCount = 31,
    SLOT_SessionGetInputTypeInfo = 33,
    SLOT_SessionGetOutputTypeInfo = 34,
    SLOT_SessionGetInputName = 36,
    SLOT_SessionGetOutputName = 37,
    SLOT_CreateTensorWithDataAsOrtValue = 49,
    SLOT_GetTensorMutableData = 51,
    SLOT_CastTypeInfoToTensorInfo = 55,
    SLOT_GetOnnxTypeFromTypeInfo = 56,
    SLOT_GetTensorElementType = 60,
    SLOT_GetDimensionsCount = 61,
    SLOT_GetDimensions = 62,
    SLOT_GetTensorShapeElementCount = 64,
    SLOT_GetTensorTypeAndShape = 65,
    SLOT_CreateCpuMemoryInfo = 69,
    SLOT_AllocatorFree = 76,
    SLOT_GetAllocatorWithDefaultOptions = 78,
    SLOT_ReleaseStatus = 93,
    SLOT_ReleaseMemoryInfo = 94,
    SLOT_ReleaseSession = 95,
    SLOT_ReleaseValue = 96,
    SLOT_ReleaseTypeInfo = 98,
    SLOT_ReleaseTensorTypeAndShapeInfo = 99,
    SLOT_ReleaseSessionOptions = 100,
    SLOT_AddSessionConfigEntry = 130,  // version 5
};

// Values of the ONNX Runtime enums we pass.
enum {
    ORT_CODE_FAIL = 1,
    ORT_CODE_INVALID_ARGUMENT = 2,
    ORT_LOGGING_ERROR = 3,
    ORT_GRAPH_OPT_ALL = 99,
    ORT_ALLOCATOR_ARENA = 1,
    ORT_MEMTYPE_DEFAULT = 0,
    ONNX_TYPE_TENSOR = 1,
};

// The functions we call, typed.
typedef struct stratus_ort_fns {
    OrtStatusP (*CreateStatus)(int code, const char *msg);
    int (*GetErrorCode)(const void *status);
    const char *(*GetErrorMessage)(const void *status);
    OrtStatusP (*CreateEnv)(int logging_level, const char *logid, void **out);
    OrtStatusP (*CreateSessionFromArray)(const void *env, const void *data, size_t len, const void *options,
                                         void **out);
    OrtStatusP (*Run)(void *session, const void *run_options, const char *const *input_names,
                      const void *const *inputs, size_t input_len, const char *const *output_names,
                      size_t output_len, void **outputs);
    OrtStatusP (*CreateSessionOptions)(void **out);
    OrtStatusP (*SetSessionGraphOptimizationLevel)(void *options, int level);
    OrtStatusP (*SetIntraOpNumThreads)(void *options, int threads);
    OrtStatusP (*SetInterOpNumThreads)(void *options, int threads);
    OrtStatusP (*SessionGetInputCount)(const void *session, size_t *out);
    OrtStatusP (*SessionGetOutputCount)(const void *session, size_t *out);
    OrtStatusP (*SessionGetInputTypeInfo)(const void *session, size_t index, void **out);
    OrtStatusP (*SessionGetOutputTypeInfo)(const void *session, size_t index, void **out);
    OrtStatusP (*SessionGetInputName)(const void *session, size_t index, void *allocator, char **out);
    OrtStatusP (*SessionGetOutputName)(const void *session, size_t index, void *allocator, char **out);
    OrtStatusP (*CreateTensorWithDataAsOrtValue)(const void *memory_info, void *data, size_t data_len,
                                                 const int64_t *shape, size_t rank, int element_type, void **out);
    OrtStatusP (*GetTensorMutableData)(void *value, void **out);
    OrtStatusP (*CastTypeInfoToTensorInfo)(const void *type_info, const void **out);
    OrtStatusP (*GetOnnxTypeFromTypeInfo)(const void *type_info, int *out);
    OrtStatusP (*GetTensorElementType)(const void *info, int *out);
    OrtStatusP (*GetDimensionsCount)(const void *info, size_t *out);
    OrtStatusP (*GetDimensions)(const void *info, int64_t *dims, size_t count);
    OrtStatusP (*GetTensorShapeElementCount)(const void *info, size_t *out);
    OrtStatusP (*GetTensorTypeAndShape)(const void *value, void **out);
    OrtStatusP (*CreateCpuMemoryInfo)(int allocator_type, int mem_type, void **out);
    OrtStatusP (*AllocatorFree)(void *allocator, void *p);
    OrtStatusP (*GetAllocatorWithDefaultOptions)(void **out);
    void (*ReleaseStatus)(void *);
    void (*ReleaseMemoryInfo)(void *);
    void (*ReleaseSession)(void *);
    void (*ReleaseValue)(void *);
    void (*ReleaseTypeInfo)(void *);
    void (*ReleaseTensorTypeAndShapeInfo)(void *);
    void (*ReleaseSessionOptions)(void *);
    OrtStatusP (*AddSessionConfigEntry)(void *options, const char *key, const char *value);
} stratus_ort_fns;

// ---------------------------------------------------------------------------------------------
// Process state: set once under the lock, then read-only. `g_ready` is published with release
// ordering after everything else is written, and read with acquire ordering.

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_ready;
static stratus_ort_fns g_fns;
static void *g_env;
static void *g_memory_info;
static char g_version[64];
static uint32_t g_api_version;
static char *g_path;  // realpath of the opened library

static int is_ready(void) { return __atomic_load_n(&g_ready, __ATOMIC_ACQUIRE); }

static void set_error(char *err, size_t errlen, const char *format, ...) {
    if (err == NULL || errlen == 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(err, errlen, format, args);
    va_end(args);
}

// Copies a status's message after `context`, releases it, and returns ONNX Runtime's error code.
static int take_status(OrtStatusP status, char *err, size_t errlen, const char *context) {
    int code = g_fns.GetErrorCode(status);
    const char *message = g_fns.GetErrorMessage(status);
    set_error(err, errlen, "%s: %s", context, message ? message : "(no message)");
    g_fns.ReleaseStatus(status);
    return code;
}

size_t stratus_ort_element_size(int32_t element_type) {
    switch (element_type) {
    case STRATUS_ORT_TYPE_UINT8:
    case STRATUS_ORT_TYPE_INT8:
    case STRATUS_ORT_TYPE_BOOL: return 1;
    case STRATUS_ORT_TYPE_UINT16:
    case STRATUS_ORT_TYPE_INT16:
    case STRATUS_ORT_TYPE_FLOAT16:
    case STRATUS_ORT_TYPE_BFLOAT16: return 2;
    case STRATUS_ORT_TYPE_FLOAT:
    case STRATUS_ORT_TYPE_INT32:
    case STRATUS_ORT_TYPE_UINT32: return 4;
    case STRATUS_ORT_TYPE_INT64:
    case STRATUS_ORT_TYPE_DOUBLE:
    case STRATUS_ORT_TYPE_UINT64: return 8;
    default: return 0;
    }
}

// ---------------------------------------------------------------------------------------------
// Opening the library.

// The table as an array of function pointers; slot i is read as a generic function pointer and
// converted to its real type at the assignment.
typedef void (*generic_fn)(void);
#define LOAD(name)                                                                                          \
    do {                                                                                                    \
        generic_fn f = ((const generic_fn *)api)[SLOT_##name];                                              \
        if (f == NULL) {                                                                                    \
            set_error(err, errlen, "ONNX Runtime %s: OrtApi entry %s (slot %d) is empty", version, #name, \
                      SLOT_##name);                                                                         \
            return 0;                                                                                       \
        }                                                                                                   \
        memcpy(&fns->name, &f, sizeof f);                                                                   \
    } while (0)

static int load_functions(const void *api, const char *version, stratus_ort_fns *fns, char *err, size_t errlen) {
    LOAD(CreateStatus);
    LOAD(GetErrorCode);
    LOAD(GetErrorMessage);
    LOAD(CreateEnv);
    LOAD(CreateSessionFromArray);
    LOAD(Run);
    LOAD(CreateSessionOptions);
    LOAD(SetSessionGraphOptimizationLevel);
    LOAD(SetIntraOpNumThreads);
    LOAD(SetInterOpNumThreads);
    LOAD(SessionGetInputCount);
    LOAD(SessionGetOutputCount);
    LOAD(SessionGetInputTypeInfo);
    LOAD(SessionGetOutputTypeInfo);
    LOAD(SessionGetInputName);
    LOAD(SessionGetOutputName);
    LOAD(CreateTensorWithDataAsOrtValue);
    LOAD(GetTensorMutableData);
    LOAD(CastTypeInfoToTensorInfo);
    LOAD(GetOnnxTypeFromTypeInfo);
    LOAD(GetTensorElementType);
    LOAD(GetDimensionsCount);
    LOAD(GetDimensions);
    LOAD(GetTensorShapeElementCount);
    LOAD(GetTensorTypeAndShape);
    LOAD(CreateCpuMemoryInfo);
    LOAD(AllocatorFree);
    LOAD(GetAllocatorWithDefaultOptions);
    LOAD(ReleaseStatus);
    LOAD(ReleaseMemoryInfo);
    LOAD(ReleaseSession);
    LOAD(ReleaseValue);
    LOAD(ReleaseTypeInfo);
    LOAD(ReleaseTensorTypeAndShapeInfo);
    LOAD(ReleaseSessionOptions);
    LOAD(AddSessionConfigEntry);
    return 1;
}
#undef LOAD

// Asks for the newest API version we can use: the library's own (its minor version, for 1.x)
// capped at STRATUS_ORT_API_MAX, then lower ones down to STRATUS_ORT_API_MIN.
static const void *negotiate(const stratus_ort_api_base *base, const char *version, uint32_t *chosen) {
    uint32_t start = STRATUS_ORT_API_MAX;
    unsigned major = 0, minor = 0;
    if (version != NULL && sscanf(version, "%u.%u", &major, &minor) == 2 && major == 1) {
        if (minor < STRATUS_ORT_API_MIN) return NULL;
        if (minor < start) start = minor;
    }
    for (uint32_t v = start; v >= STRATUS_ORT_API_MIN; v--) {
        const void *api = base->GetApi(v);
        if (api != NULL) {
            *chosen = v;
            return api;
        }
    }
    return NULL;
}

// Checks that the slots we read really are CreateStatus/GetErrorCode/GetErrorMessage/ReleaseStatus:
// a status made with a known code and text must read back the same.
static int probe(const stratus_ort_fns *fns) {
    static const char text[] = "stratus-ort-probe";
    OrtStatusP status = fns->CreateStatus(ORT_CODE_FAIL, text);
    if (status == NULL) return 0;
    const char *message = fns->GetErrorMessage(status);
    int ok = fns->GetErrorCode(status) == ORT_CODE_FAIL && message != NULL && strcmp(message, text) == 0;
    fns->ReleaseStatus(status);
    return ok;
}

int stratus_ort_open(const char *path, char *err, size_t errlen) {
    if (path == NULL || path[0] == '\0') {
        set_error(err, errlen, "no ONNX Runtime library path given");
        return STRATUS_ORT_ERR_UNAVAILABLE;
    }
    char *resolved = realpath(path, NULL);
    if (resolved == NULL) {
        set_error(err, errlen, "cannot open ONNX Runtime library %s: %s", path, strerror(errno));
        return STRATUS_ORT_ERR_UNAVAILABLE;
    }

    pthread_mutex_lock(&g_lock);
    int rc = STRATUS_ORT_ERR_UNAVAILABLE;
    if (g_ready) {
        if (strcmp(resolved, g_path) == 0) {
            rc = STRATUS_ORT_OK;
        } else {
            set_error(err, errlen, "ONNX Runtime is already loaded from %s; a process can use only one (asked for %s)",
                      g_path, resolved);
        }
        goto out;
    }

    dlerror();
    void *handle = dlopen(resolved, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *why = dlerror();
        set_error(err, errlen, "cannot load ONNX Runtime library %s: %s", resolved, why ? why : "dlopen failed");
        goto out;
    }
    const stratus_ort_api_base *(*get_api_base)(void);
    void *symbol = dlsym(handle, "OrtGetApiBase");
    if (symbol == NULL) {
        set_error(err, errlen, "%s is not ONNX Runtime: it has no OrtGetApiBase", resolved);
        dlclose(handle);
        goto out;
    }
    memcpy(&get_api_base, &symbol, sizeof get_api_base);
    const stratus_ort_api_base *base = get_api_base();
    const char *version = base && base->GetVersionString ? base->GetVersionString() : NULL;
    if (version == NULL) version = "(unknown version)";
    uint32_t chosen = 0;
    const void *api = base && base->GetApi ? negotiate(base, version, &chosen) : NULL;
    if (api == NULL) {
        set_error(err, errlen, "ONNX Runtime %s at %s offers none of API versions %u...%u (need 1.%u or newer)",
                  version, resolved, STRATUS_ORT_API_MIN, STRATUS_ORT_API_MAX, STRATUS_ORT_API_MIN);
        dlclose(handle);
        goto out;
    }
    stratus_ort_fns fns;
    if (!load_functions(api, version, &fns, err, errlen)) {
        dlclose(handle);
        goto out;
    }
    if (!probe(&fns)) {
        set_error(err, errlen, "ONNX Runtime %s at %s: the OrtApi table does not have the expected layout", version,
                  resolved);
        dlclose(handle);
        goto out;
    }
    g_fns = fns;

    void *env = NULL;
    OrtStatusP status = g_fns.CreateEnv(ORT_LOGGING_ERROR, "stratus", &env);
    if (status != NULL) {
        take_status(status, err, errlen, "cannot create the ONNX Runtime environment");
        dlclose(handle);
        goto out;
    }
    void *memory_info = NULL;
    status = g_fns.CreateCpuMemoryInfo(ORT_ALLOCATOR_ARENA, ORT_MEMTYPE_DEFAULT, &memory_info);
    if (status != NULL) {
        // The environment stays: ONNX Runtime keeps one per process, and the library stays loaded.
        take_status(status, err, errlen, "cannot describe CPU memory to ONNX Runtime");
        goto out;
    }

    // The library is never closed: ONNX Runtime's environment and thread pools live until exit.
    g_env = env;
    g_memory_info = memory_info;
    snprintf(g_version, sizeof g_version, "%s", version);
    g_api_version = chosen;
    g_path = resolved;
    resolved = NULL;
    __atomic_store_n(&g_ready, 1, __ATOMIC_RELEASE);
    rc = STRATUS_ORT_OK;

out:
    pthread_mutex_unlock(&g_lock);
    free(resolved);
    return rc;
}

const char *stratus_ort_version(void) { return is_ready() ? g_version : NULL; }

uint32_t stratus_ort_api_version(void) { return is_ready() ? g_api_version : 0; }

// ---------------------------------------------------------------------------------------------
// Sessions.

typedef struct io_info {
    char *name;
    int is_tensor;
    int32_t element_type;
    size_t rank;
    int64_t *dims;
} io_info;

struct stratus_ort_session {
    void *session;
    size_t count[2];     // [inputs, outputs]
    io_info *info[2];    // [inputs, outputs]
    const char **names[2];
};

void stratus_ort_session_free(stratus_ort_session *s) {
    if (s == NULL) return;
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; s->info[k] != NULL && i < s->count[k]; i++) {
            free(s->info[k][i].name);
            free(s->info[k][i].dims);
        }
        free(s->info[k]);
        free(s->names[k]);
    }
    if (s->session != NULL) g_fns.ReleaseSession(s->session);
    free(s);
}

// Reads the name, type and shape of input or output `index` into `info`.
static int read_io(stratus_ort_session *s, int k, size_t index, void *allocator, char *err, size_t errlen) {
    io_info *info = &s->info[k][index];
    const char *what = k ? "output" : "input";
    char context[96];
    char *name = NULL;
    OrtStatusP status = k ? g_fns.SessionGetOutputName(s->session, index, allocator, &name)
                          : g_fns.SessionGetInputName(s->session, index, allocator, &name);
    if (status != NULL) {
        snprintf(context, sizeof context, "cannot read the name of %s %zu", what, index);
        take_status(status, err, errlen, context);
        return 0;
    }
    info->name = strdup(name ? name : "");
    if (name != NULL) {
        status = g_fns.AllocatorFree(allocator, name);
        if (status != NULL) g_fns.ReleaseStatus(status);
    }
    if (info->name == NULL) {
        set_error(err, errlen, "out of memory");
        return 0;
    }

    snprintf(context, sizeof context, "cannot read the type of %s '%s'", what, info->name);
    void *type_info = NULL;
    status = k ? g_fns.SessionGetOutputTypeInfo(s->session, index, &type_info)
               : g_fns.SessionGetInputTypeInfo(s->session, index, &type_info);
    if (status != NULL) {
        take_status(status, err, errlen, context);
        return 0;
    }
    int ok = 0;
    int onnx_type = 0;
    const void *tensor_info = NULL;
    if ((status = g_fns.GetOnnxTypeFromTypeInfo(type_info, &onnx_type)) != NULL) {
        take_status(status, err, errlen, context);
        goto done;
    }
    if (onnx_type != ONNX_TYPE_TENSOR) {  // a sequence, map, optional, sparse tensor...: described, not usable
        info->is_tensor = 0;
        info->element_type = STRATUS_ORT_TYPE_UNDEFINED;
        ok = 1;
        goto done;
    }
    if ((status = g_fns.CastTypeInfoToTensorInfo(type_info, &tensor_info)) != NULL) {
        take_status(status, err, errlen, context);
        goto done;
    }
    if (tensor_info == NULL) {
        set_error(err, errlen, "%s: no tensor information", context);
        goto done;
    }
    int element_type = 0;
    size_t rank = 0;
    if ((status = g_fns.GetTensorElementType(tensor_info, &element_type)) != NULL ||
        (status = g_fns.GetDimensionsCount(tensor_info, &rank)) != NULL) {
        take_status(status, err, errlen, context);
        goto done;
    }
    info->dims = calloc(rank ? rank : 1, sizeof(int64_t));
    if (info->dims == NULL) {
        set_error(err, errlen, "out of memory");
        goto done;
    }
    if (rank > 0 && (status = g_fns.GetDimensions(tensor_info, info->dims, rank)) != NULL) {
        take_status(status, err, errlen, context);
        goto done;
    }
    info->is_tensor = 1;
    info->element_type = element_type;
    info->rank = rank;
    ok = 1;
done:
    g_fns.ReleaseTypeInfo(type_info);  // also frees tensor_info, which it owns
    return ok;
}

int stratus_ort_session_create(const void *bytes, size_t len, int intra_op_threads, int allow_spinning,
                               stratus_ort_session **out, char *err, size_t errlen) {
    *out = NULL;
    if (!is_ready()) {
        set_error(err, errlen, "ONNX Runtime is not loaded");
        return STRATUS_ORT_ERR_UNAVAILABLE;
    }
    if (bytes == NULL || len == 0) {
        set_error(err, errlen, "the model is empty");
        return STRATUS_ORT_ERR_MODEL;
    }
    if (intra_op_threads < 0) intra_op_threads = 0;

    void *options = NULL;
    OrtStatusP status = g_fns.CreateSessionOptions(&options);
    if (status != NULL) {
        take_status(status, err, errlen, "cannot create session options");
        return STRATUS_ORT_ERR_RUNTIME;
    }
    const char *spin = allow_spinning ? "1" : "0";
    if ((status = g_fns.SetIntraOpNumThreads(options, intra_op_threads)) != NULL ||
        (status = g_fns.SetInterOpNumThreads(options, 1)) != NULL ||
        (status = g_fns.SetSessionGraphOptimizationLevel(options, ORT_GRAPH_OPT_ALL)) != NULL ||
        (status = g_fns.AddSessionConfigEntry(options, "session.intra_op.allow_spinning", spin)) != NULL ||
        (status = g_fns.AddSessionConfigEntry(options, "session.inter_op.allow_spinning", spin)) != NULL) {
        take_status(status, err, errlen, "cannot set session options");
        g_fns.ReleaseSessionOptions(options);
        return STRATUS_ORT_ERR_RUNTIME;
    }

    stratus_ort_session *s = calloc(1, sizeof *s);
    if (s == NULL) {
        g_fns.ReleaseSessionOptions(options);
        set_error(err, errlen, "out of memory");
        return STRATUS_ORT_ERR_RUNTIME;
    }
    status = g_fns.CreateSessionFromArray(g_env, bytes, len, options, &s->session);
    g_fns.ReleaseSessionOptions(options);
    if (status != NULL) {
        s->session = NULL;
        take_status(status, err, errlen, "ONNX Runtime cannot load the model");
        stratus_ort_session_free(s);
        return STRATUS_ORT_ERR_MODEL;
    }

    void *allocator = NULL;
    if ((status = g_fns.GetAllocatorWithDefaultOptions(&allocator)) != NULL ||
        (status = g_fns.SessionGetInputCount(s->session, &s->count[0])) != NULL ||
        (status = g_fns.SessionGetOutputCount(s->session, &s->count[1])) != NULL) {
        take_status(status, err, errlen, "cannot read the model's inputs and outputs");
        stratus_ort_session_free(s);
        return STRATUS_ORT_ERR_MODEL;
    }
    size_t counts[2] = {s->count[0], s->count[1]};
    s->count[0] = s->count[1] = 0;  // grows as entries are filled, so a partial session frees cleanly
    for (int k = 0; k < 2; k++) {
        s->info[k] = calloc(counts[k] ? counts[k] : 1, sizeof(io_info));
        s->names[k] = calloc(counts[k] ? counts[k] : 1, sizeof(char *));
        if (s->info[k] == NULL || s->names[k] == NULL) {
            set_error(err, errlen, "out of memory");
            stratus_ort_session_free(s);
            return STRATUS_ORT_ERR_RUNTIME;
        }
        for (size_t i = 0; i < counts[k]; i++) {
            s->count[k] = i + 1;
            if (!read_io(s, k, i, allocator, err, errlen)) {
                stratus_ort_session_free(s);
                return STRATUS_ORT_ERR_MODEL;
            }
            s->names[k][i] = s->info[k][i].name;
        }
    }
    *out = s;
    return STRATUS_ORT_OK;
}

static const io_info *io_at(const stratus_ort_session *s, int is_output, size_t index) {
    int k = is_output ? 1 : 0;
    return s != NULL && index < s->count[k] ? &s->info[k][index] : NULL;
}

size_t stratus_ort_session_io_count(const stratus_ort_session *s, int is_output) {
    return s != NULL ? s->count[is_output ? 1 : 0] : 0;
}

const char *stratus_ort_session_io_name(const stratus_ort_session *s, int is_output, size_t index) {
    const io_info *info = io_at(s, is_output, index);
    return info ? info->name : NULL;
}

int32_t stratus_ort_session_io_element_type(const stratus_ort_session *s, int is_output, size_t index) {
    const io_info *info = io_at(s, is_output, index);
    return info ? info->element_type : -1;
}

int stratus_ort_session_io_is_tensor(const stratus_ort_session *s, int is_output, size_t index) {
    const io_info *info = io_at(s, is_output, index);
    return info ? info->is_tensor : 0;
}

size_t stratus_ort_session_io_shape(const stratus_ort_session *s, int is_output, size_t index, int64_t *dims,
                                    size_t capacity) {
    const io_info *info = io_at(s, is_output, index);
    if (info == NULL) return 0;
    for (size_t i = 0; i < info->rank && i < capacity && dims != NULL; i++) dims[i] = info->dims[i];
    return info->rank;
}

// ---------------------------------------------------------------------------------------------
// Running.

void stratus_ort_outputs_free(stratus_ort_output *outputs, size_t count) {
    for (size_t i = 0; outputs != NULL && i < count; i++) {
        free(outputs[i].shape);
        free(outputs[i].data);
        memset(&outputs[i], 0, sizeof outputs[i]);
    }
}

// Copies one ONNX Runtime output value into `out` (malloc'd shape and data).
static int copy_output(void *value, const char *name, stratus_ort_output *out, char *err, size_t errlen) {
    char context[160];
    snprintf(context, sizeof context, "cannot read output '%s'", name);
    if (value == NULL) {
        set_error(err, errlen, "%s: ONNX Runtime returned no value", context);
        return 0;
    }
    void *shape_info = NULL;
    OrtStatusP status = g_fns.GetTensorTypeAndShape(value, &shape_info);
    if (status != NULL) {
        take_status(status, err, errlen, context);  // e.g. a sequence or map output
        return 0;
    }
    int ok = 0;
    int element_type = 0;
    size_t rank = 0, count = 0;
    if ((status = g_fns.GetTensorElementType(shape_info, &element_type)) != NULL ||
        (status = g_fns.GetDimensionsCount(shape_info, &rank)) != NULL ||
        (status = g_fns.GetTensorShapeElementCount(shape_info, &count)) != NULL) {
        take_status(status, err, errlen, context);
        goto done;
    }
    size_t size = stratus_ort_element_size(element_type);
    if (size == 0) {
        set_error(err, errlen, "output '%s' has ONNX element type %d, which has no fixed size", name, element_type);
        goto done;
    }
    if (count > SIZE_MAX / size) {
        set_error(err, errlen, "output '%s' is too large", name);
        goto done;
    }
    out->element_type = element_type;
    out->rank = rank;
    out->byte_len = count * size;
    out->shape = calloc(rank ? rank : 1, sizeof(int64_t));
    out->data = malloc(out->byte_len ? out->byte_len : 1);
    if (out->shape == NULL || out->data == NULL) {
        set_error(err, errlen, "out of memory for output '%s'", name);
        goto done;
    }
    if (rank > 0 && (status = g_fns.GetDimensions(shape_info, out->shape, rank)) != NULL) {
        take_status(status, err, errlen, context);
        goto done;
    }
    if (out->byte_len > 0) {
        void *data = NULL;
        if ((status = g_fns.GetTensorMutableData(value, &data)) != NULL) {
            take_status(status, err, errlen, context);
            goto done;
        }
        if (data == NULL) {
            set_error(err, errlen, "%s: no data", context);
            goto done;
        }
        memcpy(out->data, data, out->byte_len);
    }
    ok = 1;
done:
    g_fns.ReleaseTensorTypeAndShapeInfo(shape_info);
    return ok;
}

int stratus_ort_run(stratus_ort_session *s, const stratus_ort_input *inputs, size_t input_count,
                    stratus_ort_output *outputs, size_t output_count, char *err, size_t errlen) {
    if (outputs != NULL) memset(outputs, 0, output_count * sizeof *outputs);
    if (s == NULL || !is_ready()) {
        set_error(err, errlen, "ONNX Runtime is not loaded");
        return STRATUS_ORT_ERR_UNAVAILABLE;
    }
    if (input_count != s->count[0] || output_count != s->count[1] || (input_count && inputs == NULL) ||
        (output_count && outputs == NULL)) {
        set_error(err, errlen, "the model takes %zu inputs and gives %zu outputs, not %zu and %zu", s->count[0],
                  s->count[1], input_count, output_count);
        return STRATUS_ORT_ERR_INPUT;
    }
    static char empty;  // stands in for the data of a tensor with no elements
    int rc = STRATUS_ORT_ERR_RUNTIME;
    void **values = calloc(input_count + output_count + 1, sizeof(void *));
    if (values == NULL) {
        set_error(err, errlen, "out of memory");
        return rc;
    }
    void **results = values + input_count;
    OrtStatusP status;
    for (size_t i = 0; i < input_count; i++) {
        // ONNX Runtime only reads an input's buffer; the parameter is not const in its API.
        void *data = inputs[i].data ? (void *)inputs[i].data : (void *)&empty;
        status = g_fns.CreateTensorWithDataAsOrtValue(g_memory_info, data, inputs[i].byte_len, inputs[i].shape,
                                                      inputs[i].rank, inputs[i].element_type, &values[i]);
        if (status != NULL) {
            char context[160];
            snprintf(context, sizeof context, "input '%s'", s->info[0][i].name);
            take_status(status, err, errlen, context);
            rc = STRATUS_ORT_ERR_INPUT;
            goto out;
        }
    }
    status = g_fns.Run(s->session, NULL, s->names[0], (const void *const *)values, input_count, s->names[1],
                       output_count, results);
    if (status != NULL) {
        int code = take_status(status, err, errlen, "ONNX Runtime");
        rc = code == ORT_CODE_INVALID_ARGUMENT ? STRATUS_ORT_ERR_INPUT : STRATUS_ORT_ERR_RUNTIME;
        goto out;
    }
    for (size_t i = 0; i < output_count; i++) {
        if (!copy_output(results[i], s->info[1][i].name, &outputs[i], err, errlen)) {
            stratus_ort_outputs_free(outputs, output_count);
            goto out;
        }
    }
    rc = STRATUS_ORT_OK;
out:
    for (size_t i = 0; i < input_count + output_count; i++) {
        if (values[i] != NULL) g_fns.ReleaseValue(values[i]);
    }
    free(values);
    return rc;
}
