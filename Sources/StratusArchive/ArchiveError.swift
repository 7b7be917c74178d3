/// Why an archive was refused or could not be unpacked; the message is safe to show to the user.
public enum ArchiveError: Error, Sendable, CustomStringConvertible {
    /// Not a gzip'd tar, empty, or holding an entry that leaves its folder (or a link where none may be).
    case invalid(String)
    /// The file system refused, or /bin/tar could not run.
    case io(String)

    public var description: String {
        switch self {
        case .invalid(let why): "invalid archive: \(why)"
        case .io(let why): "storage error: \(why)"
        }
    }
}
