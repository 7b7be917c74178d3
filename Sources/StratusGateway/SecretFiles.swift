import Foundation
import StratusModel
import StratusStore

/// Writes the secrets a process function lists into `<data>/run/<name>/secrets/`, which the sandbox
/// maps read-only to `/var/openfaas/secrets` for that function alone.
struct SecretFiles: Sendable {
    let root: URL
    let secrets: any SecretStore

    /// Recreates the function's secrets folder; `nil` when it lists none.
    func materialize(for spec: FunctionSpec) async throws -> URL? {
        let base = root.appendingPathComponent(spec.name.rawValue)
        discard(base)
        guard !spec.secrets.isEmpty else { return nil }
        let folder = base.appendingPathComponent("secrets")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for raw in spec.secrets {
            let name = try SecretName(raw)
            guard let value = try await secrets.secretValue(name) else {
                throw GatewayError.badRequest("secret '\(raw)' does not exist: create it first (stratus secret create \(raw))")
            }
            let file = folder.appendingPathComponent(name.rawValue)
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
        discard(root.appendingPathComponent(name.rawValue))
    }

    /// Deletes a function's folder, making its read-only secrets folder writable first.
    private func discard(_ base: URL) {
        try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: base.appendingPathComponent("secrets").path)
        try? FileManager.default.removeItem(at: base)
    }
}
