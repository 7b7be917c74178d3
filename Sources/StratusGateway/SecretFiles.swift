import Foundation
import StratusModel

/// Writes the secrets a process function lists into `<data>/run/<name>/secrets/`, which the sandbox
/// maps read-only to `/var/openfaas/secrets` for that function alone.
struct SecretFiles: Sendable {
    let root: URL

    /// Recreates the function's secrets folder with `values` (by secret name, read from the store
    /// by the planner); `nil` when it has none.
    func materialize(_ spec: FunctionSpec, values: [String: [UInt8]]) async throws -> URL? {
        let base = root.appendingPathComponent(spec.name.qualified)
        discard(base)
        guard !values.isEmpty else { return nil }
        let folder = base.appendingPathComponent("secrets")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            let file = folder.appendingPathComponent(name)
            guard FileManager.default.createFile(atPath: file.path, contents: Data(value), attributes: [.posixPermissions: 0o444]) else {
                throw GatewayError(.internalServerError, "cannot write the secrets of \(spec.name)")
            }
        }
        // Readable by the sandbox's unprivileged user; on the host the data directory keeps others out.
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: folder.path)
        return folder
    }

    /// Deletes the function's secrets folder.
    func remove(_ name: FunctionName) {
        discard(root.appendingPathComponent(name.qualified))
    }

    /// Deletes a function's folder, making its read-only secrets folder writable first.
    private func discard(_ base: URL) {
        try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: base.appendingPathComponent("secrets").path)
        try? FileManager.default.removeItem(at: base)
    }
}
