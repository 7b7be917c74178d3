// Wasmtime through its C API, opened with dlopen at run time. The types below are declared here,
// from Wasmtime's C API documentation (wasmtime 50); their sizes are the ones the library uses
// (checked on this machine: wasmtime_val_t 32 bytes, wasmtime_extern_t 32, wasmtime_memory_t 24).
#include "stratus_wasmtime.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// MARK: Wasmtime's types (opaque ones as incomplete structs)

typedef struct wasm_engine_t wasm_engine_t;
typedef struct wasm_config_t wasm_config_t;
typedef struct wasm_trap_t wasm_trap_t;
typedef struct wasm_valtype_t wasm_valtype_t;
typedef struct wasm_functype_t wasm_functype_t;
typedef struct wasmtime_error wasmtime_error_t;
typedef struct wasmtime_store wasmtime_store_t;
typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasmtime_module wasmtime_module_t;
typedef struct wasmtime_linker wasmtime_linker_t;
typedef struct wasmtime_instance_pre wasmtime_instance_pre_t;
typedef struct wasmtime_caller wasmtime_caller_t;
typedef struct wasmtime_pooling_allocation_config_t wasmtime_pooling_allocation_config_t;

typedef struct { size_t size; uint8_t *data; } wasm_byte_vec_t;
typedef struct { size_t size; wasm_valtype_t **data; } wasm_valtype_vec_t;

typedef struct { uint64_t store_id; size_t private_; } wasmtime_func_t;
typedef struct { struct { uint64_t store_id; uint32_t index; } s; uint32_t private_; } wasmtime_memory_t;
typedef struct { uint64_t store_id; size_t private_; } wasmtime_instance_t;

typedef union {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    wasmtime_func_t funcref;
    uint8_t bytes[24];
} wasmtime_valunion_t;
typedef struct { uint8_t kind; wasmtime_valunion_t of; } wasmtime_val_t;

typedef union {
    wasmtime_func_t func;
    wasmtime_memory_t memory;
    uint8_t bytes[24];
} wasmtime_extern_union_t;
typedef struct { uint8_t kind; wasmtime_extern_union_t of; } wasmtime_extern_t;

enum { WASMTIME_KIND_I32 = 0, WASMTIME_KIND_I64 = 1 };
enum { EXTERN_FUNC = 0, EXTERN_MEMORY = 3 };
enum { STRATEGY_CRANELIFT = 1 };
enum { TRAP_INTERRUPT = 10 };

typedef wasm_trap_t *(*wasmtime_func_callback_t)(void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args,
                                                 size_t nargs, wasmtime_val_t *results, size_t nresults);

_Static_assert(sizeof(wasmtime_val_t) == 32, "wasmtime_val_t is 32 bytes");
_Static_assert(sizeof(wasmtime_extern_t) == 32, "wasmtime_extern_t is 32 bytes");
_Static_assert(sizeof(wasmtime_memory_t) == 24, "wasmtime_memory_t is 24 bytes");

// MARK: The functions used, resolved with dlsym

