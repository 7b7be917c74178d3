/// The state one guest call reads and writes through WASI: stdin, stdout, stderr, env, opened files.
///
/// Owned by one warm instance and touched only by the thread running that instance's call.
final class GuestIO: @unchecked Sendable {
    var stdin: [UInt8] = []
    var stdinOffset = 0
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    /// `KEY=VALUE\0` strings back to back, and where each one starts.
    var environ: [UInt8] = []
    var environOffsets: [Int] = []
    var args: [UInt8] = []
    var argOffsets: [Int] = []
    /// The preopened secrets directory and the files opened from it.
    var files = OpenFiles()
    /// Bytes stdout and stderr may hold each; a write past it fails with EFBIG.
    var outputLimit = 64 * 1024 * 1024

    /// Prepares for a new call, reusing buffers' capacity.
    func reset(stdin: [UInt8], environment: [(String, String)], arguments: [String], outputLimit: Int) {
        self.stdin = stdin
        stdinOffset = 0
        stdout.removeAll(keepingCapacity: true)
        stderr.removeAll(keepingCapacity: true)
        files.reset()
        self.outputLimit = outputLimit
        environ.removeAll(keepingCapacity: true)
        environOffsets.removeAll(keepingCapacity: true)
        for (key, value) in environment {
            environOffsets.append(environ.count)
            environ.append(contentsOf: key.utf8)
            environ.append(UInt8(ascii: "="))
            environ.append(contentsOf: value.utf8)
            environ.append(0)
        }
        args.removeAll(keepingCapacity: true)
        argOffsets.removeAll(keepingCapacity: true)
        for argument in arguments {
            argOffsets.append(args.count)
            args.append(contentsOf: argument.utf8)
            args.append(0)
        }
    }

    /// Drops the call's data so a parked instance holds no request bytes.
    func clear() {
        stdin = []
        stdout = []
        stderr = []
    }
}

/// Thrown by `proc_exit` to unwind the guest.
struct GuestExit: Error {
    let code: Int32
}
