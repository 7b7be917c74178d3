import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The post-instantiation image of a guest's linear memory, and the fastest way to return to it.
///
/// On Linux the image is written to an unlinked temporary file and mapped copy-on-write over the start of the
/// instance's memory, so a reset is one `madvise(MADV_DONTNEED)`: the kernel drops only the pages
/// the call dirtied (file-backed pages revert to the image, pages the call grew revert to zero).
/// Resetting costs in proportion to what a call touched, not to the memory's size, which lets
/// modules keep megabytes of initial heap. Small images, other systems, or a failed mapping copy
/// the image back instead.
final class MemorySnapshot: @unchecked Sendable {
    /// Below this size copying the image back is cheaper than the page faults a mapping costs
    /// (measured: 128 KiB Swift hello 33 µs copied vs 91 µs mapped; 4 MiB image 118 µs vs 31 µs).
    static let mappingThreshold = 1024 * 1024
    private let image: [UInt8]
    private var mapped = false

    /// Bytes in the image (the memory's size right after instantiation).
    var count: Int { image.count }

    init(copying memory: UnsafeMutableRawBufferPointer) {
        image = Array(UnsafeRawBufferPointer(memory))
        #if os(Linux)
        if image.count >= Self.mappingThreshold {
            mapped = Self.mapImage(image, over: memory)
        }
        #endif
    }

    /// Puts `memory` (which may have grown) back to the image, zeroing anything past it.
    func restore(_ memory: UnsafeMutableRawBufferPointer) {
        guard let base = memory.baseAddress else { return }
        #if os(Linux)
        if mapped, madvise(base, memory.count, MADV_DONTNEED) == 0 { return }
        #endif
        image.withUnsafeBytes { source in
            base.copyMemory(from: source.baseAddress!, byteCount: min(source.count, memory.count))
        }
        if memory.count > image.count {
            (base + image.count).initializeMemory(as: UInt8.self, repeating: 0, count: memory.count - image.count)
        }
    }

    #if os(Linux)
    /// Maps a memfd holding `image` privately over `memory`; `false` leaves the memory untouched.
    private static func mapImage(_ image: [UInt8], over memory: UnsafeMutableRawBufferPointer) -> Bool {
        let pageSize = Int(getpagesize())
        guard let base = memory.baseAddress, !image.isEmpty, image.count % pageSize == 0,
            Int(bitPattern: base) % pageSize == 0
        else { return false }
        // An unlinked temporary file (memfd_create is not exported to Swift): only this mapping keeps it.
        var template = Array((NSTemporaryDirectory() + "/stratus-snapshot-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd >= 0 { template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) } }
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var written = 0
        let ok = image.withUnsafeBytes { raw -> Bool in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n <= 0 { return false }
                written += n
            }
            return true
        }
        guard ok else { return false }
        let result = mmap(base, image.count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0)
        return result == base
    }
    #endif
}
