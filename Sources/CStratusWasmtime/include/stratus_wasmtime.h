// A small binding to Wasmtime's C API, opened at run time with dlopen (no Wasmtime headers, no
// link-time dependency). The declarations it needs are its own, written from Wasmtime's public C
// API documentation (docs.wasmtime.dev) for the 50.x library the setup step fetches.
//
// What it offers is what Stratus runs: one engine (Cranelift, epoch interruption, the pooling
// allocator with copy-on-write memory images), host functions defined once in the engine's linker
// and answered through one dispatch callback, modules compiled or deserialized into an
// instance-pre, and short-lived instances (a store each) that run `_start` under an epoch deadline
// and a memory cap.
//
// Thread safety: an engine and its modules may be used from any thread; an instance from one
// thread at a time. stw_engine_tick may be called from any thread.
#ifndef STRATUS_WASMTIME_H
#define STRATUS_WASMTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result codes of every function here that can fail: 0 on success, else one of these.
enum {
    STW_OK = 0,
    /// The library could not be opened, lacks a function, or was not opened yet.
    STW_ERR_UNAVAILABLE = 1,
    /// Wasmtime refused (compile, deserialize, link, instantiate): the message says why.
    STW_ERR_FAILED = 2,
};

/// How a run of `_start` ended.
enum {
    /// `_start` returned.
    STW_RUN_RETURNED = 0,
    /// The guest called proc_exit (its status is in `exit_code`).
    STW_RUN_EXITED = 1,
    /// A trap (the message says which; `trap_code` holds Wasmtime's code, or 255 when it has none).
    STW_RUN_TRAPPED = 2,
    /// The epoch deadline passed (Wasmtime's trap code 10, "interrupt").
    STW_RUN_INTERRUPTED = 3,
};

/// Value kinds of host function parameters and results.
enum { STW_I32 = 0, STW_I64 = 1 };

/// What a host function answers through the dispatch callback.
enum {
    STW_HOST_OK = 0,
    /// The guest asked to exit: `*exit_code` holds the status; the run unwinds.
    STW_HOST_EXIT = 1,
    /// Something the guest did cannot go on: the run traps.
    STW_HOST_TRAP = 2,
};

/// Every host call comes here. `context` is what the instance was made with; `function` is the
/// index given to stw_define_host; `memory`/`memory_size` the guest's linear memory (NULL/0 when
/// it exports none); `values` the arguments as 64-bit words (an i32 zero-extended). On
/// STW_HOST_OK a function with a result writes it to `*result`.
typedef int32_t (*stw_dispatch_fn)(void *context, uint32_t function, uint8_t *memory, size_t memory_size,
                                   const uint64_t *values, size_t count, int64_t *result, int32_t *exit_code);

/// Opens Wasmtime's shared library at `path` and resolves every function used here. Idempotent
/// for the same path; one library per process.
int stw_open(const char *path, char *err, size_t errlen);

/// Sets the callback every host function goes through (once, before any instance runs).
void stw_set_dispatch(stw_dispatch_fn dispatch);

typedef struct stw_engine stw_engine;
typedef struct stw_module stw_module;
typedef struct stw_instance stw_instance;

/// Engine settings. They are part of what compiled code depends on: a module serialized by an
/// engine with other settings is refused by Wasmtime when deserialized.
typedef struct {
    /// Instances that may exist at once with the pooling allocator; 0 allocates on demand.
    uint32_t pool_instances;
    /// The largest linear memory a pooled instance may grow to, in bytes.
    uint64_t pool_max_memory;
    /// Bytes of a freed instance's memory (and table) reset in place rather than returned to the kernel.
    uint64_t pool_keep_resident;
    /// Cranelift's optimisation level: 0 none, 1 speed, 2 speed and size.
    uint8_t opt_level;
} stw_settings;

int stw_engine_new(const stw_settings *settings, stw_engine **out, char *err, size_t errlen);
void stw_engine_free(stw_engine *engine);

/// Moves the engine's epoch on by one; running instances past their deadline stop.
void stw_engine_tick(stw_engine *engine);

/// Defines `module`.`name` in the engine's linker with the given parameter and result kinds
/// (at most 16 parameters and 1 result); calls reach the dispatch callback with `index`.
/// Must happen before the first module is made.
int stw_define_host(stw_engine *engine, const char *module, const char *name, const uint8_t *params, size_t nparams,
                    const uint8_t *results, size_t nresults, uint32_t index, char *err, size_t errlen);

/// Compiles Wasm bytes (Cranelift) and links them against the host functions.
int stw_module_compile(stw_engine *engine, const uint8_t *wasm, size_t len, stw_module **out, char *err, size_t errlen);

/// Loads code serialized by stw_module_serialize (same library version and settings only) and
/// links it. The bytes must come from a trusted place: they are native code.
int stw_module_deserialize(stw_engine *engine, const uint8_t *bytes, size_t len, stw_module **out, char *err,
                           size_t errlen);

/// The module's compiled code; free it with stw_bytes_free.
int stw_module_serialize(stw_module *module, uint8_t **bytes, size_t *len, char *err, size_t errlen);
void stw_bytes_free(uint8_t *bytes, size_t len);
void stw_module_free(stw_module *module);

/// Makes a store and an instance of `module` whose host calls carry `context`. The store's
/// memories may grow to `memory_limit` bytes (memory.grow returns -1 beyond). A start function
/// runs under a deadline of `deadline_ticks` epochs.
int stw_instance_new(stw_module *module, void *context, int64_t memory_limit, uint64_t deadline_ticks,
                     stw_instance **out, char *err, size_t errlen);

/// Runs the instance's `_start` with a deadline `deadline_ticks` epochs from now. Returns one of
/// STW_RUN_*; a trap's message goes to `err`.
int stw_instance_run(stw_instance *instance, uint64_t deadline_ticks, int32_t *exit_code, uint8_t *trap_code, char *err,
                     size_t errlen);

/// Bytes of linear memory the instance has now.
size_t stw_instance_memory_size(stw_instance *instance);

void stw_instance_free(stw_instance *instance);

#ifdef __cplusplus
}
#endif

#endif
