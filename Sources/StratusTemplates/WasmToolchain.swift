import Foundation

/// Where the tools and libraries that build WASI modules live on this machine.
public struct WasmToolchain: Sendable, Equatable {
    /// A Swift compiler whose toolchain has the Embedded Swift standard library for wasm32.
    public var swiftc: String?
    /// The WebAssembly linker.
    public var wasmLD: String?
    /// A clang that targets wasm32 (the Swift toolchain's, or the system's).
    public var clang: String?
    /// The WASI sysroot: `<sysroot>/lib/wasm32-wasi` holds crt1-command.o and libc.a (Debian: /usr).
    public var wasiSysroot: String?
    /// A clang resource directory holding `lib/wasi/libclang_rt.builtins-wasm32.a`.
    public var clangResourceDirectory: String?

    /// A toolchain made of the given paths (nil: that piece is missing).
    public init(
        swiftc: String? = nil, wasmLD: String? = nil, clang: String? = nil,
        wasiSysroot: String? = nil, clangResourceDirectory: String? = nil
    ) {
        self.swiftc = swiftc
        self.wasmLD = wasmLD
        self.clang = clang
        self.wasiSysroot = wasiSysroot
        self.clangResourceDirectory = clangResourceDirectory
    }

    /// `<sysroot>/lib/wasm32-wasi`: crt1-command.o, libc.a.
    public var wasiLibraryDirectory: String? { wasiSysroot.map { "\($0)/lib/wasm32-wasi" } }

    /// The compiler builtins archive for wasm32.
    public var builtinsArchive: String? {
        clangResourceDirectory.map { "\($0)/\(WasmToolchain.builtinsRelativePath)" }
    }

