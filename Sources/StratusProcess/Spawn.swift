import CStratusSys
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension ProcessFunction {
    /// The executable and argv that start this function for one call: through bubblewrap when there
    /// is a sandbox, else its launcher (user switch, rlimits) and command directly.
    func commandLine(sandbox: Sandbox?) -> (executable: String, arguments: [String]) {
        // Nothing to go through: argv[0] stays as written.
        if sandbox == nil, launcher.isEmpty { return (executable, arguments) }
        return wrap(launcher + [visibleExecutable(sandbox: sandbox)] + arguments.dropFirst(), sandbox: sandbox)
    }

    /// The executable and argv of a classic replica's launcher (`stratus-launcher`): in the sandbox,
    /// as the function's user, under its rlimits but the CPU seconds (the launcher sets those per call);
    /// it runs the function's command for each call, and empties the private `/tmp` between calls.
    func launcherCommandLine(sandbox: Sandbox?, binary: String) -> (executable: String, arguments: [String]) {
        let inside = sandbox == nil ? binary : Sandbox.launcherPath
        let cpu = Int(settings.timeout.rounded(.up)) + 1
        let program = replicaLauncher + [inside, String(cpu), sandbox == nil ? "0" : "1", visibleExecutable(sandbox: sandbox)]
            + arguments.dropFirst()
        return wrap(program, sandbox: sandbox, binds: sandbox == nil ? [] : [(binary, Sandbox.launcherPath)])
    }

    private func wrap(_ program: [String], sandbox: Sandbox?, binds: [(String, String)] = []) -> (executable: String, arguments: [String]) {
        if let sandbox { return sandbox.command(for: self, program: program, binds: binds) }
        return (program[0], program)
    }

    /// The command's path as the process sees it: a command inside the bundle runs from where the
    /// bundle appears in the sandbox.
    func visibleExecutable(sandbox: Sandbox?) -> String {
        guard sandbox != nil, let bundle = directory?.path, executable.hasPrefix(bundle + "/") else { return executable }
        return Sandbox.functionPath + executable.dropFirst(bundle.count)
    }
}

/// Why a process could not be started; the text is safe to show.
struct SpawnFailure: Error {
    let text: String
}

enum Spawner {
    /// Starts `function` in a new process group with the given stdio, in its bundle (or a scratch
    /// directory), with every signal at its default action and none blocked.
    static func spawn(_ function: ProcessFunction, sandbox: Sandbox?, environment: [(String, String)],
                      stdin: Int32, stdout: Int32, stderr: Int32) -> Result<pid_t, SpawnFailure> {
        spawn(function.commandLine(sandbox: sandbox), in: function.directory, environment: environment, stdin: stdin, stdout: stdout, stderr: stderr)
    }

    /// Starts `command` in a new process group with the given stdio (and `channel` as fd 3, when set),
    /// in `directory` (or a scratch directory), with every signal at its default action and none blocked.
    static func spawn(_ command: (executable: String, arguments: [String]), in directory: URL?, environment: [(String, String)],
                      stdin: Int32, stdout: Int32, stderr: Int32, channel: Int32? = nil) -> Result<pid_t, SpawnFailure> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // Nothing else of the server's: not its sockets, not another child's pipe (a descriptor opened
        // without O_CLOEXEC elsewhere, e.g. by Foundation's Process, would keep that pipe open for good).
        if let channel { posix_spawn_file_actions_adddup2(&actions, channel, 3) }
        stratus_spawn_addclosefrom(&actions, channel == nil ? 3 : 4)
        stratus_spawn_addchdir(&actions, directory?.path ?? FileManager.default.temporaryDirectory.path)
        let (executable, arguments) = command
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Every signal back to its default action: the server ignores some (SIGPIPE; SIGTERM and SIGINT
        // are handled through ignored dispositions), and a function must die of SIGTERM when it is stopped.
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.0)=\($0.1)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard code == 0 else { return .failure(SpawnFailure(text: "cannot start \(executable): \(String(cString: strerror(code)))")) }
        return .success(pid)
    }
}
