import Architectures
import Foundation
@testable import KerasIO
import Testing
import ZooCore
import ZooGraph

/// The fixtures of scripts/make_h5_fixtures.py: one content, every layout h5py writes.
enum H5Fixtures {
    static let all = ["earliest.h5", "v108.h5", "latest.h5", "sizes4.h5", "sizes84.h5", "userblock.h5", "smallk.h5"]
    static let versionTwo: Set<String> = ["v108.h5", "latest.h5"]

    /// Objects zoo's reader refuses in `name`, and words of the sentence that says why; "@path"
    /// names the attributes of a group.
    static func refusals(_ name: String) -> [String: String] {
        var out = ["refused/chunked": "stored in chunks", "refused/ints": "expected floating-point values"]
        if versionTwo.contains(name) {
            out["refused/many"] = "uses HDF5 dense link storage, which zoo's reader does not read"
            out["@refused/many_attrs"] = "dense attribute storage"
        }
        return out
    }

    /// Value i of every float dataset is base + i / 8.
    static let bases: [(path: String, shape: [Int], base: Float)] = [
        ("floats/f32le", [3, 4], 1), ("floats/f32be", [2, 3], 2), ("floats/f16", [5], 3), ("floats/f64le", [2, 2], 4),
        ("floats/f64be", [3], 5), ("floats/compact", [2, 3], 7), ("nested/wide", [16, 33], 8), ("nested/deeper/deepest/leaf", [4], 9),
        ("typed", [3], 10),
    ]
}

