import Crypto
public import Foundation

/// The key secrets are encrypted with (ChaCha20-Poly1305, 32 bytes in a file of mode 0600). Every
/// node of a cluster reads the same file (`--secret-key-file`, a Kubernetes Secret).
public struct SecretKey: Sendable {
    private let key: SymmetricKey
    /// The file it came from, for messages.
    public let path: String

    /// Reads the key from `path`; with `create`, a missing file is created with 32 random bytes.
    public static func load(from path: String, create: Bool) throws(StoreError) -> SecretKey {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == 32 else {
                throw .corruptRecord("\(path) does not hold a 32-byte key (it has \(data.count) bytes; make one with: head -c 32 /dev/urandom > \(path))")
            }
            return SecretKey(key: SymmetricKey(data: data), path: path)
        }
        guard create else { throw .io("the secret key file \(path) does not exist (make one with: head -c 32 /dev/urandom > \(path); chmod 600 \(path))") }
        let key = SymmetricKey(size: .bits256)
        let data = key.withUnsafeBytes { Data($0) }
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw .io("cannot create \(path)")
        }
        return SecretKey(key: key, path: path)
    }

    public func seal(_ value: [UInt8]) throws(StoreError) -> Data {
        do { return try ChaChaPoly.seal(value, using: key).combined } catch { throw .io("cannot encrypt the secret: \(error)") }
    }

    /// The plain bytes of `sealed`; `what` names the record in the error.
    public func open(_ sealed: Data, what: String) throws(StoreError) -> [UInt8] {
        do { return [UInt8](try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: sealed), using: key)) } catch {
            throw .corruptRecord("\(what) cannot be decrypted with \(path): \(error)")
        }
    }

    /// What the store keeps to tell whether a node's key is the one its secrets were sealed with.
    public static let checkText = Array("stratus secret key check v1".utf8)

    /// Sealed `checkText`, stored once by the first node.
    public func makeCheck() throws(StoreError) -> Data { try seal(Self.checkText) }

    /// Throws `.wrongKey` unless `check` opens with this key.
    public func verify(_ check: Data) throws(StoreError) {
        guard (try? open(check, what: "")) == Self.checkText else {
            throw .wrongKey("""
                the secret key in \(path) is not the key this store's secrets were encrypted with: every node must use the same \
                --secret-key-file (this node stops without writing anything)
                """)
        }
    }
}
