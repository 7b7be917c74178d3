

import Foundation

/// The read-only directories preopened at fds 3, 4…: the function's secrets (a flat, in-memory
/// folder at `/var/openfaas/secrets`) and its layers (a host folder at `/opt`), and the files a
/// call opened from them (the fds after the preopens).
struct OpenFiles {
    enum Source {
        /// Files by name, in memory (no subfolders).
        case memory([String: [UInt8]])
        /// A host folder, read on open; paths may have subfolders but never leave it.
        case folder(URL)
    }

    /// The preopened directories, in fd order from 3.
    private(set) var preopens: [(path: String, source: Source)] = []
    private(set) var open: [UInt32: (bytes: [UInt8], offset: Int)] = [:]
    private var next: UInt32 = 3

    static let firstPreopenFD: UInt32 = 3
    /// Largest file a guest may open from a layer (it is read whole).
    static let fileLimit = 256 * 1024 * 1024

    mutating func addPreopen(path: String, source: Source) {
        preopens.append((path, source))
        next = firstFileFD
    }

    var firstFileFD: UInt32 { Self.firstPreopenFD + UInt32(preopens.count) }

    /// The preopened directory at `fd`, if it is one.
    func preopen(_ fd: UInt32) -> (path: String, source: Source)? {
        guard fd >= Self.firstPreopenFD, fd < firstFileFD else { return nil }
        return preopens[Int(fd - Self.firstPreopenFD)]
    }

    /// Closes every file the last call left open.
    mutating func reset() {
        open.removeAll(keepingCapacity: true)
        next = firstFileFD
    }

    mutating func openFile(directory fd: UInt32, _ name: String, oflags: UInt32, rights: UInt64) -> Result<UInt32, WASIErrno> {
        guard let directory = preopen(fd) else { return .failure(.notcapable) }
        let writeRights: UInt64 = 1 << 6 | 1 << 4 | 1 << 22  // fd_write, fd_allocate, fd_filestat_set_size
        if oflags & (1 | 4 | 8) != 0 || rights & writeRights != 0 { return .failure(.rofs) }
        let parts = name.split(separator: "/").filter { $0 != "." }
        guard !parts.isEmpty, !name.hasPrefix("/"), !parts.contains("..") else { return .failure(parts.contains("..") ? .notcapable : .noent) }
        let bytes: [UInt8]
        switch directory.source {
        case .memory(let files):
            guard parts.count == 1, let found = files[String(parts[0])] else { return .failure(.noent) }
            bytes = found
        case .folder(let root):
            switch Self.read(parts.joined(separator: "/"), in: root) {
            case .success(let found): bytes = found
            case .failure(let code): return .failure(code)
            }
        }
        guard open.count < 64 else { return .failure(.mfileLimit) }
        let fd = next
        next += 1
        open[fd] = (bytes, 0)
        return .success(fd)
    }

    /// A regular file under `root`, whose real path (links followed) stays under `root`.
    static func read(_ relative: String, in root: URL) -> Result<[UInt8], WASIErrno> {
        let rootPath = root.resolvingSymlinksInPath().path
        let resolved = root.appendingPathComponent(relative).resolvingSymlinksInPath().path
        guard resolved == rootPath || resolved.hasPrefix(rootPath + "/") else { return .failure(.notcapable) }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isFolder) else { return .failure(.noent) }
        guard !isFolder.boolValue else { return .failure(.isdir) }
        let size = (try? FileManager.default.attributesOfItem(atPath: resolved)[.size] as? Int) ?? 0
        guard size <= fileLimit else { return .failure(.fbig) }
        guard let data = FileManager.default.contents(atPath: resolved) else { return .failure(.acces) }
        return .success(Array(data))
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
