public import Foundation

/// The gateway's basic-auth credentials, generated on first start into `<data>/credentials` (mode 0600).
public struct Credentials: Sendable, Equatable, Codable {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    /// The file that holds the credentials of the server whose data lives in `directory`.
    public static func file(in directory: URL) -> URL { directory.appendingPathComponent("credentials") }

    /// Reads the credentials, or `nil` when the file is absent or unreadable.
    public static func load(from directory: URL) -> Credentials? {
        guard let data = FileManager.default.contents(atPath: file(in: directory).path) else { return nil }
        return try? JSONDecoder().decode(Credentials.self, from: data)
    }

    /// Loads the stored credentials or creates new random ones; `created` says which.
    /// A credentials file that exists but cannot be read is an error, never silently replaced.
    public static func loadOrCreate(in directory: URL) throws -> (credentials: Credentials, created: Bool) {
        if let existing = load(from: directory) { return (existing, false) }
        let path = file(in: directory).path
        if FileManager.default.fileExists(atPath: path) {
            throw CocoaError(.fileReadCorruptFile, userInfo: [
                NSFilePathErrorKey: path,
                NSLocalizedDescriptionKey: "\(path) exists but is not a valid credentials file; fix or delete it to generate new credentials",
            ])
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let password = String((0..<32).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
        let credentials = Credentials(user: "admin", password: password)
        let data = try JSONEncoder().encode(credentials)
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        return (credentials, true)
    }

    /// Compares a presented user and password in time independent of where they differ.
    func matches(user: String, password: String) -> Bool {
        let userMatches = Self.constantTimeEqual(Array(user.utf8), Array(self.user.utf8))
        let passwordMatches = Self.constantTimeEqual(Array(password.utf8), Array(self.password.utf8))
        return userMatches && passwordMatches
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
