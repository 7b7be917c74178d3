/// Parsers for the duration and memory strings users write in stack files and annotations.
public enum Quantities {
    /// Parses `500ms`, `30s`, `2m`, `1h`, or a bare number of seconds, into seconds.
    public static func duration(_ text: String) throws(ModelError) -> Double {
        let trimmed = text.trimmingWhitespace()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            if let value = Double(trimmed.dropLast(suffix.count)), value > 0, value.isFinite { return value * scale }
            throw ModelError.invalidDuration(text)
        }
        guard let value = Double(trimmed), value > 0, value.isFinite else { throw ModelError.invalidDuration(text) }
        return value
    }

    /// Parses a Kubernetes quantity (`64Mi`, `1Gi`, `128M`, `512k`, plain bytes) into bytes.
    public static func memory(_ text: String) throws(ModelError) -> Int {
        let trimmed = text.trimmingWhitespace()
        let units: [(String, Double)] = [
            ("Ki", 1024), ("Mi", 1024 * 1024), ("Gi", 1024 * 1024 * 1024),
            ("k", 1000), ("K", 1000), ("M", 1_000_000), ("G", 1_000_000_000),
        ]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            guard let value = Double(trimmed.dropLast(suffix.count)), value > 0, value * scale < 1e15 else {
                throw ModelError.invalidMemoryQuantity(text)
            }
            return Int(value * scale)
        }
        guard let value = Int(trimmed), value > 0 else { throw ModelError.invalidMemoryQuantity(text) }
        return value
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
