public import Foundation
import StratusArchive
public import StratusModel

/// Function bundles: gzip'd tar archives of a handler and its template, unpacked once per digest.
extension ProcessRuntime {
    /// Whether `bytes` start like a gzip file (a bundle) rather than a Wasm module.
    public static func isBundle(_ bytes: [UInt8]) -> Bool {
        Archive.isGzip(bytes)
    }

    /// Checks that `bytes` is a tar.gz whose entries all stay inside the folder it unpacks into.
    public func validateBundle(_ bytes: [UInt8]) throws(ProcessError) {
        do { try Archive.validate(bytes) } catch { throw ProcessError(error) }
    }

    /// Unpacks the bundle (once per digest) and returns its folder.
    public func prepareBundle(digest: Digest, bytes: [UInt8]) throws(ProcessError) -> URL {
        let target = bundleDirectory.appendingPathComponent(digest.hex)
        if FileManager.default.fileExists(atPath: target.path) { return target }
        do { try Archive.unpack([bytes], into: target, allowLinks: true) } catch { throw ProcessError(error) }
        return target
    }
}

extension ProcessError {
    init(_ error: ArchiveError) {
        switch error {
        case .invalid(let why): self = .invalidBundle(why)
        case .io(let why): self = .io(why)
        }
    }
}
