public import Foundation
public import Logging
import NIOCore
import NIOSSL
import PostgresNIO
public import StratusModel
public import StratusStore
import Synchronization

/// The cluster store: every node of a cluster keeps its shared state in one PostgreSQL database
/// (functions, artifacts, secrets, logs, the async queue, layers, sites, namespaces, nodes).
///
/// - Every change to shared state bumps a change counter and sends `NOTIFY stratus, 'changed'` in
///   the same transaction, so listeners hear of it only once it is committed.
/// - Artifacts are content-addressed rows of 1 MiB `bytea` chunks (see `PostgresStore+Artifacts`),
///   cached on each node's disk by digest and verified on every read.
/// - Each operation has a deadline: when PostgreSQL is down or cut off, it fails with
///   `StoreError.unavailable` instead of waiting, and the pool reconnects by itself once it is back.
public final class PostgresStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// This node's copies of the artifacts it has used.
    let cache: BlobDirectory
    let key: SecretKey
    /// How long one operation may wait for the database.
    let deadline: Duration
    private let runner: Task<Void, Never>
    private let listener = Mutex<Task<Void, Never>?>(nil)
    private let subscribers = Mutex<[UUID: AsyncStream<StoreNotification>.Continuation]>([:])
    /// The channel every node listens on: payload `changed` or `queued`.
    static let channel = "stratus"

    /// Connects to `url` (`postgres://user:password@host:port/database?sslmode=…`), refuses a key that
    /// does not open the store's key check (writing nothing), applies pending migrations (once, under
    /// an advisory lock, whatever the number of nodes starting together) and starts listening.
    public static func open(url: String, cacheDirectory: URL, keyFile: String, logger: Logger,
                            deadline: Duration = .seconds(5)) async throws(StoreError) -> PostgresStore {
        let configuration = try PostgresURL.configuration(url)
        let key = try SecretKey.load(from: keyFile, create: false)
        let cache = try BlobDirectory(root: cacheDirectory)
        cache.sweepTemporaries()
        let store = PostgresStore(client: PostgresClient(configuration: configuration, backgroundLogger: logger), logger: logger, cache: cache,
                                  key: key, deadline: deadline)
        do {
            try await store.migrate()
        } catch {
            store.close()
            throw error
        }
        store.startListening()
        return store
    }

    private init(client: PostgresClient, logger: Logger, cache: BlobDirectory, key: SecretKey, deadline: Duration) {
        self.client = client
        self.logger = logger
        self.cache = cache
        self.key = key
        self.deadline = deadline
        runner = Task { await client.run() }
    }

    /// Stops listening and closes the connections.
    public func close() {
        listener.withLock { $0?.cancel() }
        runner.cancel()
        subscribers.withLock { table in
            for continuation in table.values { continuation.finish() }
            table.removeAll()
        }
    }

    deinit { close() }

    // MARK: Running statements

    /// Runs `body` with a connection, within the deadline. When the deadline passes first, the
    /// caller gets `.unavailable` at once (the statement is cancelled and left to fail on its own).
    func run<T: Sendable>(_ what: String, deadline: Duration? = nil,
                          _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        let limit = deadline ?? self.deadline
        let client = client
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            let done = Mutex(false)
            let finish: @Sendable (Result<T, StoreError>) -> Void = { result in
                let first = done.withLock { done in
                    defer { done = true }
                    return !done
                }
                if first { continuation.resume(returning: result) }
            }
            let timer = Mutex<Task<Void, Never>?>(nil)
            let work = Task {
                do { finish(.success(try await client.withConnection { try await body($0) })) } catch {
                    finish(.failure(Self.storeError(error, what: what)))
                }
                timer.withLock { $0?.cancel() }
            }
            timer.withLock { timer in
                timer = Task {
                    guard (try? await Task.sleep(for: limit)) != nil else { return }
                    finish(.failure(.unavailable("PostgreSQL did not answer within \(limit.components.seconds) s (\(what))")))
                    work.cancel()
                }
            }
        }
        return try result.get()
    }

    /// `run` inside a transaction (rolled back when `body` throws).
    func transaction<T: Sendable>(_ what: String, deadline: Duration? = nil,
                                  _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        let logger = logger
        return try await run(what, deadline: deadline) { connection in
            try await connection.withTransaction(logger: logger) { try await body($0) }
        }
    }

    /// Counts a change to shared state and tells every node (delivered when the transaction commits).
    static func changed(_ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.query("""
            WITH bumped AS (UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value)
            SELECT pg_notify(\(channel), 'changed') FROM bumped
            """, logger: logger)
    }

    /// The store's error for a database failure: a broken or missing connection is `.unavailable`,
    /// a unique-key clash `.duplicate`.
    static func storeError(_ error: any Error, what: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? PostgresTransactionError {
            // What went wrong inside the transaction (or starting or committing it) is the error to report.
            if let inner = error.closureError ?? error.beginError ?? error.commitError { return storeError(inner, what: what) }
        }
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState] {
                if state == "23505" { return .duplicate(error.serverInfo?[.message] ?? "unique key") }
                // Class 08: connection exceptions; 57P01-57P03: the server is shutting down or starting.
                if state.hasPrefix("08") || state.hasPrefix("57P") { return .unavailable("PostgreSQL: \(error.serverInfo?[.message] ?? state) (\(what))") }
                return .database("PostgreSQL: \(error.serverInfo?[.message] ?? state) [\(state)] (\(what))")
            }
            return .unavailable("PostgreSQL: \(String(reflecting: error.code)) (\(what))")
        }
        if error is CancellationError { return .unavailable("cancelled (\(what))") }
        // Pool and connection failures (refused, closed, circuit breaker): the database is not reachable.
        return .unavailable("PostgreSQL: \(error) (\(what))")
    }

    // MARK: Notifications

    /// Keeps one connection listening on the `stratus` channel; after a reconnect it reports both
    /// kinds of notification, since some may have been missed while it was away.
    private func startListening() {
        let client = client, logger = logger
        let task = Task { [weak self] in
            var first = true
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        try await connection.listen(on: Self.channel) { notifications in
                            if !first {
                                logger.notice("PostgreSQL notifications are back: catching up")
                                self?.publish(.changed)
                                self?.publish(.queued)
                            }
                            first = false
                            for try await notification in notifications {
                                self?.publish(notification.payload == "queued" ? .queued : .changed)
                            }
                        }
                    }
                } catch {
                    if Task.isCancelled { return }
                    if !first { logger.warning("PostgreSQL notifications lost; reconnecting", metadata: ["error": "\(error)"]) }
                    first = false
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        listener.withLock { $0 = task }
    }

    private func publish(_ notification: StoreNotification) {
        subscribers.withLock { table in
            for continuation in table.values { continuation.yield(notification) }
        }
    }
}

