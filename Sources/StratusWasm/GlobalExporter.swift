import WasmParser

/// Rewrites a module so every mutable global is exported under `__stratus_global_<index>`.
///
/// A warm instance is reset to its post-instantiation state between calls; linear memory is
/// reachable through the public API but private globals (LLVM's `__stack_pointer` among them)
/// are not, and `proc_exit` or a trap can leave them changed. Exporting them lets the pool
/// snapshot and restore them without reaching into WasmKit internals.
enum GlobalExporter {
    static let prefix = "__stratus_global_"

    /// The rewritten bytes and the export names added; the original bytes when nothing was needed.
    static func instrument(_ bytes: [UInt8]) throws(WasmError) -> (bytes: [UInt8], globals: [String]) {
        var importedGlobals: UInt32 = 0
        var mutableIndices: [UInt32] = []
        var exportedGlobals = Set<UInt32>()
        var exportNames: [String: UInt32] = [:]
        do {
            var parser = Parser(bytes: bytes)
            while let payload = try parser.parseNext() {
                switch payload {
                case .importSection(let imports):
                    for entry in imports {
                        guard case .global(let type) = entry.descriptor else { continue }
                        if type.mutability == .variable { mutableIndices.append(importedGlobals) }
                        importedGlobals += 1
                    }
                case .globalSection(let globals):
                    for (offset, global) in globals.enumerated() where global.type.mutability == .variable {
                        mutableIndices.append(importedGlobals + UInt32(offset))
                    }
                case .exportSection(let exports):
                    for export in exports {
                        if case .global(let index) = export.descriptor {
                            exportedGlobals.insert(index)
                            exportNames[export.name] = index
                        }
                    }
                default: break
                }
            }
        } catch {
            throw .invalidModule(error.description)
        }
        let missing = mutableIndices.filter { !exportedGlobals.contains($0) }
        var added: [String] = []
        var entries: [UInt8] = []
        for index in missing {
            let name = prefix + String(index)
            added.append(name)
            entries += leb(UInt32(name.utf8.count)) + Array(name.utf8) + [0x03] + leb(index)
        }
        let alreadyExported = exportNames.filter { mutableIndices.contains($0.value) }.map(\.key)
        guard !added.isEmpty else { return (bytes, alreadyExported) }
        return (try rewrite(bytes, adding: entries, count: UInt32(added.count)), added + alreadyExported)
    }

    /// Appends export entries to the export section, creating it in the right place when absent.
    private static func rewrite(_ bytes: [UInt8], adding entries: [UInt8], count: UInt32) throws(WasmError) -> [UInt8] {
        var output = Array(bytes[0..<8])
        var position = 8
        var inserted = false
        // Sections that come after the export section in a module's canonical order.
        let after: Set<UInt8> = [8, 9, 10, 11, 12]
        while position < bytes.count {
            let id = bytes[position]
            var cursor = position + 1
            guard let size = readLEB(bytes, &cursor), cursor + Int(size) <= bytes.count else {
                throw .invalidModule("section at offset \(position) is truncated")
            }
            let payloadStart = cursor
            let payloadEnd = cursor + Int(size)
            if id == 7 {
                var inner = payloadStart
                guard let existing = readLEB(bytes, &inner) else { throw .invalidModule("export section is malformed") }
                let payload = leb(existing + count) + Array(bytes[inner..<payloadEnd]) + entries
                output += [7] + leb(UInt32(payload.count)) + payload
                inserted = true
            } else {
                if !inserted && after.contains(id) {
                    let payload = leb(count) + entries
                    output += [7] + leb(UInt32(payload.count)) + payload
                    inserted = true
                }
                output += bytes[position..<payloadEnd]
            }
            position = payloadEnd
        }
        if !inserted {
            let payload = leb(count) + entries
            output += [7] + leb(UInt32(payload.count)) + payload
        }
        return output
    }

    /// The initial size, in 64 KiB pages, of the module's (first) memory as its memory section
    /// declares it; nil when there is none or it cannot be read (the parser then says why).
    static func initialMemoryPages(_ bytes: [UInt8]) -> UInt32? {
        var position = 8
        while position < bytes.count {
            let id = bytes[position]
            var cursor = position + 1
            guard let size = readLEB(bytes, &cursor), cursor + Int(size) <= bytes.count else { return nil }
            if id == 5 {
                guard let count = readLEB(bytes, &cursor), count > 0, cursor < bytes.count else { return nil }
                cursor += 1  // limits flags: the minimum comes first either way
                return readLEB(bytes, &cursor)
            }
            position = cursor + Int(size)
        }
        return nil
    }

    static func leb(_ value: UInt32) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        repeat {
            var byte = UInt8(value & 0x7f)
            value >>= 7
            if value != 0 { byte |= 0x80 }
            out.append(byte)
        } while value != 0
        return out
    }

    static func readLEB(_ bytes: [UInt8], _ cursor: inout Int) -> UInt32? {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while cursor < bytes.count, shift < 35 {
            let byte = bytes[cursor]
            cursor += 1
            result |= UInt32(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }
}
