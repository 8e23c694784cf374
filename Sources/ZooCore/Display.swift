/// Strings that came from a file, made safe to show a person: a tensor name or pickle global is
/// the file author's text, and a terminal obeys control characters (ESC sequences set the title,
/// move the cursor, fake a line; a carriage return overwrites one) and bidirectional overrides.
extension String {
    /// How long a string from a file may be when shown (a name of 100,000 characters is cut).
    public static let displayLimit = 160

    /// Control characters (C0, DEL, C1), line and paragraph separators and bidirectional
    /// controls escaped as `\u{…}`, and the whole cut to `displayLimit` characters with the
    /// count of the rest. For text output; JSON output escapes by its own rules and keeps all.
    public var displaySafe: String {
        var out = ""
        var shown = 0
        for scalar in unicodeScalars {
            if shown == Self.displayLimit {
                let rest = unicodeScalars.count - shown
                out += "…(\(rest) more characters)"
                break
            }
            out += Self.isUnsafeForDisplay(scalar) ? scalar.escapedForDisplay : String(scalar)
            shown += 1
        }
        return out
    }

    /// The same escaping for a whole report zoo composed itself: its own line breaks stay,
    /// nothing is cut; anything else a terminal would act on is escaped.
    public var terminalSafe: String { escaped(keepingLineBreaks: true) }

    /// A one-sentence message kept on one line: every control character escaped, line breaks
    /// included, nothing cut.
    public var lineSafe: String { escaped(keepingLineBreaks: false) }

    private func escaped(keepingLineBreaks: Bool) -> String {
        func unsafe(_ s: Unicode.Scalar) -> Bool { Self.isUnsafeForDisplay(s) && !(keepingLineBreaks && s == "\n") }
        guard unicodeScalars.contains(where: unsafe) else { return self }
        var out = ""
        for scalar in unicodeScalars {
            out += unsafe(scalar) ? scalar.escapedForDisplay : String(scalar)
        }
        return out
    }

    static func isUnsafeForDisplay(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x00...0x1F, 0x7F...0x9F: return true           // C0, DEL, C1
        case 0x2028, 0x2029: return true                      // line / paragraph separator
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true // bidirectional controls
        default: return false
        }
    }
}

extension Unicode.Scalar {
    var escapedForDisplay: String {
        switch self {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default: return "\\u{" + String(value, radix: 16) + "}"
        }
    }
}

extension String.StringInterpolation {
    /// `"… '\(shown: name)' …"`: a string from a file, escaped and cut for display.
    public mutating func appendInterpolation(shown value: String) {
        appendLiteral(value.displaySafe)
    }
}

extension String {
    /// Every occurrence of `target` replaced (Foundation's `replacingOccurrences` without Foundation).
    public func replacingAll(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
