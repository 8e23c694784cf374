import ZooCore
#if canImport(Glibc)
import Glibc
#endif

/// The committed inputs of the fuzz targets in a checkout, as scripts/fuzz.sh reads them too:
/// seeds (`Fuzz/seeds.txt`), regressions (`Fuzz/regressions/<target>/`) and the crashes whose fix
/// is under way elsewhere (`Fuzz/known-crashes.txt`).
public struct FuzzInputs {
    public let repository: String
    /// Seed patterns by target.
    private let seedPatterns: [String: [String]]
    private let known: [(target: String, files: String, reason: String)]

    public init(repository: String) throws {
        self.repository = repository
        seedPatterns = Dictionary(try Self.table(repository + "/Fuzz/seeds.txt").map { ($0[0], Array($0.dropFirst())) },
                                  uniquingKeysWith: +)
        known = try Self.table(repository + "/Fuzz/known-crashes.txt").map { fields in
            guard fields.count >= 4 else {
                throw ZooError(.format, "Fuzz/known-crashes.txt: expected 'target frame files reason…', found '\(fields.joined(separator: " "))'")
            }
            return (fields[0], fields[2], fields[3...].joined(separator: " "))
        }
    }

    /// Every seed of `target`: the files its patterns name, and for `ARCHIVE:ENTRY` patterns the
    /// matching entries of those that are readable zip archives.
    public func seeds(of target: String) throws -> [(name: String, bytes: [UInt8])] {
        var out: [(String, [UInt8])] = []
        for pattern in seedPatterns[target] ?? [] {
            let parts = pattern.split(separator: ":", maxSplits: 1).map(String.init)
            for path in glob(repository + "/" + parts[0]) {
                let name = String(path.dropFirst(repository.count + 1))
                guard parts.count == 2 else {
                    out.append((name, try MappedFile.contents(of: path)))
                    continue
                }
                // damaged archives (fixtures of broken files) have no entries to give
                guard let archive = try? ZipReader(path: path, kind: "a seed archive", displayName: name) else { continue }
                for entry in archive.names where fnmatch(parts[1], entry, 0) == 0 {
                    if let bytes = try? archive.read(entry) { out.append(("\(name):\(entry)", bytes)) }
                }
            }
        }
        return out
    }

    /// The regression inputs of `target`, sorted.
    public func regressions(of target: String) -> [String] {
        glob(repository + "/Fuzz/regressions/\(target)/*")
    }

    /// The folders under `Fuzz/regressions/` (each should be a target's name).
    public func regressionFolders() -> [String] {
        glob(repository + "/Fuzz/regressions/*/").map { String($0.split(separator: "/").last ?? "") }
    }

    /// The targets `Fuzz/known-crashes.txt` names.
    public var knownCrashTargets: [String] { known.map(\.target) }

    /// Why a regression input still crashes, when it belongs to a known crash whose fix has not
    /// landed (replay skips it); nil for every other input.
    public func knownCrash(_ path: String, of target: String) -> String? {
        let file = String(path.split(separator: "/").last ?? "")
        return known.first { $0.target == target && fnmatch($0.files, file, 0) == 0 }?.reason
    }

    /// Whitespace-separated fields of each line, `#` comments and blank lines left out.
    private static func table(_ path: String) throws -> [[String]] {
        let text = String(decoding: try MappedFile.contents(of: path), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            let fields = line.prefix { $0 != "#" }.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            return fields.isEmpty ? nil : fields
        }
    }
}

/// Paths matching a shell pattern, sorted; none when nothing matches.
private func glob(_ pattern: String) -> [String] {
    var result = glob_t()
    defer { globfree(&result) }
    guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
    return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }.sorted()
}