/// One error sentence of the kind and content expected.
func expectSentence(_ error: ZooError?, mentioning fragments: String..., kind: ZooError.Kind = .format,
                    sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error else { return }
    #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
    #expect(!error.message.contains("\n"), "\(error)", sourceLocation: sourceLocation)
    for fragment in fragments { #expect(error.message.contains(fragment), "\(error)", sourceLocation: sourceLocation) }
}

// MARK: - zoo's reader against libhdf5

@Suite struct H5ReaderAgreesWithLibHDF5 {
    /// Walks `file` with zoo's reader and checks every group, child kind, attribute and float
    /// dataset against what libhdf5 read; refused objects must be refused with their sentence.
    /// Returns how many values were compared.
    @discardableResult
    static func compare(_ file: H5ReadFile, with reference: LibHDF5Listing, refusals: [String: String] = [:],
                        cycles: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        var compared = 0
        var refused = Set<String>()
        func visit(_ group: H5ReadGroup) throws {
            let path = group.path
            #expect(try group.childNames() == reference.children[path], "children of '\(path)'", sourceLocation: sourceLocation)
            for (name, value) in (reference.attributes[path] ?? [:]).sorted(by: { $0.key < $1.key }) {
                if let words = refusals["@" + path] {
                    let error = #expect(throws: ZooError.self, sourceLocation: sourceLocation) { try group.stringsAttribute(name) }
                    expectSentence(error, mentioning: words, file.displayName, sourceLocation: sourceLocation)
                    refused.insert("@" + path)
                    continue
                }
                #expect(group.hasAttribute(name), "@\(path) \(name)", sourceLocation: sourceLocation)
                switch value {
                case .strings(let strings):
                    #expect(try group.stringsAttribute(name) == strings, "@\(path) \(name)", sourceLocation: sourceLocation)
                    compared += strings.count
                case .notStrings:
                    let error = #expect(throws: ZooError.self, sourceLocation: sourceLocation) { try group.stringsAttribute(name) }
                    expectSentence(error, mentioning: "'\(name)'", "to hold strings", sourceLocation: sourceLocation)
                }
            }
            if refusals["@" + path] == nil {
                #expect(!group.hasAttribute("not an attribute"), sourceLocation: sourceLocation)
                #expect(try group.stringsAttribute("not an attribute") == nil, sourceLocation: sourceLocation)
            }
            for name in try group.childNames() {
                let child = path.isEmpty ? name : "\(path)/\(name)"
                #expect(group.contains(name), sourceLocation: sourceLocation)
                if let target = cycles[child] {
                    // a hard link back up the tree: the same group again, not walked twice
                    #expect(group.kind(of: name) == .group, sourceLocation: sourceLocation)
                    #expect(try group.openGroup(name).childNames() == reference.children[target], sourceLocation: sourceLocation)
                    continue
                }
                #expect(group.kind(of: name) == reference.kinds[child], "kind of '\(child)'", sourceLocation: sourceLocation)
                if let words = refusals[child] {
                    let error = #expect(throws: ZooError.self, sourceLocation: sourceLocation) {
                        if group.kind(of: name) == .group { _ = try group.openGroup(name) } else { _ = try group.readFloats(name) }
                    }
                    expectSentence(error, mentioning: words, "'\(child)'", file.displayName, sourceLocation: sourceLocation)
                    refused.insert(child)
                    continue
                }
                switch reference.kinds[child] {
                case .group?:
                    try visit(try group.openGroup(name))
                case .dataset?:
                    let expected = try #require(reference.floats[child], "'\(child)' holds no floats", sourceLocation: sourceLocation)
                    let (shape, values) = try group.readFloats(name)
                    #expect(shape == expected.shape, "'\(child)'", sourceLocation: sourceLocation)
                    #expect(values == expected.values, "'\(child)'", sourceLocation: sourceLocation)
                    #expect(try group.datasetShape(name) == expected.shape, sourceLocation: sourceLocation)
                    #expect(try group.readFloat32(name) == Tensor(shape: shape, floats: values), sourceLocation: sourceLocation)
                    compared += values.count
                default:
                    break // soft links: listed, not followed
                }
            }
            #expect(!group.contains("not a child"), sourceLocation: sourceLocation)
            #expect(group.kind(of: "not a child") == nil, sourceLocation: sourceLocation)
        }
        try visit(try file.root())
        #expect(refused == Set(refusals.keys), "refusals seen", sourceLocation: sourceLocation)
        return compared
    }

    @Test(arguments: H5Fixtures.all)
    func h5pyFixture(_ name: String) throws {
        let path = Fixtures.h5Path(name)
        let reference = try LibHDF5Listing(path: path, skipping: ["soft", "nested/again"])
        #expect(reference.otherDatasets == ["refused/ints"])
        let cycles = ["nested/again": "nested"]
        let compared = try Self.compare(try H5ReadFile.open(path: path), with: reference, refusals: H5Fixtures.refusals(name), cycles: cycles)
        #expect(compared > 550)
        // the same file from memory
        try Self.compare(try H5ReadFile(bytes: MappedFile.contents(of: path), displayName: name), with: reference,
                         refusals: H5Fixtures.refusals(name), cycles: cycles)
    }

    @Test(arguments: ["tiny.weights.h5", "tiny.h5"])
    func realKerasFile(_ name: String) throws {
        let path = Fixtures.path(name)
        let compared = try Self.compare(try H5ReadFile.open(path: path), with: try LibHDF5Listing(path: path))
        #expect(compared >= 149) // 149 weight values, plus the names
    }

    @Test func realKerasArchive() throws {
        let path = Fixtures.path("tiny.keras")
        let bytes = try ZipReader(path: path, kind: "a .keras file", displayName: path).read("model.weights.h5")
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let copy = folder.file("model.weights.h5")
        try Data(bytes).write(to: URL(fileURLWithPath: copy))
        let reference = try LibHDF5Listing(path: copy)
        try Self.compare(try H5ReadFile(bytes: bytes, displayName: "tiny.keras (model.weights.h5)"), with: reference)
        // the stored entry read in place, from the map, at its offset in the zip
        let mapped = try MappedFile(path: path)
        let entry = try #require(ZipDirectory(mapped.bytes).stored["model.weights.h5"])
        #expect(entry.range.lowerBound % 512 != 0)
        try Self.compare(try H5ReadFile(mapped: mapped, range: entry.range, displayName: "tiny.keras (model.weights.h5)"), with: reference)
    }

    /// What zoo writes (through libhdf5), read back by zoo's reader and by libhdf5.
    @Test(arguments: KerasFormat.allCases)
    func filesZooWrites(_ format: KerasFormat) throws {
        let model = try smallGraph(Registry.named("bert")!).kerasModel()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for dtype in KerasDType.allCases {
            let path = folder.file("bert-\(dtype.rawValue)" + format.fileExtension)
            try KerasFile.write(model, weights: randomWeights(model, seed: 4), to: path, dtype: dtype)
            // libhdf5 finds the HDF5 data of a .keras after its user block, as zoo's reader does
            let reference = try LibHDF5Listing(path: path)
            let file: H5ReadFile
            if format == .keras {
                let mapped = try MappedFile(path: path)
                let entry = try #require(ZipDirectory(mapped.bytes).stored["model.weights.h5"])
                #expect(entry.range.lowerBound >= 512 && entry.range.lowerBound & (entry.range.lowerBound - 1) == 0)
                file = try H5ReadFile(mapped: mapped, range: entry.range, displayName: path)
                #expect(file.base == entry.range.lowerBound)
            } else {
                file = try H5ReadFile.open(path: path)
            }
            #expect(try Self.compare(file, with: reference) > 1000)
        }
    }
}