    /// The Embedded Swift Unicode tables archive (String normalization), next to swiftc's stdlib.
    public var unicodeDataTablesArchive: String? {
        guard let swiftc else { return nil }
        let path = "\(WasmToolchain.toolchainRoot(ofTool: swiftc))/lib/swift/embedded/wasm32-unknown-none-wasm/libswiftUnicodeDataTables.a"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// The pieces `language` needs that are missing, each with how to install it.
    public func missingPieces(for language: TemplateLanguage) -> [(name: String, hint: String)] {
        var missing: [(name: String, hint: String)] = []
        switch language {
        case .swiftWasm:
            if swiftc == nil {
                missing.append(("swiftc with the Embedded Swift wasm32 standard library",
                                "install a Swift 6 toolchain from swift.org and put its usr/bin on PATH (or set STRATUS_SWIFTC)"))
            }
            if wasmLD == nil {
                missing.append(("wasm-ld", "it ships in the swift.org toolchain's usr/bin; or apt-get install -y lld"))
            }
        case .cWasm:
            if clang == nil {
                missing.append(("clang", "it ships in the swift.org toolchain's usr/bin; or apt-get install -y clang"))
            }
        case .python3, .python3Http, .node, .bash, .bootstrap, .scfBootstrap:
            return []
        case .swiftLambda:
            return swiftc == nil ? [("swiftc", "install a Swift 6 toolchain from swift.org and put its usr/bin on PATH (or set STRATUS_SWIFTC)")] : []  // bundles need only tar; the interpreter is checked where the function is deployed
        }
        if wasiSysroot == nil {
            missing.append(("wasi-libc (lib/wasm32-wasi/crt1-command.o, libc.a)", "apt-get install -y wasi-libc"))
        }
        if clangResourceDirectory == nil {
            missing.append(("wasm32 compiler builtins (libclang_rt.builtins-wasm32.a)", "apt-get install -y libclang-rt-14-dev-wasm32"))
        }
        return missing
    }

    static let builtinsRelativePath = "lib/wasi/libclang_rt.builtins-wasm32.a"

    /// Finds the tools: environment overrides (STRATUS_SWIFTC, STRATUS_WASI_SYSROOT), then PATH,
    /// then the usual install places (/opt/swift/usr/bin, /usr/lib/wasm32-wasi, /usr/lib/llvm-*).
    /// `environment` defaults to this process's.
    public static func detect(environment: [String: String]? = nil) -> WasmToolchain {
        let environment = environment ?? ProcessInfo.processInfo.environment
        let files = FileManager.default
        let path = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        let defaultBins = ["/opt/swift/usr/bin", "/usr/bin", "/usr/local/bin"]

        // swiftc: the first one whose toolchain has the Embedded wasm32 stdlib.
        var swiftcCandidates = [environment["STRATUS_SWIFTC"]].compactMap { $0 }
        swiftcCandidates += (path + defaultBins).map { "\($0)/swiftc" }
        let swiftc = swiftcCandidates.lazy.compactMap { candidate -> String? in
            guard files.isExecutableFile(atPath: candidate) else { return nil }
            // Resolve links to find the toolchain (a /usr/bin link, swiftc -> swift-driver), but run
            // it as `swiftc`: the driver picks its mode from the name it is called by.
            let root = toolchainRoot(ofTool: resolve(candidate))
            let stdlib = "\(root)/lib/swift/embedded/Swift.swiftmodule/wasm32-unknown-none-wasm.swiftmodule"
            guard files.fileExists(atPath: stdlib) else { return nil }
            return files.isExecutableFile(atPath: "\(root)/bin/swiftc") ? "\(root)/bin/swiftc" : candidate
        }.first
        // wasm-ld and clang: next to that swiftc first, then PATH, then the usual places.
        let bins = (swiftc.map { [URL(fileURLWithPath: $0).deletingLastPathComponent().path] } ?? []) + path + defaultBins
        let wasmLD = bins.map { "\($0)/wasm-ld" }.first(where: files.isExecutableFile(atPath:))
        let clang = bins.map { "\($0)/clang" }.first(where: files.isExecutableFile(atPath:))

        let sysrootCandidates = [environment["STRATUS_WASI_SYSROOT"], "/usr", "/usr/local", "/opt/wasi-sdk/share/wasi-sysroot"]
        let sysroot = sysrootCandidates.compactMap { $0 }.first { root in
            files.fileExists(atPath: "\(root)/lib/wasm32-wasi/crt1-command.o") && files.fileExists(atPath: "\(root)/lib/wasm32-wasi/libc.a")
        }
        return WasmToolchain(
            swiftc: swiftc, wasmLD: wasmLD, clang: clang, wasiSysroot: sysroot,
            clangResourceDirectory: findResourceDirectory(extra: clang.map { [toolchainRoot(ofTool: $0) + "/lib/clang"] } ?? []))
    }

    /// The newest clang resource directory that holds the wasm32 builtins archive.
    static func findResourceDirectory(extra: [String]) -> String? {
        let files = FileManager.default
        var clangDirectories = extra
        for base in ["/usr/lib", "/usr/local/lib"] {
            let llvms = ((try? files.contentsOfDirectory(atPath: base)) ?? []).filter { $0.hasPrefix("llvm-") }
            clangDirectories += llvms.map { "\(base)/\($0)/lib/clang" }
        }
        clangDirectories.append("/opt/wasi-sdk/lib/clang")
        var found: [String] = []
        for clangDirectory in clangDirectories {
            for version in (try? files.contentsOfDirectory(atPath: clangDirectory)) ?? [] {
                let directory = "\(clangDirectory)/\(version)"
                if files.fileExists(atPath: "\(directory)/\(builtinsRelativePath)") { found.append(directory) }
            }
        }
        return found.max { versionKey($0) .lexicographicallyPrecedes(versionKey($1)) }
    }

    /// The numbers in a path, for ordering `llvm-9` before `llvm-14`.
    static func versionKey(_ path: String) -> [Int] {
        path.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    }

    /// `/opt/swift/usr` for `/opt/swift/usr/bin/swiftc`.
    static func toolchainRoot(ofTool tool: String) -> String {
        URL(fileURLWithPath: tool).deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The path with symbolic links resolved (so a PATH shim finds its real toolchain).
    static func resolve(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }
}
