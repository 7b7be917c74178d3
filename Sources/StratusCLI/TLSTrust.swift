import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOSSL
import Synchronization

/// `--tls-ca` and `--tls-no-verify`: how the CLI checks an HTTPS gateway's certificate. By default
/// it trusts what the system trusts, so a gateway started with a self-signed `--tls-cert` needs one of them.
struct TLSOptions: ParsableArguments {
    @Option(name: .customLong("tls-ca"),
            help: "A PEM file of certificates to trust for an HTTPS gateway, besides the system's (e.g. the --tls-cert of `stratus serve`; default: $STRATUS_TLS_CA).")
    var ca: String?

    @Flag(name: .customLong("tls-no-verify"), help: "Do not check the HTTPS gateway's certificate (as faas-cli's --tls-no-verify; for tests only).")
    var noVerify = false

    var trust: TLSTrust {
        let file = ca ?? ProcessInfo.processInfo.environment["STRATUS_TLS_CA"].flatMap { $0.isEmpty ? nil : $0 }
        return TLSTrust(caFile: file, verify: !noVerify)
    }
}

/// Which certificates the CLI's HTTP client accepts.
struct TLSTrust: Hashable, Sendable {
    var caFile: String?
    var verify = true

    static let system = TLSTrust()

    /// The CLI's HTTP client for this trust, made once per process (kept, never shut down, like `HTTPClient.shared`).
    /// Unlike the shared client it fails at once when the gateway cannot be reached or its certificate is not
    /// trusted (the shared one retries for its 90 s connect timeout), and has no read timeout, so
    /// `logs --follow` stays open while a function is quiet; each request still has its own deadline.
    func client() throws -> HTTPClient {
        try Self.clients.withLock { clients in
            if let made = clients[self] { return made }
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile {
                let certificates: [NIOSSLCertificate]
                do { certificates = try NIOSSLCertificate.fromPEMFile(caFile) } catch {
                    throw CLIError("--tls-ca \(caFile): not a readable PEM certificate file (\(error))")
                }
                guard !certificates.isEmpty else { throw CLIError("--tls-ca \(caFile): the file holds no certificate") }
                tls.additionalTrustRoots = [.certificates(certificates)]
            }
            if !verify { tls.certificateVerification = .none }
            var configuration = HTTPClient.Configuration.singletonConfiguration
            configuration.tlsConfiguration = tls
            configuration.timeout = .init(connect: .seconds(10), read: nil)
            configuration.connectionPool.retryConnectionEstablishment = false
            let made = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            clients[self] = made
            return made
        }
    }

    private static let clients = Mutex<[TLSTrust: HTTPClient]>([:])

    /// The CLI's message when a gateway cannot be reached: for a certificate the client does not trust,
    /// says how to trust it; otherwise whether the server runs.
    static func unreachable(_ baseURL: String, _ error: any Error) -> CLIError {
        let text = "\(error)"
        if baseURL.lowercased().hasPrefix("https:"), error is NIOSSLError || text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("handshakeFailed") {
            return CLIError("cannot reach the gateway at \(baseURL): its certificate is not trusted (\(text)). Trust it with --tls-ca FILE.pem (or $STRATUS_TLS_CA), or skip the check with --tls-no-verify")
        }
        return CLIError("cannot reach the gateway at \(baseURL): \(error). Is `stratus serve` running? (set --gateway or OPENFAAS_URL)")
    }
}
