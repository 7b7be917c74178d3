import WasmKit

/// WASI preview1 error numbers the host returns.
enum WASIErrno: Int32, Error {
    case success = 0
    case acces = 2
    case isdir = 31
    case badf = 8
    case fault = 21
    case fbig = 22
    case inval = 28
    case io = 29
    case nosys = 52
    case spipe = 70
    case notcapable = 76
    case noent = 44
    case rofs = 69
    case mfileLimit = 33
}

/// Every `wasi_snapshot_preview1` function and its type, so any import a guest declares can be linked.
let preview1Signatures: [String: FunctionType] = {
    let i = ValueType.i32
    let l = ValueType.i64
    func f(_ params: [ValueType], _ results: [ValueType] = [.i32]) -> FunctionType {
        FunctionType(parameters: params, results: results)
    }
    return [
        "args_get": f([i, i]), "args_sizes_get": f([i, i]),
        "clock_res_get": f([i, i]), "clock_time_get": f([i, l, i]),
        "environ_get": f([i, i]), "environ_sizes_get": f([i, i]),
        "fd_advise": f([i, l, l, i]), "fd_allocate": f([i, l, l]), "fd_close": f([i]), "fd_datasync": f([i]),
        "fd_fdstat_get": f([i, i]), "fd_fdstat_set_flags": f([i, i]), "fd_fdstat_set_rights": f([i, l, l]),
        "fd_filestat_get": f([i, i]), "fd_filestat_set_size": f([i, l]), "fd_filestat_set_times": f([i, l, l, i]),
        "fd_pread": f([i, i, i, l, i]), "fd_prestat_dir_name": f([i, i, i]), "fd_prestat_get": f([i, i]),
        "fd_pwrite": f([i, i, i, l, i]), "fd_read": f([i, i, i, i]), "fd_readdir": f([i, i, i, l, i]),
        "fd_renumber": f([i, i]), "fd_seek": f([i, l, i, i]), "fd_sync": f([i]), "fd_tell": f([i, i]),
        "fd_write": f([i, i, i, i]),
        "path_create_directory": f([i, i, i]), "path_filestat_get": f([i, i, i, i, i]),
        "path_filestat_set_times": f([i, i, i, i, l, l, i]), "path_link": f([i, i, i, i, i, i, i]),
        "path_open": f([i, i, i, i, i, l, l, i, i]), "path_readlink": f([i, i, i, i, i, i]),
        "path_remove_directory": f([i, i, i]), "path_rename": f([i, i, i, i, i, i]),
        "path_symlink": f([i, i, i, i, i]), "path_unlink_file": f([i, i, i]),
        "poll_oneoff": f([i, i, i, i]), "proc_exit": f([i], []), "proc_raise": f([i]), "sched_yield": f([]),
        "random_get": f([i, i]),
        "sock_accept": f([i, i, i]), "sock_recv": f([i, i, i, i, i, i]), "sock_send": f([i, i, i, i, i]),
        "sock_shutdown": f([i, i]),
    ]
}()

/// The WASI module name guests import from.
let wasiModuleName = "wasi_snapshot_preview1"