#define STW_FUNCTIONS(X) \
    X(wasm_config_t *, wasm_config_new, (void)) \
    X(wasm_engine_t *, wasm_engine_new_with_config, (wasm_config_t *)) \
    X(void, wasm_engine_delete, (wasm_engine_t *)) \
    X(void, wasmtime_config_strategy_set, (wasm_config_t *, uint8_t)) \
    X(void, wasmtime_config_cranelift_opt_level_set, (wasm_config_t *, uint8_t)) \
    X(void, wasmtime_config_epoch_interruption_set, (wasm_config_t *, bool)) \
    X(void, wasmtime_config_memory_init_cow_set, (wasm_config_t *, bool)) \
    X(wasmtime_pooling_allocation_config_t *, wasmtime_pooling_allocation_config_new, (void)) \
    X(void, wasmtime_pooling_allocation_config_delete, (wasmtime_pooling_allocation_config_t *)) \
    X(void, wasmtime_pooling_allocation_config_total_memories_set, (wasmtime_pooling_allocation_config_t *, uint32_t)) \
    X(void, wasmtime_pooling_allocation_config_total_tables_set, (wasmtime_pooling_allocation_config_t *, uint32_t)) \
    X(void, wasmtime_pooling_allocation_config_total_core_instances_set, (wasmtime_pooling_allocation_config_t *, uint32_t)) \
    X(void, wasmtime_pooling_allocation_config_max_memory_size_set, (wasmtime_pooling_allocation_config_t *, size_t)) \
    X(void, wasmtime_pooling_allocation_config_linear_memory_keep_resident_set, (wasmtime_pooling_allocation_config_t *, size_t)) \
    X(void, wasmtime_pooling_allocation_config_table_elements_set, (wasmtime_pooling_allocation_config_t *, size_t)) \
    X(void, wasmtime_pooling_allocation_config_table_keep_resident_set, (wasmtime_pooling_allocation_config_t *, size_t)) \
    X(void, wasmtime_pooling_allocation_strategy_set, (wasm_config_t *, const wasmtime_pooling_allocation_config_t *)) \
    X(wasmtime_store_t *, wasmtime_store_new, (wasm_engine_t *, void *, void (*)(void *))) \
    X(void, wasmtime_store_delete, (wasmtime_store_t *)) \
    X(wasmtime_context_t *, wasmtime_store_context, (wasmtime_store_t *)) \
    X(void, wasmtime_store_limiter, (wasmtime_store_t *, int64_t, int64_t, int64_t, int64_t, int64_t)) \
    X(void *, wasmtime_context_get_data, (const wasmtime_context_t *)) \
    X(void, wasmtime_context_set_epoch_deadline, (wasmtime_context_t *, uint64_t)) \
    X(void, wasmtime_engine_increment_epoch, (wasm_engine_t *)) \
    X(wasmtime_error_t *, wasmtime_module_new, (wasm_engine_t *, const uint8_t *, size_t, wasmtime_module_t **)) \
    X(void, wasmtime_module_delete, (wasmtime_module_t *)) \
    X(wasmtime_error_t *, wasmtime_module_serialize, (wasmtime_module_t *, wasm_byte_vec_t *)) \
    X(wasmtime_error_t *, wasmtime_module_deserialize, (wasm_engine_t *, const uint8_t *, size_t, wasmtime_module_t **)) \
    X(void, wasm_byte_vec_delete, (wasm_byte_vec_t *)) \
    X(void, wasmtime_error_message, (const wasmtime_error_t *, wasm_byte_vec_t *)) \
    X(void, wasmtime_error_delete, (wasmtime_error_t *)) \
    X(wasm_trap_t *, wasmtime_trap_new, (const char *, size_t)) \
    X(bool, wasmtime_trap_code, (const wasm_trap_t *, uint8_t *)) \
    X(void, wasm_trap_message, (const wasm_trap_t *, wasm_byte_vec_t *)) \
    X(void, wasm_trap_delete, (wasm_trap_t *)) \
    X(wasm_valtype_t *, wasm_valtype_new, (uint8_t)) \
    X(void, wasm_valtype_vec_new, (wasm_valtype_vec_t *, size_t, wasm_valtype_t *const[])) \
    X(void, wasm_valtype_vec_new_empty, (wasm_valtype_vec_t *)) \
    X(wasm_functype_t *, wasm_functype_new, (wasm_valtype_vec_t *, wasm_valtype_vec_t *)) \
    X(void, wasm_functype_delete, (wasm_functype_t *)) \
    X(wasmtime_linker_t *, wasmtime_linker_new, (wasm_engine_t *)) \
    X(void, wasmtime_linker_delete, (wasmtime_linker_t *)) \
    X(wasmtime_error_t *, wasmtime_linker_define_func, \
      (wasmtime_linker_t *, const char *, size_t, const char *, size_t, const wasm_functype_t *, wasmtime_func_callback_t, \
       void *, void (*)(void *))) \
    X(wasmtime_error_t *, wasmtime_linker_instantiate_pre, (const wasmtime_linker_t *, const wasmtime_module_t *, wasmtime_instance_pre_t **)) \
    X(void, wasmtime_instance_pre_delete, (wasmtime_instance_pre_t *)) \
    X(wasmtime_error_t *, wasmtime_instance_pre_instantiate, \
      (const wasmtime_instance_pre_t *, wasmtime_context_t *, wasmtime_instance_t *, wasm_trap_t **)) \
    X(bool, wasmtime_instance_export_get, (wasmtime_context_t *, const wasmtime_instance_t *, const char *, size_t, wasmtime_extern_t *)) \
    X(wasmtime_error_t *, wasmtime_func_call, \
      (wasmtime_context_t *, const wasmtime_func_t *, const wasmtime_val_t *, size_t, wasmtime_val_t *, size_t, wasm_trap_t **)) \
    X(bool, wasmtime_caller_export_get, (wasmtime_caller_t *, const char *, size_t, wasmtime_extern_t *)) \
    X(wasmtime_context_t *, wasmtime_caller_context, (wasmtime_caller_t *)) \
    X(uint8_t *, wasmtime_memory_data, (const wasmtime_context_t *, const wasmtime_memory_t *)) \
    X(size_t, wasmtime_memory_data_size, (const wasmtime_context_t *, const wasmtime_memory_t *))

