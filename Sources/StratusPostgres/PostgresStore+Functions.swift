public import Foundation
import Logging
import NIOCore
import PostgresNIO
public import StratusModel
public import StratusStore

/// Artifacts live in PostgreSQL as `bytea` chunks of 1 MiB, one row each, under their sha256. Chosen
/// over large objects: chunks are ordinary rows, so they are written in the same transaction as the
/// artifact's row, removed by an ordinary DELETE (large objects outlive their rows unless someone
/// runs `vacuumlo`), copied by pg_dump and replication like any table, and need no `lo_*` rights
/// that managed PostgreSQL services restrict. Each chunk is one message, so a 100 MB model never
/// sits in one buffer on the wire, and a reader streams it chunk by chunk into the node's cache.
extension PostgresStore: FunctionRegistry, ArtifactStore {
    static let chunkSize = 1 << 20

    // MARK: Functions

    public func saveFunction(_ spec: FunctionSpec) async throws(StoreError) {
        let json = try SpecCoding.encode(spec)
        let logger = logger
        try await transaction("save function \(spec.name)") { connection in
            try await connection.query("""
                INSERT INTO function (name, namespace, artifact, spec, updated_at)
                VALUES (\(spec.name.qualified), \(spec.namespace), \(spec.artifact?.description), \(json), \(spec.updatedAt.timeIntervalSince1970))
                ON CONFLICT (name) DO UPDATE SET namespace = excluded.namespace, artifact = excluded.artifact, spec = excluded.spec,
                  updated_at = excluded.updated_at
                """, logger: logger)
            try await Self.changed(connection, logger)
        }
    }

    public func function(named name: FunctionName) async throws(StoreError) -> FunctionSpec? {
        let logger = logger
        let json = try await run("read function \(name)") { connection in
            try await connection.query("SELECT spec FROM function WHERE name = \(name.qualified)", logger: logger).collectOne(String.self)
        }
        return try json.map { (text: String) throws(StoreError) in try SpecCoding.decode(text) }
    }

    public func functions() async throws(StoreError) -> [FunctionSpec] {
        let logger = logger
        let rows = try await run("list functions") { connection in
            try await connection.query("SELECT spec FROM function ORDER BY name", logger: logger).collect(String.self)
        }
        var specs: [FunctionSpec] = []
        for row in rows { specs.append(try SpecCoding.decode(row)) }
        return specs
    }

    public func removeFunction(named name: FunctionName) async throws(StoreError) -> Bool {
        let logger = logger
        return try await transaction("remove function \(name)") { connection in
            let removed = try await connection.query("DELETE FROM function WHERE name = \(name.qualified) RETURNING name", logger: logger)
                .collect(String.self)
            if !removed.isEmpty {
                // Its versions, aliases and timer state go with it (the version counter stays: numbers are never reused).
                try await connection.query("DELETE FROM function_version WHERE function = \(name.qualified)", logger: logger)
                try await connection.query("DELETE FROM function_alias WHERE function = \(name.qualified)", logger: logger)
                try await connection.query("DELETE FROM timer_trigger WHERE function = \(name.qualified)", logger: logger)
                try await Self.changed(connection, logger)
            }
            return !removed.isEmpty
        }
    }

    // MARK: Artifacts

    public func putArtifact(_ bytes: [UInt8], name: ArtifactName?) async throws(StoreError) -> ArtifactRecord {
        // Into this node's cache first (it computes the digest); the shared copy follows.
        let digest = try cache.write(bytes)
        let logger = logger
        let size = bytes.count
        let now = Date().timeIntervalSince1970
        let created = try await transaction("store artifact \(digest)", deadline: Self.deadline(forBytes: size)) { connection -> Double in
            // Two nodes storing the same bytes at once: the second waits here, then finds them stored.
            let inserted = try await connection.query("""
                INSERT INTO artifact (digest, size, created_at) VALUES (\(digest.description), \(size), \(now))
                ON CONFLICT DO NOTHING RETURNING created_at
                """, logger: logger).collect(Double.self)
            if !inserted.isEmpty {
                var seq = 0
                var offset = 0
                repeat {
                    let end = min(offset + Self.chunkSize, size)
                    let chunk = ByteBuffer(bytes: bytes[offset..<end])
                    try await connection.query("INSERT INTO artifact_chunk (digest, seq, bytes) VALUES (\(digest.description), \(seq), \(chunk))",
                                               logger: logger)
                    seq += 1
                    offset = end
                } while offset < size
            }
            if let name {
                try await connection.query("""
                    INSERT INTO artifact_tag (name, digest) VALUES (\(name.description), \(digest.description))
                    ON CONFLICT (name) DO UPDATE SET digest = excluded.digest
                    """, logger: logger)
            }
            return try await connection.query("SELECT created_at FROM artifact WHERE digest = \(digest.description)", logger: logger)
                .collectOne(Double.self) ?? now
        }
        return ArtifactRecord(digest: digest, size: size, createdAt: Date(timeIntervalSince1970: created))
    }

    public func resolveArtifact(_ reference: String) async throws(StoreError) -> ArtifactRecord? {
        let logger = logger
        let key: String
        if let digest = try? Digest(reference), reference.hasPrefix("sha256:") {
            key = digest.description
        } else if let name = try? ArtifactName(reference) {
            guard let target = try await run("resolve \(name)", { connection in
                try await connection.query("SELECT digest FROM artifact_tag WHERE name = \(name.description)", logger: logger).collectOne(String.self)
            }) else { return nil }
            key = target
        } else {
            return nil
        }
        let row = try await run("read artifact \(key)") { connection in
            try await connection.query("SELECT size, created_at FROM artifact WHERE digest = \(key)", logger: logger)
                .decode((Int, Double).self).first { _ in true }
        }
        guard let row, let digest = try? Digest(key) else { return nil }
        return ArtifactRecord(digest: digest, size: row.0, createdAt: Date(timeIntervalSince1970: row.1))
    }

    /// From this node's cache when it holds the artifact intact; else streamed from PostgreSQL chunk
    /// by chunk, checked against the digest, and cached for next time.
    public func artifactBytes(_ digest: Digest) async throws(StoreError) -> [UInt8] {
        do { return try cache.read(digest) } catch {
            if case .corruptArtifact = error {
                logger.warning("cached artifact is corrupt; fetching it again", metadata: ["digest": "\(digest)"])
                try? FileManager.default.removeItem(atPath: cache.path(for: digest))
            }
        }
        let logger = logger
        let size = try await run("read artifact \(digest)") { connection in
            try await connection.query("SELECT size FROM artifact WHERE digest = \(digest.description)", logger: logger).collectOne(Int.self)
        }
        guard let size else { throw .missingArtifact(digest) }
        let bytes = try await run("fetch artifact \(digest)", deadline: Self.deadline(forBytes: size)) { connection -> [UInt8] in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(size)
            let rows = try await connection.query("SELECT bytes FROM artifact_chunk WHERE digest = \(digest.description) ORDER BY seq", logger: logger)
            for try await chunk in rows.decode(ByteBuffer.self) { bytes.append(contentsOf: chunk.readableBytesView) }
            return bytes
        }
        // Cached under the digest its bytes have (one hash): a mismatch is filed elsewhere and refused here.
        guard try cache.write(bytes) == digest else { throw .corruptArtifact(digest) }
        return bytes
    }

    /// Time for moving `bytes` to or from the database: the usual deadline, plus a second per 8 MiB.
    static func deadline(forBytes bytes: Int) -> Duration { .seconds(5 + bytes / (8 << 20)) }
}