extension PostgresStore: ChangeFeed {
    public var isShared: Bool { true }

    public func changeCounter() async throws(StoreError) -> Int64 {
        let logger = logger
        return try await run("read the change counter") { connection in
            try await connection.query("SELECT value FROM change_counter WHERE id = 1", logger: logger).collectOne(Int64.self) ?? 0
        }
    }

    public func notifications() -> AsyncStream<StoreNotification> {
        let (stream, continuation) = AsyncStream.makeStream(of: StoreNotification.self, bufferingPolicy: .bufferingNewest(4))
        let id = UUID()
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in self?.subscribers.withLock { _ = $0.removeValue(forKey: id) } }
        return stream
    }
}

extension PostgresRowSequence {
    /// Every row decoded as `T`.
    func collect<T: PostgresDecodable>(_ type: T.Type) async throws -> [T] {
        var values: [T] = []
        for try await value in decode(T.self) { values.append(value) }
        return values
    }

    /// Every row decoded as a tuple of columns.
    func tuples<each Column: PostgresDecodable>(_ types: (repeat each Column).Type) async throws -> [(repeat each Column)] {
        var values: [(repeat each Column)] = []
        for try await value in decode(types) { values.append(value) }
        return values
    }

    func collectOne<T: PostgresDecodable>(_ type: T.Type) async throws -> T? {
        try await collect(type).first
    }

    /// Every row as its random-access form, for rows with many columns.
    func rows() async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in self { rows.append(PostgresRandomAccessRow(row)) }
        return rows
    }
}

/// Reads a `postgres://` (or `postgresql://`) URL into a client configuration, libpq-style:
/// `sslmode` disable, prefer (the default; no certificate check, as libpq), require, verify-full;
/// `host=/path` in the query for a unix socket directory.
public enum PostgresURL {
    static func configuration(_ text: String) throws(StoreError) -> PostgresClient.Configuration {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? "") else {
            throw .database("--store: '\(redacted(text))' is not a postgres:// URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)")
        }
        let user = url.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = url.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        var database = String(url.path.drop { $0 == "/" })
        if database.isEmpty { database = user }
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        var configuration: PostgresClient.Configuration
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            let port = url.port ?? 5432
            configuration = .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        } else {
            guard let host = url.host, !host.isEmpty else { throw .database("--store: the URL names no host") }
            var noCheck = TLSConfiguration.makeClientConfiguration()
            noCheck.certificateVerification = .none
            let tls: PostgresClient.Configuration.TLS
            switch query["sslmode"] ?? "prefer" {
            case "disable": tls = .disable
            case "allow", "prefer": tls = .prefer(noCheck)
            case "require": tls = .require(noCheck)
            case "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
            case let mode: throw .database("--store: unknown sslmode '\(mode)' (disable, prefer, require or verify-full)")
            }
            configuration = .init(host: host, port: url.port ?? 5432, username: user, password: password, database: database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.maximumConnections = 16
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(10))
        return configuration
    }

    /// The URL with its password hidden, for messages and logs.
    public static func redacted(_ text: String) -> String {
        guard var url = URLComponents(string: text), url.password != nil else { return text }
        url.password = "***"
        return url.string ?? "postgres://…"
    }
}