// MARK: - what the fixtures hold, and what is refused

@Suite struct H5ReaderFormats {
    @Test func layoutsAreTheOnesAskedFor() throws {
        let versions = try H5Fixtures.all.map { try H5ReadFile.open(path: Fixtures.h5Path($0)).superblockVersion }
        #expect(versions == [0, 2, 3, 0, 0, 0, 1])
        let userblock = try H5ReadFile.open(path: Fixtures.h5Path("userblock.h5"))
        #expect(userblock.base == 1024)
        let sizes = try H5ReadFile.open(path: Fixtures.h5Path("sizes4.h5"))
        #expect(sizes.offsetSize == 4 && sizes.lengthSize == 4)
        let mixed = try H5ReadFile.open(path: Fixtures.h5Path("sizes84.h5"))
        #expect(mixed.offsetSize == 8 && mixed.lengthSize == 4)
        for name in H5Fixtures.all {
            let file = try H5ReadFile.open(path: Fixtures.h5Path(name))
            // the attributes added one by one did not fit the first chunk of the header
            let grown = try file.root().links.first { $0.name == Array("grown".utf8) }
            guard case .hard(let address)? = grown?.target else { Issue.record("\(name): no grown group"); continue }
            #expect(try file.objectHeader(at: address, owner: "grown").chunkCount > 1, "\(name)")
            let bytes = try MappedFile.contents(of: Fixtures.h5Path(name))
            #expect(bytes.contains(subsequence: Array("OHDR".utf8)) == H5Fixtures.versionTwo.contains(name), "\(name)")
        }
        // several B-tree levels in smallk.h5
        let smallk = try H5ReadFile.open(path: Fixtures.h5Path("smallk.h5"))
        #expect(try smallk.root().openGroup("refused").openGroup("many").childNames() == (0..<100).map { String(format: "item_%03d", $0) })
    }

