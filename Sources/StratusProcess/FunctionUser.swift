import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The unprivileged user process functions run as (`stratus serve --function-user`).
public struct FunctionUser: Sendable, Equatable, CustomStringConvertible {
    public let uid: UInt32
    public let gid: UInt32

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }

    /// `nobody`, the default when the server runs as root.
    public static let nobody = FunctionUser(uid: 65534, gid: 65534)

    /// Parses `NAME`, `UID`, `NAME:GROUP` or `UID:GID`; names are looked up in the system's user database.
    public init(parsing text: String) throws(ProcessError) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let userPart = parts.first, !userPart.isEmpty else { throw .invalidUser(text, "empty user") }
        var uid: UInt32
        var gid: UInt32
        if let number = UInt32(userPart) {
            uid = number
            gid = getpwuid(number).map { $0.pointee.pw_gid } ?? number
        } else if let entry = getpwnam(userPart) {
            uid = entry.pointee.pw_uid
            gid = entry.pointee.pw_gid
        } else {
            throw .invalidUser(text, "no user '\(userPart)' on this machine")
        }
        if parts.count == 2 {
            let groupPart = parts[1]
            if let number = UInt32(groupPart) {
                gid = number
            } else if let entry = getgrnam(groupPart) {
                gid = entry.pointee.gr_gid
            } else {
                throw .invalidUser(text, "no group '\(groupPart)' on this machine")
            }
        }
        guard uid != 0 else { throw .invalidUser(text, "functions must not run as root") }
        self.init(uid: uid, gid: gid)
    }

    public var description: String { "\(uid):\(gid)" }

    /// The `setpriv` prefix that switches to this user, or `nil` where it cannot (not root, or no setpriv).
    var switchCommand: [String]? {
        let setpriv = "/usr/bin/setpriv"
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: setpriv) else { return nil }
        return [setpriv, "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--"]
    }
}
