

/// A read-only, flat, in-memory directory preopened at fd 3 (the function's secrets at
/// `/var/openfaas/secrets`), and the files a call opened from it (fds 4 and up).
struct OpenFiles {
    /// The preopened directory's guest path and its files; `nil` when the function has none.
    var directory: (path: String, files: [String: [UInt8]])?
    private(set) var open: [UInt32: (bytes: [UInt8], offset: Int)] = [:]
    private var next: UInt32 = 4

    static let directoryFD: UInt32 = 3

    /// Closes every file the last call left open.
    mutating func reset() {
        open.removeAll(keepingCapacity: true)
        next = 4
    }

    mutating func openFile(_ name: String, oflags: UInt32, rights: UInt64) -> Result<UInt32, WASIErrno> {
        guard let directory else { return .failure(.notcapable) }
        let writeRights: UInt64 = 1 << 6 | 1 << 4 | 1 << 22  // fd_write, fd_allocate, fd_filestat_set_size
        if oflags & (1 | 4 | 8) != 0 || rights & writeRights != 0 { return .failure(.rofs) }
        var path = Substring(name)
        while path.hasPrefix("./") { path = path.dropFirst(2) }
        guard !path.contains("/"), path != "..", let bytes = directory.files[String(path)] else { return .failure(.noent) }
        guard open.count < 64 else { return .failure(.mfileLimit) }
        let fd = next
        next += 1
        open[fd] = (bytes, 0)
        return .success(fd)
    }

    mutating func close(_ fd: UInt32) -> WASIErrno {
        open.removeValue(forKey: fd) == nil ? .badf : .success
    }

    /// Copies up to `count` bytes from the file's offset; `nil` when `fd` is not an open file.
    mutating func read(_ fd: UInt32, into target: UnsafeMutableRawBufferPointer) -> Int? {
        guard var file = open[fd] else { return nil }
        let n = min(target.count, file.bytes.count - file.offset)
        if n > 0 {
            file.bytes.withUnsafeBytes { target.baseAddress!.copyMemory(from: $0.baseAddress! + file.offset, byteCount: n) }
            file.offset += n
            open[fd] = file
        }
        return max(0, n)
    }

    mutating func seek(_ fd: UInt32, offset: Int64, whence: UInt32) -> Result<UInt64, WASIErrno> {
        guard var file = open[fd] else { return .failure(fd <= 2 ? .spipe : .badf) }
        let base: Int64 = switch whence {
        case 0: 0
        case 1: Int64(file.offset)
        case 2: Int64(file.bytes.count)
        default: -1
        }
        guard base >= 0, base + offset >= 0 else { return .failure(.inval) }
        file.offset = Int(min(base + offset, Int64(Int32.max)))
        open[fd] = file
        return .success(UInt64(file.offset))
    }

    func size(_ fd: UInt32) -> Int? { open[fd]?.bytes.count }
}
