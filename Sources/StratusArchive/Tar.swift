import Foundation

/// /bin/tar as a child process.
enum Tar {
    /// Runs `tar` with `input` on stdin and returns its stdout; the error carries tar's message.
    static func run(_ arguments: [String], input: [UInt8]) throws(ArchiveError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/tar")
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        do { try process.run() } catch { throw .io("cannot run /bin/tar: \(error.localizedDescription)") }
        // stdin is written and stderr read on their own threads: tar may fill one pipe while we wait on another.
        let writer = Thread {
            try? stdin.fileHandleForWriting.write(contentsOf: Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let errors = Box()
        let errorReader = Thread { errors.data = stderr.fileHandleForReading.readDataToEndOfFile() }
        errorReader.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while errors.data == nil { usleep(1000) }
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.data ?? Data(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw .invalid("not a gzip'd tar archive (\(message))")
        }
        return String(decoding: output, as: UTF8.self)
    }
}

private final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Data?
    var data: Data? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