    @Test(arguments: H5Fixtures.all)
    func knownValues(_ name: String) throws {
        let root = try H5ReadFile.open(path: Fixtures.h5Path(name)).root()
        for (path, shape, base) in H5Fixtures.bases {
            var group = root
            let components = path.split(separator: "/").map(String.init)
            for component in components.dropLast() { group = try group.openGroup(component) }
            let (readShape, values) = try group.readFloats(components.last!)
            #expect(readShape == shape, "\(name) \(path)")
            #expect(values == (0..<shape.reduce(1, *)).map { base + Float($0) / 8 }, "\(name) \(path)")
        }
        let floats = try root.openGroup("floats")
        #expect(try floats.readFloats("scalar") == ([], [6.5]))
        #expect(try floats.readFloats("empty") == ([0], []))
        #expect(try root.stringsAttribute("title") == ["zoo h5 fixture"])
        #expect(try root.stringsAttribute("names") == ["conv1", "bn", "ünïcode"])
        #expect(try root.stringsAttribute("fixed") == ["abc", "defghijk"])
        #expect(try root.stringsAttribute("fixed_scalar") == ["xyz"])
        #expect(try root.stringsAttribute("empty") == [])
        #expect(try root.stringsAttribute("blank") == [""])
        #expect(try root.childNames() == ["float_type", "floats", "grown", "nested", "refused", "soft", "typed"])
        #expect(root.kind(of: "float_type") == .other) // a committed datatype
        #expect(root.kind(of: "soft") == .other)
        expectSentence(#expect(throws: ZooError.self) { try root.openGroup("soft") }, mentioning: "'soft'", "soft link", name)
        expectSentence(#expect(throws: ZooError.self) { try root.openGroup("typed") }, mentioning: "expected a group 'typed'", "found a dataset")
        expectSentence(#expect(throws: ZooError.self) { try root.readFloats("floats") }, mentioning: "expected a dataset 'floats'", "found a group")
        expectSentence(#expect(throws: ZooError.self) { try root.readFloats("missing") }, mentioning: "expected a dataset 'missing'", "found none")
        expectSentence(#expect(throws: ZooError.self) { try root.stringsAttribute("number") }, mentioning: "'number'", "64-bit integers")
    }

    @Test func notHDF5() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try Data().write(to: URL(fileURLWithPath: folder.file("empty.h5")))
        try Data(repeating: 7, count: 5000).write(to: URL(fileURLWithPath: folder.file("junk.h5")))
        expectSentence(#expect(throws: ZooError.self) { try H5ReadFile.open(path: folder.file("empty.h5")) },
                       mentioning: "expected an HDF5 file at", "an empty file")
        expectSentence(#expect(throws: ZooError.self) { try H5ReadFile.open(path: folder.path) }, mentioning: "a folder")
        expectSentence(#expect(throws: ZooError.self) { try H5ReadFile.open(path: folder.file("none.h5")) }, mentioning: "no such file")
        expectSentence(#expect(throws: ZooError.self) { try H5ReadFile.open(path: folder.file("junk.h5"), displayName: "junk") },
                       mentioning: "expected an HDF5 file at junk", "5000 bytes that is not HDF5")
        expectSentence(#expect(throws: ZooError.self) { try H5ReadFile(bytes: [1, 2, 3], displayName: "x.keras (model.weights.h5)") },
                       mentioning: "x.keras (model.weights.h5)", "3 bytes")
    }

    /// The signature search: an HDF5 file inside a larger file, at a range's start or 512 bytes into it.
    @Test func embeddedFile() throws {
        let inner = try MappedFile.contents(of: Fixtures.path("tiny.weights.h5"))
        let reference = try KerasFile.read(Fixtures.path("tiny.weights.h5"))
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for (offset, padding) in [(777, 0), (3000, 512)] {
            let path = folder.file("outer-\(offset)")
            let bytes = [UInt8](repeating: 0x55, count: offset) + [UInt8](repeating: 0, count: padding) + inner + [UInt8](repeating: 0xAA, count: 999)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let mapped = try MappedFile(path: path)
            let file = try H5ReadFile(mapped: mapped, range: offset..<(bytes.count - 999), displayName: "outer")
            #expect(file.base == offset + padding)
            #expect(try WeightsH5.index(file).mapValues { try $0.map { try $0.read() } } == reference)
        }
    }
}

// MARK: - damaged files

/// A file with bytes changed at known places, read through the internal parse layer.
@Suite struct H5ReaderDamage {
    /// Reads what a Keras loader reads: the index, then every weight's shape and values.
    static func readKeras(_ bytes: [UInt8], legacy: Bool) throws {
        let file = try H5ReadFile(bytes: bytes, displayName: "damaged.h5")
        let index = legacy ? try LegacyH5.index(file) : try WeightsH5.index(file)
        for refs in index.values {
            for ref in refs {
                _ = try ref.shape()
                _ = try ref.read()
            }
        }
    }

    static let attributeNames = ["name", "layer_names", "weight_names", "backend", "keras_version", "title", "names", "fixed",
                                 "fixed_scalar", "empty", "blank", "number", "note0", "note5", "fixed_long", "a00"]

    /// Reads everything reachable, 5 groups deep (nested/again, or a damaged group, contains itself), each
    /// object on its own so one refusal does not hide the rest. Throws only non-`ZooError`s.
    static func walkAll(_ bytes: [UInt8]) throws -> (read: Int, refused: Int) {
        var read = 0, refused = 0
        func attempt(_ body: () throws -> Void) throws {
            do { try body(); read += 1 } catch is ZooError { refused += 1 }
        }
        func visit(_ group: H5ReadGroup, depth: Int) throws {
            for name in attributeNames where group.hasAttribute(name) { try attempt { _ = try group.stringsAttribute(name) } }
            guard depth < 5, let names = try? group.childNames() else { return }
            for name in names.prefix(12) { // refused/many holds 40 links to one dataset
                switch group.kind(of: name) {
                case .group?: try attempt { try visit(try group.openGroup(name), depth: depth + 1) }
                case .dataset?: try attempt { _ = try group.datasetShape(name); _ = try group.readFloats(name) }
                default: break
                }
            }
        }
        try attempt { try visit(try H5ReadFile(bytes: bytes, displayName: "damaged.h5").root(), depth: 0) }
        return (read, refused)
    }

    /// Runs `read` on every variant, counting reads and refusals; any other error is recorded.
    static func survive(_ variants: Int, _ variant: (Int) -> [UInt8], read: ([UInt8]) throws -> Void,
                        sourceLocation: SourceLocation = #_sourceLocation) -> (read: Int, refused: Int, slowest: Duration) {
        var reads = 0, refused = 0, slowest = Duration.zero
        var strays: [String] = []
        var messages: [String] = []
        let clock = ContinuousClock()
        for i in 0..<variants {
            let bytes = variant(i)
            let start = clock.now
            do {
                try read(bytes)
                reads += 1
            } catch let error as ZooError {
                refused += 1
                if error.kind != .format || error.message.contains("\n") { messages.append("\(i): \(error)") }
            } catch {
                strays.append("\(i): \(error)")
            }
            slowest = max(slowest, clock.now - start)
        }
        #expect(strays.isEmpty, "errors that are not ZooError: \(strays.prefix(5))", sourceLocation: sourceLocation)
        #expect(messages.isEmpty, "errors that are not one-line format errors: \(messages.prefix(5))", sourceLocation: sourceLocation)
        return (reads, refused, slowest)
    }

    /// A seeded stream of numbers (xorshift64*).
    struct Seeded {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return Int((state &* 0x2545_F491_4F6C_DD1D) >> 1) % bound
        }
    }

    static func realKerasBytes(_ name: String) throws -> [UInt8] {
        if name == "tiny.keras" {
            return try ZipReader(path: Fixtures.path(name), kind: "a .keras file", displayName: name).read("model.weights.h5")
        }
        return try MappedFile.contents(of: Fixtures.path(name))
    }

    /// Set ZOO_H5_DAMAGE=all to change every byte of the real Keras files instead of a seeded
    /// sample (about 25 000 reads per file: a minute and more in a debug build).
    static let everyByte = ProcessInfo.processInfo.environment["ZOO_H5_DAMAGE"] == "all"

    /// Single-byte changes (a byte replaced by its complement) of the real Keras files, read as
    /// Keras reads them: each ends in a read or a one-sentence `ZooError`, never a trap, and
    /// quickly. A seeded sample (2000 bytes of the .weights.h5, 300 of each other) unless
    /// ZOO_H5_DAMAGE=all.
    @Test(.timeLimit(.minutes(10)), arguments: ["tiny.weights.h5", "tiny.h5", "tiny.keras"])
    func byteFlips(_ name: String) throws {
        let bytes = try Self.realKerasBytes(name)
        var random = Seeded(state: 0x2545_F491_4F6C_DD1D ^ UInt64(bytes.count))
        let positions = Self.everyByte ? Array(bytes.indices) : (0..<(name == "tiny.weights.h5" ? 2000 : 300)).map { _ in random.next(bytes.count) }
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = Self.survive(positions.count, { i in
            var damaged = bytes
            damaged[positions[i]] ^= 0xFF
            return damaged
        }, read: { try Self.readKeras($0, legacy: name == "tiny.h5") })
        let elapsed = clock.now - start
        print("H5ReaderDamage \(name): \(positions.count) byte flips, \(outcome.read) read, \(outcome.refused) refused, \(elapsed) in all, slowest \(outcome.slowest)")
        #expect(outcome.read > 0 && outcome.refused > 0)
        #expect(outcome.slowest < .seconds(2))
    }

    /// Seeded random bit flips (1 to 4 at once) in every fixture, walking everything reachable;
    /// more of them in the version-2 layouts, whose checksums refuse most (ten times as many
    /// with ZOO_H5_DAMAGE=all).
    @Test(.timeLimit(.minutes(10)), arguments: H5Fixtures.all)
    func randomBitFlips(_ name: String) throws {
        let bytes = try MappedFile.contents(of: Fixtures.h5Path(name))
        var random = Seeded(state: 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count))
        let flips = (H5Fixtures.versionTwo.contains(name) ? 200 : 60) * (Self.everyByte ? 10 : 1)
        let variants = (0..<flips).map { _ -> [UInt8] in
            var damaged = bytes
            for _ in 0...random.next(4) { damaged[random.next(damaged.count)] ^= UInt8(1 << random.next(8)) }
            return damaged
        }
        let outcome = Self.survive(variants.count, { variants[$0] }, read: { bytes in
            _ = try Self.walkAll(bytes)
        })
        #expect(outcome.slowest < .seconds(2))
    }

    /// Every 64th length of each real file and fixture: truncation is refused or, past the
    /// superblock's end-of-file address, harmless.
    @Test(arguments: ["tiny.weights.h5", "tiny.h5", "tiny.keras", "latest.h5", "earliest.h5"])
    func truncated(_ name: String) throws {
        let bytes = name.hasPrefix("tiny") ? try Self.realKerasBytes(name) : try MappedFile.contents(of: Fixtures.h5Path(name))
        let lengths = Array(stride(from: 0, to: bytes.count, by: 64))
        let outcome = Self.survive(lengths.count, { Array(bytes.prefix(lengths[$0])) }, read: { damaged in
            if name.hasPrefix("tiny") { try Self.readKeras(damaged, legacy: name == "tiny.h5") } else { _ = try H5ReadFile(bytes: damaged, displayName: name).root() }
        })
        #expect(outcome.read == 0, "a truncated file read as if whole")
        #expect(outcome.refused == lengths.count)
    }

    /// The bit flips that crash libhdf5 (SIGSEGV in H5HG_read ← H5T__conv_vlen ← H5Aread): every
    /// bit of the global heap collection holding the `name` attributes of a .weights.h5, read
    /// as Keras finds its layers by them. Reading those attributes with libhdf5 1.10.8 (H5Aread, one process
    /// per file), 370 of these 2560 files crashed it (358 SIGSEGV, 12 SIGABRT) and 57 did not
    /// finish in 10 s.
    @Test(.timeLimit(.minutes(3)))
    func globalHeapBitFlips() throws {
        let bytes = try MappedFile.contents(of: Fixtures.path("tiny.weights.h5"))
        let start = try #require(bytes.firstRange(of: Array("GCOL".utf8))?.lowerBound)
        // the collection's header and its 8 objects (the rest of its 4 KiB is free space)
        let span = 320
        let outcome = Self.survive(span * 8, { i in
            var damaged = bytes
            damaged[start + i / 8] ^= UInt8(1 << (i % 8))
            return damaged
        }, read: { _ = try WeightsH5.index(try H5ReadFile(bytes: $0, displayName: "damaged.weights.h5")) }) // reads every `name`
        print("H5ReaderDamage GCOL: \(span * 8) bit flips, \(outcome.read) read, \(outcome.refused) refused")
        #expect(outcome.refused > 100)
    }
}

// MARK: - hand-damaged structures

@Suite struct H5ReaderDamagedStructures {
    /// earliest.h5, the file and the address of the object header `path` links to.
    static func located(_ path: String, in name: String = "earliest.h5") throws -> (bytes: [UInt8], header: H5ObjectHeader) {
        let bytes = try MappedFile.contents(of: Fixtures.h5Path(name))
        let file = try H5ReadFile(bytes: bytes, displayName: name)
        var group = try file.root()
        let components = path.split(separator: "/").map(String.init)
        for component in components.dropLast() { group = try group.openGroup(component) }
        let link = try #require(group.links.first { $0.name == Array(components.last!.utf8) })
        guard case .hard(let address) = link.target else { throw ZooError(.format, "not a hard link") }
        return (bytes, try file.objectHeader(at: address, owner: path))
    }

    static func put(_ value: UInt64, width: Int, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    static func readF32le(_ bytes: [UInt8]) throws -> (shape: [Int], values: [Float]) {
        try H5ReadFile(bytes: bytes, displayName: "patched.h5").root().openGroup("floats").readFloats("f32le")
    }

    /// A dataset claiming 2^40 elements in a small file is an error, not a 4 TB allocation; one
    /// whose dimensions multiply past Int.max is refused before anything multiplies them.
    @Test func hugeDataspaces() throws {
        let (original, header) = try Self.located("floats/f32le")
        var bytes = original
        let space = try #require(header.first(H5MessageType.dataspace)).body
        #expect(bytes[space.lowerBound] == 1 && bytes[space.lowerBound + 1] == 2) // version 1, rank 2
        let dims = space.lowerBound + 8
        Self.put(1 << 20, width: 8, at: dims, in: &bytes)
        Self.put(1 << 20, width: 8, at: dims + 8, in: &bytes)
        expectSentence(#expect(throws: ZooError.self) { try Self.readF32le(bytes) }, mentioning: "'floats/f32le'", "4398046511104 bytes of storage")
        Self.put(1 << 40, width: 8, at: dims, in: &bytes)
        Self.put(1 << 40, width: 8, at: dims + 8, in: &bytes)
        expectSentence(#expect(throws: ZooError.self) { try Self.readF32le(bytes) }, mentioning: "dimensions whose product fits")
        Self.put(0, width: 8, at: dims, in: &bytes)
        Self.put(UInt64.max, width: 8, at: dims + 8, in: &bytes)
        expectSentence(#expect(throws: ZooError.self) { try Self.readF32le(bytes) }, mentioning: "dimension that fits")
    }

    /// Layout messages of versions 1 and 2 (HDF5 1.4/1.6 files), written over the version-3
    /// message of a dataset: the same values read back.
    @Test func oldLayoutMessages() throws {
        let (bytes, header) = try Self.located("floats/f32le")
        let layout = try #require(header.first(H5MessageType.layout)).body
        #expect(bytes[layout.lowerBound] == 3 && bytes[layout.lowerBound + 1] == 1) // version 3, contiguous
        var address: UInt64 = 0
        for i in 0..<8 { address |= UInt64(bytes[layout.lowerBound + 2 + i]) << (8 * UInt64(i)) }
        for version: UInt8 in [1, 2] {
            // version, rank 1, class 1 (contiguous), 5 reserved, address, one 4-byte dimension
            var message: [UInt8] = [version, 1, 1, 0, 0, 0, 0, 0]
            for i in 0..<8 { message.append(UInt8(truncatingIfNeeded: address >> (8 * UInt64(i)))) }
            message += [4, 0, 0, 0]
            #expect(message.count <= layout.count)
            var patched = bytes
            patched.replaceSubrange(layout.lowerBound..<(layout.lowerBound + message.count), with: message)
            #expect(try Self.readF32le(patched) == Self.readF32le(bytes))
        }
        // a chunked version-1 layout is refused by name
        var chunked = bytes
        chunked[layout.lowerBound] = 1
        chunked[layout.lowerBound + 1] = 2
        chunked[layout.lowerBound + 2] = 2
        expectSentence(#expect(throws: ZooError.self) { try Self.readF32le(chunked) }, mentioning: "'floats/f32le'", "stored in chunks")
    }

    /// A continuation message pointing at its own block, and a B-tree child pointing back at
    /// the root: refused, not followed forever.
    @Test func cycles() throws {
        let (original, header) = try Self.located("grown")
        var bytes = original
        let continuation = try #require(header.first(H5MessageType.continuation)).body
        Self.put(UInt64(header.address), width: 8, at: continuation.lowerBound, in: &bytes)
        let open = { (bytes: [UInt8]) in try H5ReadFile(bytes: bytes, displayName: "cyclic.h5").root().openGroup("grown") }
        expectSentence(#expect(throws: ZooError.self) { try open(bytes) }, mentioning: "'grown'", "cyclic.h5")

        let (smallk, many) = try Self.located("refused/many", in: "smallk.h5")
        var tree = smallk
        let table = try #require(many.first(H5MessageType.symbolTable)).body
        var root = 0
        for i in 0..<8 { root |= Int(tree[table.lowerBound + i]) << (8 * i) }
        #expect(tree[root + 5] > 0) // an internal node
        // the first child pointer: after signature, type, level, entries, two siblings and a key
        Self.put(UInt64(root), width: 8, at: root + 8 + 16 + 8, in: &tree)
        let list = { (bytes: [UInt8]) in try H5ReadFile(bytes: bytes, displayName: "cyclic.h5").root().openGroup("refused").openGroup("many").childNames() }
        expectSentence(#expect(throws: ZooError.self) { try list(tree) }, mentioning: "'refused/many'", "B-tree")
    }

    /// The end-of-file address the superblock records is checked against the bytes there are.
    @Test func truncatedAgainstTheSuperblock() throws {
        let bytes = try MappedFile.contents(of: Fixtures.path("tiny.weights.h5"))
        expectSentence(#expect(throws: ZooError.self) { try H5ReadFile(bytes: Array(bytes.dropLast()), displayName: "cut.h5") },
                       mentioning: "expected cut.h5 to hold \(bytes.count) bytes of HDF5 data", "found \(bytes.count - 1) (truncated file?)")
    }

    /// Version-2 structures carry checksums, and zoo's reader verifies them.
    @Test func checksumsAreVerified() throws {
        var bytes = try MappedFile.contents(of: Fixtures.h5Path("latest.h5"))
        bytes[20] ^= 1 // inside the superblock
        expectSentence(#expect(throws: ZooError.self) { try H5ReadFile(bytes: bytes, displayName: "latest.h5") }, mentioning: "checksum")
        let (latest, floats) = try Self.located("floats", in: "latest.h5")
        var header = latest
        header[floats.address + 6] ^= 1 // inside the first chunk of the group's header
        expectSentence(#expect(throws: ZooError.self) { try H5ReadFile(bytes: header, displayName: "latest.h5").root().openGroup("floats") },
                       mentioning: "'floats'", "checksum")
        #expect(H5Checksum.lookup3(UnsafeRawBufferPointer(start: nil, count: 0)) == 0xdead_beef)
    }
}

private extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool { firstRange(of: subsequence) != nil }
}
