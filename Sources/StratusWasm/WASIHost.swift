import Foundation
import WasmKit

/// A WASI preview1 host whose stdio and environment live in memory (`GuestIO`), with no filesystem,
/// sockets or network: a function gets nothing it did not declare (its secrets and layers are
/// read-only preopens). Written once against `HostContext`, for both engines.
enum WASIHost {
    /// Every `wasi_snapshot_preview1` function.
    static func functions() -> [HostFunction] {
        preview1Signatures.keys.sorted().map { name in
            let type = preview1Signatures[name]!
            return HostFunction(module: wasiModuleName, name: name, parameters: type.parameters.compactMap(HostFunction.Kind.init),
                                results: type.results.compactMap(HostFunction.Kind.init), body: implementation(name))
        }
    }

    private static func implementation(_ name: String) -> HostFunction.Body {
        @Sendable func errno(_ out: HostResult, _ code: WASIErrno) { out.pointee = Int64(code.rawValue) }
        switch name {
        case "fd_read":
            return { c, a, out in errno(out, c.access { Self.fdRead(c.io, $0, fd: a[0].i32, iovs: a[1].i32, count: a[2].i32, nread: a[3].i32) }) }
        case "fd_write":
            return { c, a, out in errno(out, c.access { Self.fdWrite(c.io, $0, fd: a[0].i32, iovs: a[1].i32, count: a[2].i32, nwritten: a[3].i32) }) }
        case "environ_sizes_get":
            return { c, a, out in errno(out, c.access { Self.sizes($0, c.io.environOffsets.count, c.io.environ.count, a[0].i32, a[1].i32) }) }
        case "environ_get":
            return { c, a, out in errno(out, c.access { Self.strings($0, c.io.environ, c.io.environOffsets, a[0].i32, a[1].i32) }) }
        case "args_sizes_get":
            return { c, a, out in errno(out, c.access { Self.sizes($0, c.io.argOffsets.count, c.io.args.count, a[0].i32, a[1].i32) }) }
        case "args_get":
            return { c, a, out in errno(out, c.access { Self.strings($0, c.io.args, c.io.argOffsets, a[0].i32, a[1].i32) }) }
        case "proc_exit":
            return { c, a, _ in throw GuestExit(code: Int32(bitPattern: a[0].i32)) }
        case "clock_time_get":
            return { c, a, out in
                let ns: UInt64
                if a[0].i32 == 0 {
                    ns = UInt64(max(0, Date().timeIntervalSince1970 * 1e9))
                } else {
                    ns = DispatchTime.now().uptimeNanoseconds
                }
                errno(out, c.access { Self.store64($0, a[2].i32, ns) })
            }
        case "clock_res_get":
            return { c, a, out in errno(out, c.access { Self.store64($0, a[1].i32, 1000) }) }
        case "random_get":
            return { c, a, out in
                errno(out, c.access { memory in
                    guard let range = Self.range(memory, a[0].i32, Int(a[1].i32)) else { return .fault }
                    var generator = SystemRandomNumberGenerator()
                    for index in range { memory[index] = UInt8.random(in: 0...255, using: &generator) }
                    return .success
                })
            }
        case "fd_fdstat_get":
            return { c, a, out in
                let fd = a[0].i32
                if fd > 2 {
                    let isDirectory = c.io.files.preopen(fd) != nil
                    guard isDirectory || c.io.files.size(fd) != nil else { return errno(out, .badf) }
                    return errno(out, c.access { memory in
                        guard let range = Self.range(memory, a[1].i32, 24) else { return .fault }
                        for index in range { memory[index] = 0 }
                        memory[range.lowerBound] = isDirectory ? 3 : 4
                        // Directory: path_open and friends; file: fd_read, fd_seek, fd_tell, fd_filestat_get.
                        let rights: UInt64 = isDirectory ? (1 << 13 | 1 << 18 | 1 << 21) : (1 << 1 | 1 << 2 | 1 << 5 | 1 << 21)
                        _ = Self.store64(memory, a[1].i32 + 8, rights)
                        return Self.store64(memory, a[1].i32 + 16, isDirectory ? (1 << 1 | 1 << 2 | 1 << 5 | 1 << 21) : 0)
                    })
                }
                errno(out, c.access { memory in
                    guard let range = Self.range(memory, a[1].i32, 24) else { return .fault }
                    for index in range { memory[index] = 0 }
                    // Filetype 0 (unknown, like a pipe): not a tty, so libc buffers stdout fully.
                    let rights: UInt64 = a[0].i32 == 0 ? 0x2 : 0x40  // fd_read / fd_write
                    _ = Self.store64(memory, a[1].i32 + 8, rights)
                    return .success
                })
            }
        case "fd_close":
            return { c, a, out in errno(out, a[0].i32 <= 2 ? .success : c.io.files.close(a[0].i32)) }
        case "fd_fdstat_set_flags", "fd_sync", "fd_datasync":
            return { c, a, out in errno(out, a[0].i32 <= 2 ? .success : .badf) }
        case "fd_seek":
            return { c, a, out in
                switch c.io.files.seek(a[0].i32, offset: Int64(bitPattern: a[1].i64), whence: a[2].i32) {
                case .success(let position): errno(out, c.access { Self.store64($0, a[3].i32, position) })
                case .failure(let code): errno(out, code)
                }
            }
        case "fd_tell":
            return { c, a, out in
                switch c.io.files.seek(a[0].i32, offset: 0, whence: 1) {
                case .success(let position): errno(out, c.access { Self.store64($0, a[1].i32, position) })
                case .failure(let code): errno(out, code)
                }
            }
        case "fd_prestat_get":
            return { c, a, out in
                guard let directory = c.io.files.preopen(a[0].i32) else { return errno(out, .badf) }
                errno(out, c.access { memory in
                    guard Self.range(memory, a[1].i32, 8) != nil else { return .fault }
                    memory.storeBytes(of: UInt32(0), toByteOffset: Int(a[1].i32), as: UInt32.self)  // tag: directory
                    return Self.store32(memory, a[1].i32 + 4, UInt32(directory.path.utf8.count))
                })
            }
        case "fd_prestat_dir_name":
            return { c, a, out in
                guard let directory = c.io.files.preopen(a[0].i32) else { return errno(out, .badf) }
                errno(out, c.access { memory in
                    let name = Array(directory.path.utf8)
                    guard Int(a[2].i32) >= name.count, let target = Self.range(memory, a[1].i32, name.count) else { return .fault }
                    for (offset, byte) in name.enumerated() { memory[target.lowerBound + offset] = byte }
                    return .success
                })
            }
        case "path_open":
            return { c, a, out in
                guard c.io.files.preopen(a[0].i32) != nil else { return errno(out, .notcapable) }
                errno(out, c.access { memory in
                    guard let range = Self.range(memory, a[2].i32, Int(a[3].i32)) else { return .fault }
                    let name = String(decoding: UnsafeRawBufferPointer(rebasing: memory[range]), as: UTF8.self)
                    switch c.io.files.openFile(directory: a[0].i32, name, oflags: a[4].i32, rights: a[5].i64) {
                    case .success(let fd): return Self.store32(memory, a[8].i32, fd)
                    case .failure(let code): return code
                    }
                })
            }
        case "fd_filestat_get":
            return { c, a, out in
                let fd = a[0].i32
                let filetype: UInt8
                let size: Int
                if c.io.files.preopen(fd) != nil {
                    (filetype, size) = (3, 0)
                } else if let bytes = c.io.files.size(fd) {
                    (filetype, size) = (4, bytes)
                } else {
                    return errno(out, .badf)
                }
                errno(out, c.access { memory in
                    guard let range = Self.range(memory, a[1].i32, 64) else { return .fault }
                    for index in range { memory[index] = 0 }
                    memory[range.lowerBound + 16] = filetype
                    _ = Self.store64(memory, a[1].i32 + 24, 1)
                    return Self.store64(memory, a[1].i32 + 32, UInt64(size))
                })
            }
        case "sched_yield":
            return { _, _, out in errno(out, .success) }
        case "fd_readdir", "fd_pread", "fd_pwrite",
            "fd_renumber", "fd_allocate", "fd_advise", "fd_filestat_set_size", "fd_filestat_set_times",
            "fd_fdstat_set_rights":
            return { _, _, out in errno(out, .badf) }
        case "poll_oneoff", "proc_raise":
            return { _, _, out in errno(out, .nosys) }
        default:
            // Paths and sockets: this guest was given no directories and no network.
            return { _, _, out in errno(out, .notcapable) }
        }
    }

