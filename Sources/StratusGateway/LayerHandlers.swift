import Crypto
import Foundation
import Hummingbird
import StratusArchive
import StratusModel
import StratusStore

/// Layers: published versions (content-addressed archives) and the merged folders functions see
/// at `/opt`, one per distinct list of layers, unpacked once under the data directory.
struct LayerDirectory: Sendable {
    let root: URL
    let store: any StratusStorage

    init(root: URL, store: any StratusStorage) throws {
        self.root = root
        self.store = store
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    /// Stores `archive` as the next version of `name` (the same contents as the latest keep its version).
    func publish(_ name: String, archive: [UInt8]) async throws -> (record: LayerRecord, created: Bool) {
        if let problem = FunctionName.problem(with: name) {
            throw GatewayError.badRequest("invalid layer name '\(name)': \(problem)")
        }
        guard Archive.isGzip(archive) else {
            throw GatewayError.badRequest("a layer is a gzip'd tar archive of its folder (tar -czf - -C DIR .)")
        }
        do { try Archive.validate(archive) } catch { throw GatewayError.badRequest("invalid layer: \(error)") }
        do {
            let artifact = try await store.putArtifact(archive, name: nil)
            return try await store.publishLayer(name: name, digest: artifact.digest, size: archive.count)
        } catch {
            throw GatewayError.from(error)
        }
    }

    /// The versions `references` name, in order (a bare name is the latest version).
    func resolve(_ references: [LayerReference]) async throws -> [LayerRecord] {
        var records: [LayerRecord] = []
        for reference in references {
            let found: LayerRecord?
            do { found = try await store.layer(name: reference.name, version: reference.version) } catch { throw GatewayError.from(error) }
            guard let found else {
                throw GatewayError.badRequest("layer '\(reference)' not found: publish it first (stratus layer publish \(reference.name) DIR)")
            }
            records.append(found)
        }
        return records
    }

    /// Pins the spec's `com.stratus.layers` to versions and returns the folder to show at `/opt`
    /// (nil when it lists none).
    func prepare(_ spec: inout FunctionSpec) async throws -> URL? {
        let records = try await records(of: spec)
        guard !records.isEmpty else { return nil }
        spec.annotations[LayerReference.annotation] = records.map(\.reference).joined(separator: ",")
        return try await folder(for: records)
    }

    /// The folder a stored (already pinned) spec's layers are shown from; nil when it has none.
    func folder(for spec: FunctionSpec) async throws -> URL? {
        try await folder(for: records(of: spec))
    }

    /// The layer versions the spec's `com.stratus.layers` names, in order.
    private func records(of spec: FunctionSpec) async throws -> [LayerRecord] {
        let references: [LayerReference]
        do { references = try LayerReference.list(spec.annotations[LayerReference.annotation]) } catch {
            throw GatewayError.badRequest("\(error)")
        }
        return try await resolve(references)
    }

    /// The merged folder of `records` (later layers' files over earlier ones'), unpacked once.
    func folder(for records: [LayerRecord]) async throws -> URL? {
        guard !records.isEmpty else { return nil }
        let key = SHA256.hash(data: Data(records.map(\.digest.description).joined(separator: "\n").utf8))
            .map { String(format: "%02x", $0) }.joined()
        let target = root.appendingPathComponent(key)
        if FileManager.default.fileExists(atPath: target.path) { return target }
        var archives: [[UInt8]] = []
        for record in records {
            do { archives.append(try await store.artifactBytes(record.digest)) } catch { throw GatewayError.from(error) }
        }
        do { try Archive.unpack(archives, into: target, allowLinks: true) } catch { throw GatewayError.badRequest("cannot unpack the layers: \(error)") }
        return target
    }
}

/// `/system/layers`: publish (POST or PUT a tar.gz to `/system/layers/{name}`), list, show, remove a version.
struct LayerHandlers {
    let dependencies: Dependencies
    let layers: LayerDirectory

    func register(on group: RouterGroup<StratusRequestContext>) {
        let gate = dependencies.managementGate
        group.get("layers") { _, _ in
            let all: [LayerRecord]
            do throws(StoreError) { all = try await layers.store.layers() } catch { throw GatewayError.from(error) }
            return try JSON.response(all)
        }
        group.get("layers/{name}") { _, context in
            let name = context.parameters.get("name") ?? ""
            var versions: [LayerRecord]
            do throws(StoreError) { versions = try await layers.store.layers() } catch { throw GatewayError.from(error) }
            versions = versions.filter { $0.name == name }
            guard !versions.isEmpty else { throw GatewayError.notFound("layer '\(name)' not found") }
            return try JSON.response(versions)
        }
        for method in [HTTPRequest.Method.put, .post] {
            group.on("layers/{name}", method: method) { request, context in
                let name = context.parameters.get("name") ?? ""
                let body = try await request.collectBody(limit: dependencies.configuration.maxArtifactBytes)
                guard body.readableBytes > 0 else {
                    throw GatewayError.badRequest("empty body: send the layer's folder as a gzip'd tar archive (tar -czf - -C DIR .)")
                }
                let (record, created) = try await gate.run { try await layers.publish(name, archive: Array(body.readableBytesView)) }
                dependencies.logger.info("layer published", metadata: ["layer": "\(record.reference)", "digest": "\(record.digest)"])
                return try JSON.response(record, status: created ? .created : .ok)
            }
        }
        group.delete("layers/{name}/{version}") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard let version = context.parameters.get("version").flatMap(Int.init) else {
                throw GatewayError.badRequest("the version is a number: DELETE /system/layers/NAME/VERSION")
            }
            return try await gate.run {
                let functions: [FunctionSpec]
                do throws(StoreError) { functions = try await dependencies.registry.functions() } catch { throw GatewayError.from(error) }
                let users = functions.filter { spec in
                    ((try? LayerReference.list(spec.annotations[LayerReference.annotation])) ?? []).contains { $0.name == name && $0.version == version }
                }
                if !users.isEmpty {
                    throw GatewayError(.conflict, "layer \(name):\(version) is used by \(users.map(\.name.rawValue).joined(separator: ", ")): deploy them without it first")
                }
                let removed: Bool
                do throws(StoreError) { removed = try await layers.store.removeLayer(name: name, version: version) } catch { throw GatewayError.from(error) }
                guard removed else { throw GatewayError.notFound("layer \(name):\(version) not found") }
                return Response(status: .noContent)
            }
        }
    }
}