#define STW_POINTER(ret, name, args) ret(*name) args;
static struct { STW_FUNCTIONS(STW_POINTER) } wt;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_path[4096];
static bool g_ready;
static stw_dispatch_fn g_dispatch;

static void set_error(char *err, size_t errlen, const char *format, ...) {
    if (err == NULL || errlen == 0) return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(err, errlen, format, arguments);
    va_end(arguments);
}

/// Copies a Wasmtime message (which may end in a NUL) into `err`, prefixed.
static void set_message(char *err, size_t errlen, const char *prefix, wasm_byte_vec_t *message) {
    size_t size = message->size;
    if (size > 0 && message->data[size - 1] == 0) size--;
    set_error(err, errlen, "%s%.*s", prefix, (int)size, (const char *)message->data);
    wt.wasm_byte_vec_delete(message);
}

static int fail_with(wasmtime_error_t *error, char *err, size_t errlen, const char *prefix) {
    wasm_byte_vec_t message = {0};
    wt.wasmtime_error_message(error, &message);
    set_message(err, errlen, prefix, &message);
    wt.wasmtime_error_delete(error);
    return STW_ERR_FAILED;
}

int stw_open(const char *path, char *err, size_t errlen) {
    char resolved[4096];
    if (realpath(path, resolved) == NULL) {
        set_error(err, errlen, "no Wasmtime library at %s", path);
        return STW_ERR_UNAVAILABLE;
    }
    pthread_mutex_lock(&g_lock);
    int rc = STW_ERR_UNAVAILABLE;
    if (g_ready) {
        if (strcmp(resolved, g_path) == 0) rc = STW_OK;
        else set_error(err, errlen, "Wasmtime is already loaded from %s; a process uses one (asked for %s)", g_path, resolved);
        goto out;
    }
    dlerror();
    void *handle = dlopen(resolved, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *why = dlerror();
        set_error(err, errlen, "cannot load the Wasmtime library %s: %s", resolved, why ? why : "dlopen failed");
        goto out;
    }
#define STW_RESOLVE(ret, name, args)                                                                   \
    {                                                                                                  \
        void *symbol = dlsym(handle, #name);                                                           \
        if (symbol == NULL) {                                                                          \
            set_error(err, errlen, "%s is not a Wasmtime 50 C API library: it lacks %s", resolved, #name); \
            dlclose(handle);                                                                           \
            goto out;                                                                                  \
        }                                                                                              \
        memcpy(&wt.name, &symbol, sizeof symbol);                                                      \
    }
    STW_FUNCTIONS(STW_RESOLVE)
    snprintf(g_path, sizeof g_path, "%s", resolved);
    g_ready = true;
    rc = STW_OK;
out:
    pthread_mutex_unlock(&g_lock);
    return rc;
}

void stw_set_dispatch(stw_dispatch_fn dispatch) { g_dispatch = dispatch; }

// MARK: Engine and host functions

struct stw_engine {
    wasm_engine_t *engine;
    wasmtime_linker_t *linker;
};

/// One host function's signature, the `env` of its linker definition.
typedef struct {
    uint32_t index;
    uint8_t nparams;
    uint8_t nresults;
    uint8_t params[16];
    uint8_t result;
} host_function;

struct stw_instance {
    wasmtime_store_t *store;
    wasmtime_context_t *context;
    wasmtime_instance_t instance;
    wasmtime_func_t start;
    wasmtime_memory_t memory;
    bool has_memory;
    bool exited;
    int32_t exit_code;
    void *host_context;
};

int stw_engine_new(const stw_settings *settings, stw_engine **out, char *err, size_t errlen) {
    if (!g_ready) {
        set_error(err, errlen, "the Wasmtime library is not open");
        return STW_ERR_UNAVAILABLE;
    }
    wasm_config_t *config = wt.wasm_config_new();
    wt.wasmtime_config_strategy_set(config, STRATEGY_CRANELIFT);
    wt.wasmtime_config_cranelift_opt_level_set(config, settings->opt_level);
    wt.wasmtime_config_epoch_interruption_set(config, true);
    wt.wasmtime_config_memory_init_cow_set(config, true);
    if (settings->pool_instances > 0) {
        wasmtime_pooling_allocation_config_t *pool = wt.wasmtime_pooling_allocation_config_new();
        wt.wasmtime_pooling_allocation_config_total_core_instances_set(pool, settings->pool_instances);
        wt.wasmtime_pooling_allocation_config_total_memories_set(pool, settings->pool_instances);
        wt.wasmtime_pooling_allocation_config_total_tables_set(pool, settings->pool_instances);
        wt.wasmtime_pooling_allocation_config_max_memory_size_set(pool, (size_t)settings->pool_max_memory);
        // Tables up to 100,000 elements, as the store limiter (and WasmKit's) allows; the default is 20,000.
        wt.wasmtime_pooling_allocation_config_table_elements_set(pool, 100000);
        // A freed slot's first bytes are reset in place (memset, or the image copied back) instead of
        // being given back to the kernel: the next instance then takes no page faults there, and no
        // madvise makes the kernel flush every core's TLB. Measured: echo's instance+call from ~45 to ~18 µs.
        wt.wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pool, (size_t)settings->pool_keep_resident);
        wt.wasmtime_pooling_allocation_config_table_keep_resident_set(pool, (size_t)settings->pool_keep_resident);
        wt.wasmtime_pooling_allocation_strategy_set(config, pool);
        wt.wasmtime_pooling_allocation_config_delete(pool);
    }
    wasm_engine_t *engine = wt.wasm_engine_new_with_config(config);  // takes the config
    if (engine == NULL) {
        set_error(err, errlen, "Wasmtime could not make an engine with these settings");
        return STW_ERR_FAILED;
    }
    stw_engine *result = calloc(1, sizeof *result);
    result->engine = engine;
    result->linker = wt.wasmtime_linker_new(engine);
    *out = result;
    return STW_OK;
}

void stw_engine_free(stw_engine *engine) {
    if (engine == NULL) return;
    wt.wasmtime_linker_delete(engine->linker);
    wt.wasm_engine_delete(engine->engine);
    free(engine);
}

void stw_engine_tick(stw_engine *engine) { wt.wasmtime_engine_increment_epoch(engine->engine); }

/// The memory a host call sees: the instance's export, found once.
static uint8_t *guest_memory(wasmtime_caller_t *caller, wasmtime_context_t *context, stw_instance *instance, size_t *size) {
    if (!instance->has_memory) {
        wasmtime_extern_t item;
        if (!wt.wasmtime_caller_export_get(caller, "memory", 6, &item)) {
            *size = 0;
            return NULL;
        }
        if (item.kind != EXTERN_MEMORY) {
            *size = 0;
            return NULL;
        }
        instance->memory = item.of.memory;
        instance->has_memory = true;
    }
    *size = wt.wasmtime_memory_data_size(context, &instance->memory);
    return wt.wasmtime_memory_data(context, &instance->memory);
}

static wasm_trap_t *host_trampoline(void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args, size_t nargs,
                                    wasmtime_val_t *results, size_t nresults) {
    const host_function *function = env;
    wasmtime_context_t *context = wt.wasmtime_caller_context(caller);
    stw_instance *instance = wt.wasmtime_context_get_data(context);
    uint64_t values[16];
    for (size_t i = 0; i < nargs && i < 16; i++) {
        values[i] = args[i].kind == WASMTIME_KIND_I64 ? (uint64_t)args[i].of.i64 : (uint64_t)(uint32_t)args[i].of.i32;
    }
    size_t size = 0;
    uint8_t *memory = guest_memory(caller, context, instance, &size);
    int64_t result = 0;
    int32_t exit_code = 0;
    int32_t outcome = g_dispatch ? g_dispatch(instance->host_context, function->index, memory, size, values, nargs, &result, &exit_code)
                                 : STW_HOST_TRAP;
    switch (outcome) {
    case STW_HOST_OK:
        if (nresults > 0) {
            results[0].kind = function->result;
            if (function->result == WASMTIME_KIND_I64) results[0].of.i64 = result;
            else results[0].of.i32 = (int32_t)result;
        }
        return NULL;
    case STW_HOST_EXIT:
        instance->exited = true;
        instance->exit_code = exit_code;
        return wt.wasmtime_trap_new("proc_exit", 9);
    default:
        return wt.wasmtime_trap_new("host function failed", 20);
    }
}

int stw_define_host(stw_engine *engine, const char *module, const char *name, const uint8_t *params, size_t nparams,
                    const uint8_t *results, size_t nresults, uint32_t index, char *err, size_t errlen) {
    if (nparams > 16 || nresults > 1) {
        set_error(err, errlen, "%s.%s: at most 16 parameters and one result", module, name);
        return STW_ERR_FAILED;
    }
    host_function *function = calloc(1, sizeof *function);
    function->index = index;
    function->nparams = (uint8_t)nparams;
    function->nresults = (uint8_t)nresults;
    memcpy(function->params, params, nparams);
    function->result = nresults > 0 ? results[0] : 0;
    wasm_valtype_t *param_types[16];
    for (size_t i = 0; i < nparams; i++) param_types[i] = wt.wasm_valtype_new(params[i] == STW_I64 ? WASMTIME_KIND_I64 : WASMTIME_KIND_I32);
    wasm_valtype_vec_t param_vec, result_vec;
    if (nparams > 0) wt.wasm_valtype_vec_new(&param_vec, nparams, param_types);
    else wt.wasm_valtype_vec_new_empty(&param_vec);
    if (nresults > 0) {
        wasm_valtype_t *result_type = wt.wasm_valtype_new(results[0] == STW_I64 ? WASMTIME_KIND_I64 : WASMTIME_KIND_I32);
        wt.wasm_valtype_vec_new(&result_vec, 1, &result_type);
    } else {
        wt.wasm_valtype_vec_new_empty(&result_vec);
    }
    wasm_functype_t *type = wt.wasm_functype_new(&param_vec, &result_vec);  // takes both vectors
    wasmtime_error_t *error = wt.wasmtime_linker_define_func(engine->linker, module, strlen(module), name, strlen(name), type,
                                                             host_trampoline, function, free);
    wt.wasm_functype_delete(type);
    if (error) return fail_with(error, err, errlen, "");
    return STW_OK;
}

// MARK: Modules

struct stw_module {
    stw_engine *engine;
    wasmtime_module_t *module;
    wasmtime_instance_pre_t *pre;
};

static int link_module(stw_engine *engine, wasmtime_module_t *module, stw_module **out, char *err, size_t errlen) {
    wasmtime_instance_pre_t *pre = NULL;
    wasmtime_error_t *error = wt.wasmtime_linker_instantiate_pre(engine->linker, module, &pre);
    if (error) {
        wt.wasmtime_module_delete(module);
        return fail_with(error, err, errlen, "");
    }
    stw_module *result = calloc(1, sizeof *result);
    result->engine = engine;
    result->module = module;
    result->pre = pre;
    *out = result;
    return STW_OK;
}

int stw_module_compile(stw_engine *engine, const uint8_t *wasm, size_t len, stw_module **out, char *err, size_t errlen) {
    wasmtime_module_t *module = NULL;
    wasmtime_error_t *error = wt.wasmtime_module_new(engine->engine, wasm, len, &module);
    if (error) return fail_with(error, err, errlen, "");
    return link_module(engine, module, out, err, errlen);
}

int stw_module_deserialize(stw_engine *engine, const uint8_t *bytes, size_t len, stw_module **out, char *err, size_t errlen) {
    wasmtime_module_t *module = NULL;
    wasmtime_error_t *error = wt.wasmtime_module_deserialize(engine->engine, bytes, len, &module);
    if (error) return fail_with(error, err, errlen, "");
    return link_module(engine, module, out, err, errlen);
}

int stw_module_serialize(stw_module *module, uint8_t **bytes, size_t *len, char *err, size_t errlen) {
    wasm_byte_vec_t vec = {0};
    wasmtime_error_t *error = wt.wasmtime_module_serialize(module->module, &vec);
    if (error) return fail_with(error, err, errlen, "");
    uint8_t *copy = malloc(vec.size ? vec.size : 1);
    memcpy(copy, vec.data, vec.size);
    *bytes = copy;
    *len = vec.size;
    wt.wasm_byte_vec_delete(&vec);
    return STW_OK;
}

void stw_bytes_free(uint8_t *bytes, size_t len) {
    (void)len;
    free(bytes);
}

void stw_module_free(stw_module *module) {
    if (module == NULL) return;
    wt.wasmtime_instance_pre_delete(module->pre);
    wt.wasmtime_module_delete(module->module);
    free(module);
}

// MARK: Instances

/// Fills `err` from a trap or an error and says how the run ended.
static int run_outcome(stw_instance *instance, wasmtime_error_t *error, wasm_trap_t *trap, uint8_t *trap_code, char *err,
                       size_t errlen) {
    if (instance->exited) {
        if (error) wt.wasmtime_error_delete(error);
        if (trap) wt.wasm_trap_delete(trap);
        return STW_RUN_EXITED;
    }
    if (trap) {
        uint8_t code = 255;
        if (!wt.wasmtime_trap_code(trap, &code)) code = 255;
        *trap_code = code;
        wasm_byte_vec_t message = {0};
        wt.wasm_trap_message(trap, &message);
        set_message(err, errlen, "", &message);
        wt.wasm_trap_delete(trap);
        return code == TRAP_INTERRUPT ? STW_RUN_INTERRUPTED : STW_RUN_TRAPPED;
    }
    *trap_code = 255;
    fail_with(error, err, errlen, "");
    return STW_RUN_TRAPPED;
}

int stw_instance_new(stw_module *module, void *context, int64_t memory_limit, uint64_t deadline_ticks, stw_instance **out,
                     char *err, size_t errlen) {
    stw_instance *instance = calloc(1, sizeof *instance);
    instance->host_context = context;
    instance->store = wt.wasmtime_store_new(module->engine->engine, instance, NULL);
    instance->context = wt.wasmtime_store_context(instance->store);
    wt.wasmtime_store_limiter(instance->store, memory_limit, 100000, -1, -1, -1);
    wt.wasmtime_context_set_epoch_deadline(instance->context, deadline_ticks);
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *error = wt.wasmtime_instance_pre_instantiate(module->pre, instance->context, &instance->instance, &trap);
    if (error || trap) {
        uint8_t code = 0;
        int outcome = run_outcome(instance, error, trap, &code, err, errlen);
        if (outcome == STW_RUN_INTERRUPTED) set_error(err, errlen, "its start function ran past the deadline");
        stw_instance_free(instance);
        return STW_ERR_FAILED;
    }
    wasmtime_extern_t item;
    if (!instance->has_memory && wt.wasmtime_instance_export_get(instance->context, &instance->instance, "memory", 6, &item) &&
        item.kind == EXTERN_MEMORY) {
        instance->memory = item.of.memory;
        instance->has_memory = true;
    }
    if (!wt.wasmtime_instance_export_get(instance->context, &instance->instance, "_start", 6, &item) || item.kind != EXTERN_FUNC) {
        set_error(err, errlen, "it exports no _start function");
        stw_instance_free(instance);
        return STW_ERR_FAILED;
    }
    instance->start = item.of.func;
    *out = instance;
    return STW_OK;
}

int stw_instance_run(stw_instance *instance, uint64_t deadline_ticks, int32_t *exit_code, uint8_t *trap_code, char *err,
                     size_t errlen) {
    instance->exited = false;
    instance->exit_code = 0;
    wt.wasmtime_context_set_epoch_deadline(instance->context, deadline_ticks);
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *error = wt.wasmtime_func_call(instance->context, &instance->start, NULL, 0, NULL, 0, &trap);
    if (error == NULL && trap == NULL) return STW_RUN_RETURNED;
    int outcome = run_outcome(instance, error, trap, trap_code, err, errlen);
    *exit_code = instance->exit_code;
    return outcome;
}

size_t stw_instance_memory_size(stw_instance *instance) {
    return instance->has_memory ? wt.wasmtime_memory_data_size(instance->context, &instance->memory) : 0;
}

void stw_instance_free(stw_instance *instance) {
    if (instance == NULL) return;
    if (instance->store) wt.wasmtime_store_delete(instance->store);
    free(instance);
}
