import Foundation
import Logging
import PostgresNIO
import StratusModel
import StratusStore

extension PostgresStore {
    /// The schema's versions, in order; a version once released is never edited, only followed.
    static let migrations: [(name: String, statements: [String])] = [
        ("v1: the cluster schema", [
            "CREATE TABLE meta (key text PRIMARY KEY, value bytea NOT NULL)",
            "CREATE TABLE change_counter (id int PRIMARY KEY CHECK (id = 1), value bigint NOT NULL)",
            "INSERT INTO change_counter VALUES (1, 0)",
            "CREATE TABLE artifact (digest text PRIMARY KEY, size bigint NOT NULL, created_at double precision NOT NULL)",
            """
            CREATE TABLE artifact_chunk (digest text NOT NULL REFERENCES artifact ON DELETE CASCADE, seq int NOT NULL,
                                         bytes bytea NOT NULL, PRIMARY KEY (digest, seq))
            """,
            "CREATE TABLE artifact_tag (name text PRIMARY KEY, digest text NOT NULL REFERENCES artifact)",
            "CREATE TABLE namespace (name text PRIMARY KEY, labels text NOT NULL, annotations text NOT NULL, created_at double precision NOT NULL)",
            """
            CREATE TABLE function (name text PRIMARY KEY, namespace text NOT NULL, artifact text REFERENCES artifact, spec text NOT NULL,
                                   updated_at double precision NOT NULL)
            """,
            """
            CREATE TABLE secret (namespace text NOT NULL, name text NOT NULL, sealed bytea NOT NULL, updated_at double precision NOT NULL,
                                 PRIMARY KEY (namespace, name))
            """,
            """
            CREATE TABLE log_line (id bigserial PRIMARY KEY, function text NOT NULL, namespace text NOT NULL, instance text NOT NULL,
                                   node text, ts double precision NOT NULL, text text NOT NULL)
            """,
            "CREATE INDEX log_line_by_function ON log_line (function, namespace, id)",
            "CREATE TABLE site (name text PRIMARY KEY, digest text NOT NULL REFERENCES artifact, deployed_at double precision NOT NULL)",
            """
            CREATE TABLE layer (name text NOT NULL, version int NOT NULL, digest text NOT NULL REFERENCES artifact, size bigint NOT NULL,
                                created_at double precision NOT NULL, PRIMARY KEY (name, version))
            """,
            """
            CREATE TABLE async_call (
              id text PRIMARY KEY, function text NOT NULL, state text NOT NULL, method text NOT NULL, path text NOT NULL, query text NOT NULL,
              headers text NOT NULL, body bytea NOT NULL, callback_url text, attempts int NOT NULL DEFAULT 0,
              callback_attempts int NOT NULL DEFAULT 0, created_at double precision NOT NULL, next_attempt_at double precision NOT NULL,
              last_status int, last_error text, result bytea, claimed_by text, lease_until double precision, claim bigint NOT NULL DEFAULT 0)
            """,
            "CREATE INDEX async_call_due ON async_call (state, next_attempt_at)",
            """
            CREATE TABLE node (id text PRIMARY KEY, address text NOT NULL, version text NOT NULL, started_at double precision NOT NULL,
                               heartbeat_at double precision NOT NULL, functions int NOT NULL, inflight int NOT NULL)
            """,
        ]),
        ("v2: versions, aliases, timer triggers", [
            """
            CREATE TABLE function_version (function text NOT NULL, version int NOT NULL, description text NOT NULL, spec text NOT NULL,
                                           created_at double precision NOT NULL, PRIMARY KEY (function, version))
            """,
            "CREATE TABLE function_version_seq (function text PRIMARY KEY, last int NOT NULL)",
            """
            CREATE TABLE function_alias (function text NOT NULL, name text NOT NULL, routes text NOT NULL, updated_at double precision NOT NULL,
                                         PRIMARY KEY (function, name))
            """,
            """
            CREATE TABLE timer_trigger (function text PRIMARY KEY, schedule text NOT NULL, last_tick bigint NOT NULL, last_fired_by text,
                                        last_run_tick bigint, last_status int, last_error text, last_run_at double precision)
            """,
        ]),
    ]

    /// An arbitrary number every Stratus node locks with while it migrates.
    static let migrationLock: Int64 = 0x5354_5241_5455_53

    /// In one transaction, under an advisory lock (nodes starting together take turns): checks this
    /// node's key against the stored key check, applies the migrations not applied yet, then stores
    /// the key check if there was none. A wrong key rolls everything back: nothing is written.
    func migrate() async throws(StoreError) {
        let logger = logger, key = key
        let applied = try await transaction("migrate the schema", deadline: .seconds(30)) { connection -> [String] in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS stratus_migration (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            let done = Set(try await connection.query("SELECT version FROM stratus_migration", logger: logger).collect(Int.self))
            if done.contains(1), let check = try await connection.query("SELECT value FROM meta WHERE key = 'key_check'", logger: logger)
                .collectOne(ByteBuffer.self) {
                try key.verify(Data(buffer: check))
            }
            var applied: [String] = []
            for (index, migration) in Self.migrations.enumerated() where !done.contains(index + 1) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO stratus_migration (version, name) VALUES (\(index + 1), \(migration.name))", logger: logger)
                applied.append(migration.name)
            }
            let marks = String(decoding: try JSONEncoder().encode(NamespaceMarks.openFaaS), as: UTF8.self)
            try await connection.query("""
                INSERT INTO namespace (name, labels, annotations, created_at) VALUES (\(FunctionName.defaultNamespace), \(marks), \(marks),
                  \(Date().timeIntervalSince1970)) ON CONFLICT DO NOTHING
                """, logger: logger)
            let check = ByteBuffer(bytes: try key.makeCheck())
            try await connection.query("INSERT INTO meta (key, value) VALUES ('key_check', \(check)) ON CONFLICT DO NOTHING", logger: logger)
            return applied
        }
        for name in applied { logger.notice("PostgreSQL store migrated", metadata: ["migration": "\(name)"]) }
    }
}