    // MARK: Implementations over a bounds-checked view of linear memory

    static func range(_ memory: UnsafeMutableRawBufferPointer, _ address: UInt32, _ count: Int) -> Range<Int>? {
        let start = Int(address)
        guard count >= 0, start + count <= memory.count else { return nil }
        return start..<(start + count)
    }

    static func load32(_ memory: UnsafeMutableRawBufferPointer, _ address: UInt32) -> UInt32? {
        guard range(memory, address, 4) != nil else { return nil }
        return memory.loadUnaligned(fromByteOffset: Int(address), as: UInt32.self).littleEndian
    }

    static func store32(_ memory: UnsafeMutableRawBufferPointer, _ address: UInt32, _ value: UInt32) -> WASIErrno {
        guard range(memory, address, 4) != nil else { return .fault }
        memory.storeBytes(of: value.littleEndian, toByteOffset: Int(address), as: UInt32.self)
        return .success
    }

    static func store64(_ memory: UnsafeMutableRawBufferPointer, _ address: UInt32, _ value: UInt64) -> WASIErrno {
        guard range(memory, address, 8) != nil else { return .fault }
        memory.storeBytes(of: value.littleEndian, toByteOffset: Int(address), as: UInt64.self)
        return .success
    }

    static func fdRead(_ io: GuestIO, _ memory: UnsafeMutableRawBufferPointer, fd: UInt32, iovs: UInt32, count: UInt32, nread: UInt32) -> WASIErrno {
        if fd > 2, io.files.size(fd) != nil {
            var total = 0
            for index in 0..<count {
                guard let base = load32(memory, iovs &+ index &* 8), let length = load32(memory, iovs &+ index &* 8 &+ 4),
                    let target = range(memory, base, Int(length))
                else { return .fault }
                let n = io.files.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: memory[target])) ?? 0
                total += n
                if n < target.count { break }
            }
            return store32(memory, nread, UInt32(total))
        }
        guard fd == 0 else { return .badf }
        var total = 0
        for index in 0..<count {
            guard let base = load32(memory, iovs &+ index &* 8), let length = load32(memory, iovs &+ index &* 8 &+ 4),
                let target = range(memory, base, Int(length))
            else { return .fault }
            let available = io.stdin.count - io.stdinOffset
            let n = min(available, target.count)
            if n > 0 {
                io.stdin.withUnsafeBytes { source in
                    memory.baseAddress!.advanced(by: target.lowerBound)
                        .copyMemory(from: source.baseAddress!.advanced(by: io.stdinOffset), byteCount: n)
                }
                io.stdinOffset += n
                total += n
            }
            if n < target.count { break }
        }
        return store32(memory, nread, UInt32(total))
    }

    static func fdWrite(_ io: GuestIO, _ memory: UnsafeMutableRawBufferPointer, fd: UInt32, iovs: UInt32, count: UInt32, nwritten: UInt32) -> WASIErrno {
        guard fd == 1 || fd == 2 else { return .badf }
        var total = 0
        for index in 0..<count {
            guard let base = load32(memory, iovs &+ index &* 8), let length = load32(memory, iovs &+ index &* 8 &+ 4),
                let source = range(memory, base, Int(length))
            else { return .fault }
            let current = fd == 1 ? io.stdout.count : io.stderr.count
            guard current + source.count <= io.outputLimit else { return .fbig }
            let bytes = UnsafeRawBufferPointer(rebasing: memory[source])
            if fd == 1 { io.stdout.append(contentsOf: bytes) } else { io.stderr.append(contentsOf: bytes) }
            total += source.count
        }
        return store32(memory, nwritten, UInt32(total))
    }

    static func sizes(_ memory: UnsafeMutableRawBufferPointer, _ count: Int, _ bytes: Int, _ countPtr: UInt32, _ sizePtr: UInt32) -> WASIErrno {
        let first = store32(memory, countPtr, UInt32(count))
        return first == .success ? store32(memory, sizePtr, UInt32(bytes)) : first
    }

    static func strings(_ memory: UnsafeMutableRawBufferPointer, _ blob: [UInt8], _ offsets: [Int], _ pointers: UInt32, _ buffer: UInt32) -> WASIErrno {
        guard let target = range(memory, buffer, blob.count), range(memory, pointers, offsets.count * 4) != nil else { return .fault }
        blob.withUnsafeBytes { source in
            if !source.isEmpty {
                memory.baseAddress!.advanced(by: target.lowerBound).copyMemory(from: source.baseAddress!, byteCount: source.count)
            }
        }
        for (index, offset) in offsets.enumerated() {
            _ = store32(memory, pointers + UInt32(index * 4), buffer + UInt32(offset))
        }
        return .success
    }
}
