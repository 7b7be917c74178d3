/// Maps positions in the `${VAR}`-expanded text back to the file as written, so errors and
/// function lines point at what the user sees even when substitutions change lengths.
struct SourceMap {
    private let expandedLineStarts: [Int]
    private let origins: [Int]
    private let originalLineStarts: [Int]
    private let originalCount: Int

    /// A map from `expansion` back to `original`; `nil` when the expansion changed nothing.
    init?(original: String, expansion: EnvSubst.Expansion) {
        guard let origins = expansion.origins else { return nil }
        let originalScalars = Array(original.unicodeScalars)
        self.origins = origins
        originalCount = originalScalars.count
        originalLineStarts = SourceMap.lineStarts(originalScalars)
        expandedLineStarts = SourceMap.lineStarts(Array(expansion.text.unicodeScalars))
    }

    /// The 1-based line and column in the original text for a 1-based position in the expanded one.
    func original(line: Int, column: Int) -> (line: Int, column: Int) {
        guard line >= 1, line <= expandedLineStarts.count else { return (line, column) }
        let offset = expandedLineStarts[line - 1] + max(column - 1, 0)
        let source = offset < origins.count ? origins[offset] : originalCount
        return SourceMap.position(of: source, lineStarts: originalLineStarts)
    }

    /// Where each line starts, counting `\n`, `\r\n` and a lone `\r` as line breaks (as libyaml does).
    static func lineStarts(_ scalars: [Unicode.Scalar]) -> [Int] {
        var starts = [0]
        for (index, c) in scalars.enumerated() {
            if c == "\n" || (c == "\r" && (index + 1 == scalars.count || scalars[index + 1] != "\n")) {
                starts.append(index + 1)
            }
        }
        return starts
    }

    /// The 1-based line and column of a scalar offset, given the line starts.
    static func position(of offset: Int, lineStarts: [Int]) -> (line: Int, column: Int) {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return (low + 1, offset - lineStarts[low] + 1)
    }
}
