import ZooCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// zoo reads HDF5 itself, in Swift, instead of through libhdf5: files come from strangers, and a
// damaged one makes libhdf5 crash (one flipped bit in a global heap is a SIGSEGV in H5HG_read).
// This reader knows the subset of HDF5 that h5py, Keras and zoo write, checks every length,
// offset and count it reads against the bytes that exist, and reports anything else in one
// sentence. libhdf5 is still what writes zoo's own files (HDF5.swift).
//
// Supported (HDF5 File Format Specification 3.0): superblocks 0–3 (found at 0, 512, 1024, …);
// object headers 1 and 2 with continuation blocks; symbol-table groups (v1 B-tree, symbol table
// nodes, local heap) and compact link groups; scalar, simple and null dataspaces; datasets of
// IEEE float16/32/64 in either byte order, contiguous or compact (layout messages 1–4), with a
// committed datatype or their own; attribute messages 1–3 holding fixed- or variable-length
// strings (variable-length ones from global heap collections). Refused with a sentence: chunked
// (so compressed) and virtual datasets, external storage, other datatypes where values are
// asked for, dense link and attribute storage (fractal heaps), the shared-message heap, file
// drivers with a driver information block. Soft and external links are listed, not followed.
//
// Checksums (Jenkins lookup3) of version-2 structures — superblock, "OHDR", "OCHK" — are
// verified. Cycles are cut: each B-tree node, symbol table node and continuation block is
// visited once per walk, and a file may make the reader parse at most 64 times its own size of
// structure in all (`spend`), so overlapping structures cannot make it work without end.

/// What a child of a group is.
enum H5ChildKind { case group, dataset, other }

/// A read-only HDF5 file: its bytes (memory-mapped, or in memory for a compressed `.keras`
/// entry) from the superblock to the end-of-file address the superblock records.
///
/// Immutable once open except for the parse allowance, so groups and datasets may be read
/// from several threads at once.
final class H5ReadFile: @unchecked Sendable {
    /// How messages name the file (the user's path, or "x.keras (model.weights.h5)").
    let displayName: String
    /// The HDF5 data: address 0 is the first byte of the superblock (HDF5's base address) and
    /// every address in the file is relative to it.
    let data: UnsafeRawBufferPointer
    /// Where address 0 is in the file, so messages can give offsets a hex dump shows.
    let base: Int
    /// "Size of offsets" and "size of lengths" from the superblock (2, 4 or 8 bytes).
    let offsetSize: Int
    let lengthSize: Int
    let superblockVersion: Int
    /// The address with every bit set: "undefined".
    let undefinedAddress: UInt64
    private let rootAddress: Int
    /// Keeps the bytes alive: the `MappedFile`, or the copy of an in-memory image.
    private let storage: AnyObject
    /// How many bytes of structure may still be parsed (see `spend`).
    private var allowance: Int
    private let lock = Lock()

    /// Opens the HDF5 file at `path`, memory-mapped.
    /// - Parameter displayName: how messages name the file (default: `path`).
    static func open(path: String, displayName: String? = nil) throws -> H5ReadFile {
        let name = displayName ?? path
        var st = stat()
        guard stat(path, &st) == 0 else { throw ZooError(.format, "expected an HDF5 file at \(name), found no such file") }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw ZooError(.format, "expected an HDF5 file at \(name), found a folder") }
        if st.st_size == 0 { throw ZooError(.format, "expected an HDF5 file at \(name), found an empty file") }
        return try H5ReadFile(mapped: try MappedFile(path: path), displayName: name)
    }

    /// Reads the HDF5 file in `range` of a mapped file (all of it by default): the superblock is
    /// looked for where HDF5 looks, at the range's start and 512, 1024, 2048 … bytes into it.
    /// A `.keras` entry stored uncompressed is read this way, in place.
    convenience init(mapped: MappedFile, range: Range<Int>? = nil, displayName: String) throws {
        let whole = mapped.bytes
        let range = range ?? 0..<whole.count
        guard range.lowerBound >= 0, range.upperBound <= whole.count else {
            throw ZooError(.format, "expected HDF5 data inside the \(whole.count) bytes of \(displayName), found a range \(range) beyond them")
        }
        try self.init(whole, range: range, storage: mapped, displayName: displayName,
                      notHDF5: "expected an HDF5 file at \(displayName), found a file of \(range.count) bytes that is not HDF5 (or is truncated)")
    }

    /// Reads an HDF5 file held in memory (a compressed `.keras` entry); the bytes are copied.
    convenience init(bytes: [UInt8], displayName: String) throws {
        let copy = OwnedBytes(bytes)
        try self.init(UnsafeRawBufferPointer(copy.buffer), range: 0..<bytes.count, storage: copy, displayName: displayName,
                      notHDF5: "expected an HDF5 file in \(displayName), found \(bytes.count) bytes that are not one (truncated?)")
    }

    private init(_ whole: UnsafeRawBufferPointer, range: Range<Int>, storage: AnyObject, displayName: String, notHDF5: String) throws {
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]
        var found: Int?
        var candidate = 0
        while candidate <= range.count - 8 {
            let at = range.lowerBound + candidate
            if (0..<8).allSatisfy({ whole[at + $0] == signature[$0] }) { found = at; break }
            candidate = candidate == 0 ? 512 : candidate * 2
        }
        guard let start = found else { throw ZooError(.format, notHDF5) }
        let superblock = try Superblock(whole, at: start, end: range.upperBound, displayName: displayName)
        self.displayName = displayName
        self.storage = storage
        base = start
        data = UnsafeRawBufferPointer(rebasing: whole[start..<(start + superblock.dataSize)])
        offsetSize = superblock.offsetSize
        lengthSize = superblock.lengthSize
        superblockVersion = superblock.version
        undefinedAddress = Superblock.undefined(superblock.offsetSize)
        rootAddress = superblock.rootAddress
        // A valid file needs about one pass over its structures per read; 64 passes (and 64 MiB
        // for small files) leave room for any caller while bounding a file built to make the
        // reader walk overlapping structures again and again.
        let (passes, tooMany) = superblock.dataSize.multipliedReportingOverflow(by: 64)
        let (total, tooLarge) = passes.addingReportingOverflow(64 << 20)
        allowance = tooMany || tooLarge ? Int.max : total
    }

    /// The root group.
    func root() throws -> H5ReadGroup {
        try H5ReadGroup(file: self, path: "", address: rootAddress)
    }

    /// A one-sentence error: what was expected (at which offset) for which object of this file,
    /// and what was found instead.
    func failure(_ expected: String, at address: Int? = nil, for owner: String, found: String) -> ZooError {
        // addresses passed here are inside `data`, so the sum cannot overflow
        let at = address.map { " at offset \(base + $0)" } ?? ""
        return ZooError(.format, "expected \(expected)\(at) for \(owner) in \(displayName), found \(found)")
    }

    /// Returns the mapped pages of `range` (addresses) to the kernel once its values are copied
    /// out, so reading a whole model leaves one copy of it in memory, as reading with pread did.
    func release(_ range: Range<Int>) {
        (storage as? MappedFile)?.release((base + range.lowerBound)..<(base + range.upperBound))
    }

    /// Counts `bytes` of structure parsed against the file's allowance: structures that overlap
    /// or point at one another could otherwise make the reader walk the same bytes without end.
    func spend(_ bytes: Int, for owner: String) throws {
        let left = lock.locked { () -> Int in
            allowance -= min(bytes, allowance)
            return allowance
        }
        guard left > 0 else {
            throw ZooError(.format, "expected the HDF5 structures of \(displayName) to take at most 64 passes over the file to read, found more while reading \(owner) (overlapping or repeating structures; damaged file?)")
        }
    }
}

/// The fields of a superblock (versions 0 to 3) the reader needs.
private struct Superblock {
    var version = 0
    var offsetSize = 8
    var lengthSize = 8
    var rootAddress = 0
    /// Bytes of HDF5 data from the superblock on, as its end-of-file address says.
    var dataSize = 0

    init(_ bytes: UnsafeRawBufferPointer, at start: Int, end: Int, displayName: String) throws {
        var p = start + 8
        func fail(_ expected: String, found: String) -> ZooError {
            ZooError(.format, "expected \(expected) in the HDF5 superblock at offset \(start) of \(displayName), found \(found)")
        }
        func skip(_ count: Int) throws {
            guard count <= end - p else { throw fail("\(count) more bytes", found: "the end of the file after \(end - start) bytes (truncated file?)") }
            p += count
        }
        /// A little-endian field of 1 to 8 bytes.
        func read(_ width: Int) throws -> UInt64 {
            let at = p
            try skip(width)
            var value: UInt64 = 0
            for i in 0..<width { value |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
            return value
        }
        func sizes(_ offsets: UInt64, _ lengths: UInt64) throws {
            guard [2, 4, 8].contains(offsets), [2, 4, 8].contains(lengths) else {
                throw fail("offsets and lengths of 2, 4 or 8 bytes", found: "\(offsets) and \(lengths) (damaged file?)")
            }
            offsetSize = Int(offsets)
            lengthSize = Int(lengths)
        }
        version = Int(try read(1))
        let baseAddress: UInt64, endAddress: UInt64, root: UInt64
        switch version {
        case 0, 1:
            let freeSpace = try read(1), rootEntry = try read(1)
            try skip(1)
            let sharedHeader = try read(1)
            guard freeSpace == 0, rootEntry == 0, sharedHeader == 0 else {
                throw fail("free-space, root entry and shared-header versions 0", found: "\(freeSpace), \(rootEntry) and \(sharedHeader) (damaged file?)")
            }
            let offsets = try read(1), lengths = try read(1)
            try sizes(offsets, lengths)
            try skip(1)
            try skip(2 + 2 + 4 + (version == 1 ? 4 : 0)) // B-tree K values, flags (v1: indexed-storage K, reserved)
            baseAddress = try read(offsetSize)
            try skip(offsetSize) // free-space info (never used by libhdf5)
            endAddress = try read(offsetSize)
            let driver = try read(offsetSize)
            if driver != Self.undefined(offsetSize) {
                throw ZooError(.format, "\(displayName) needs an HDF5 file driver of its own (it has a driver information block: a family, multi or split file), which zoo's reader does not read")
            }
            try skip(lengthSize) // the root entry's link name offset
            root = try read(offsetSize)
            try skip(4 + 4 + 16) // cache type, reserved, scratch pad (cached B-tree and heap)
        case 2, 3:
            let offsets = try read(1), lengths = try read(1)
            try sizes(offsets, lengths)
            try skip(1) // file consistency flags
            baseAddress = try read(offsetSize)
            try skip(offsetSize) // superblock extension: B-tree K values, shared-message table, file space info
            endAddress = try read(offsetSize)
            root = try read(offsetSize)
            let fields = UnsafeRawBufferPointer(rebasing: bytes[start..<p])
            let stored = UInt32(try read(4))
            let computed = H5Checksum.lookup3(fields)
            guard stored == computed else {
                throw fail("a checksum of 0x\(String(stored, radix: 16))", found: "bytes whose checksum is 0x\(String(computed, radix: 16)) (damaged file?)")
            }
        default:
            throw fail("version 0, 1, 2 or 3", found: "version \(version)")
        }
        // libhdf5 stores the end of file as an absolute address and moves the base address to
        // where the superblock was found (H5F__super_read): the data is end − base bytes long.
        guard endAddress >= baseAddress, let size = Int(exactly: endAddress - baseAddress) else {
            throw fail("an end-of-file address after the base address \(baseAddress)", found: "\(endAddress) (damaged file?)")
        }
        guard size <= end - start else {
            throw ZooError(.format, "expected \(displayName) to hold \(size) bytes of HDF5 data from offset \(start) as its superblock says, found \(end - start) (truncated file?)")
        }
        guard root != Self.undefined(offsetSize), let rootAddress = Int(exactly: root), rootAddress < size else {
            throw fail("the root group's address inside the file's \(size) bytes", found: "\(root) (damaged file?)")
        }
        self.rootAddress = rootAddress
        dataSize = size
    }

    static func undefined(_ width: Int) -> UInt64 { width == 8 ? UInt64.max : (UInt64(1) << (8 * UInt64(width))) - 1 }
}

/// A copy of an in-memory image that stays at one address for the reader's lifetime.
private final class OwnedBytes {
    let buffer: UnsafeMutableRawBufferPointer

    init(_ bytes: [UInt8]) {
        buffer = .allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
    }

    deinit { buffer.deallocate() }
}

/// A group of an open HDF5 file, with the read API Keras files need. `path` is its HDF5 path
/// without the leading slash ("layers/conv2d/vars"), for messages.
///
/// Its links are read when it is opened; its children's headers when they are asked for.
final class H5ReadGroup: Sendable {
    let path: String
    let file: H5ReadFile
    private let header: H5ObjectHeader
    /// In HDF5 name order: byte-wise ascending, as libhdf5 lists with H5_INDEX_NAME/H5_ITER_INC.
    let links: [H5Link]
    /// Link names to their position in `links` (the first, should a damaged file repeat a name).
    private let positions: [[UInt8]: Int]

    /// Opens the group whose object header is at `address` (parsed already: `header`).
    init(file: H5ReadFile, path: String, address: Int, header parsed: H5ObjectHeader? = nil) throws {
        self.file = file
        self.path = path
        let owner = path.isEmpty ? "the root group" : "the group '\(shown: path)'"
        let header = try parsed ?? file.objectHeader(at: address, owner: owner)
        self.header = header
        var links: [H5Link]
        if let info = header.first(H5MessageType.linkInfo) {
            // libhdf5 looks for link info first: a "new-style" group, links in this header
            links = try file.compactLinks(header, linkInfo: info, owner: owner)
        } else if let table = header.first(H5MessageType.symbolTable) {
            var c = try file.messageCursor(table, "a symbol table message", owner: owner)
            let btree = try c.requiredAddress(of: "the group's B-tree")
            let heap = try c.requiredAddress(of: "the group's local heap")
            links = try file.symbolTableLinks(btree: btree, heap: heap, owner: owner)
        } else {
            let what = path.isEmpty ? "the root group of \(file.displayName)" : "'\(shown: path)' in \(file.displayName)"
            throw ZooError(.format, "expected \(what) to be a group, found \(header.kind == .dataset ? "a dataset" : "another kind of object")")
        }
        links.sort { $0.name.lexicographicallyPrecedes($1.name) }
        var positions: [[UInt8]: Int] = [:]
        for (i, link) in links.enumerated() where positions[link.name] == nil { positions[link.name] = i }
        self.links = links
        self.positions = positions
    }

    var displayName: String { file.displayName }

    private func childPath(_ name: String) -> String { path.isEmpty ? name : "\(path)/\(name)" }
    private var owner: String { path.isEmpty ? "the root group" : "the group '\(shown: path)'" }
    private var where_: String { path.isEmpty ? "the root group of \(file.displayName)" : "'\(shown: path)' in \(file.displayName)" }

    private func linkNamed(_ name: String) -> H5Link? { positions[Array(name.utf8)].map { links[$0] } }

    /// What a link is, for messages ("a dataset", "a soft link, which zoo's reader does not follow").
    private func describe(_ link: H5Link?) -> String {
        guard let link else { return "none" }
        switch link.target {
        case .soft: return "a soft link, which zoo's reader does not follow"
        case .external: return "an external link, which zoo's reader does not follow"
        case .hard(let address):
            switch (try? file.objectHeader(at: address, owner: "the object '\(shown: childPath(String(decoding: link.name, as: UTF8.self)))'"))?.kind {
            case .group?: return "a group"
            case .dataset?: return "a dataset"
            default: return "another kind of object"
            }
        }
    }

    // MARK: groups

    func openGroup(_ name: String) throws -> H5ReadGroup {
        let child = childPath(name)
        guard let link = linkNamed(name), case .hard(let address) = link.target else {
            throw ZooError(.format, "expected a group '\(shown: child)' in \(file.displayName), found \(describe(linkNamed(name)))")
        }
        let header = try file.objectHeader(at: address, owner: "the group '\(shown: child)'")
        guard header.kind == .group else {
            throw ZooError(.format, "expected a group '\(shown: child)' in \(file.displayName), found \(header.kind == .dataset ? "a dataset" : "another kind of object")")
        }
        return try H5ReadGroup(file: file, path: child, address: address, header: header)
    }

    /// Whether `name` is a direct child (link) of this group.
    func contains(_ name: String) -> Bool { linkNamed(name) != nil }

    /// What the child `name` is (nil when there is none); a child whose header cannot be read,
    /// or a soft or external link, is `.other`.
    func kind(of name: String) -> H5ChildKind? {
        guard let link = linkNamed(name) else { return nil }
        guard case .hard(let address) = link.target else { return .other }
        return (try? file.objectHeader(at: address, owner: "the object '\(shown: childPath(name))'"))?.kind ?? .other
    }

    /// Names of the direct children, in HDF5's name order.
    func childNames() throws -> [String] { links.map { String(decoding: $0.name, as: UTF8.self) } }

    // MARK: attributes

    /// Whether the group has the attribute `name` (false when its attributes cannot be read).
    func hasAttribute(_ name: String) -> Bool { ((try? attributeMessage(name)) ?? nil) != nil }

    /// The attribute message named `name`, or nil; throws when it might be among attributes this
    /// reader cannot see (damaged, shared or in dense storage).
    private func attributeMessage(_ name: String) throws -> H5Message? {
        let wanted = Array(name.utf8)
        var failure: Error?
        var shared = false
        for message in header.all(H5MessageType.attribute) {
            if message.isShared { shared = true; continue }
            do {
                if try file.attributeName(message.body, owner: "the attributes of \(owner)") == wanted { return message }
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
        if shared {
            throw ZooError(.format, "\(owner) in \(file.displayName) keeps attributes in the file's HDF5 shared-message heap, which zoo's reader does not read")
        }
        if try file.hasDenseAttributes(header, owner: owner) {
            throw ZooError(.format, "\(owner) in \(file.displayName) keeps its attributes in HDF5 dense attribute storage, which zoo's reader does not read")
        }
        return nil
    }

    /// A string attribute as a list: a scalar gives one element, an empty array (of any type, as
    /// h5py writes `weight_names = []` as float64) none. Variable- and fixed-length strings are
    /// both accepted (older tf.keras wrote fixed ones); a string ends at its first NUL byte.
    /// Returns nil when the attribute is absent.
    func stringsAttribute(_ name: String) throws -> [String]? {
        guard let message = try attributeMessage(name) else { return nil }
        let owner = "the attribute '\(shown: name)' of \(self.owner)"
        let parts = try file.attributeParts(message.body, owner: owner)
        guard !parts.dataspaceShared else {
            throw ZooError(.format, "\(owner) in \(file.displayName) has a shared dataspace, which zoo's reader does not read")
        }
        let count = try file.dataspace(parts.dataspace, owner: owner).count
        if count == 0 { return [] }
        let type = try file.datatype(parts.datatype, shared: parts.datatypeShared, owner: owner)
        guard type.kind == .fixedString || type.kind == .variableString else {
            throw ZooError(.format, "expected the attribute '\(shown: name)' of \(where_) to hold strings, found \(type.description)")
        }
        guard type.size > 0 else {
            throw file.failure("strings of at least one byte", at: parts.datatype.lowerBound, for: owner, found: "a string type of 0 bytes (damaged file?)")
        }
        let (needed, overflow) = count.multipliedReportingOverflow(by: type.size)
        guard !overflow, needed <= parts.value.count else {
            throw file.failure("\(count) values of \(type.size) bytes", at: parts.value.lowerBound, for: owner,
                               found: "\(parts.value.count) bytes of attribute data (damaged file?)")
        }
        let value = parts.value.lowerBound
        func text(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self) }
        if type.kind == .fixedString {
            return (0..<count).map { i in
                let start = value + i * type.size
                return text(UnsafeRawBufferPointer(rebasing: file.data[start..<(start + type.size)]))
            }
        }
        // Variable length: per element a byte count and a global heap ID (collection, index).
        var elements = try H5Cursor(file, at: value, count: needed, what: "the attribute's strings", owner: owner)
        var collections: [Int: [Int: Range<Int>]] = [:]
        var total = 0
        var strings: [String] = []
        for _ in 0..<count {
            let at = elements.position
            let length = Int(try elements.u32())
            let collection = try elements.address(of: "a global heap collection")
            let index = Int(try elements.u32())
            if length == 0 { strings.append(""); continue }
            guard let collection else {
                throw file.failure("a string of \(length) bytes in the global heap", at: at, for: owner, found: "no collection address (damaged file?)")
            }
            if collections[collection] == nil { collections[collection] = try file.globalHeapCollection(at: collection, owner: owner) }
            guard let object = collections[collection]?[index] else {
                throw file.failure("object \(index) in the global heap collection", at: collection, for: owner, found: "no such object (damaged file?)")
            }
            guard length <= object.count else {
                throw file.failure("a string of \(length) bytes in global heap object \(index)", at: object.lowerBound, for: owner,
                                   found: "an object of \(object.count) bytes (damaged file?)")
            }
            // each element may name the same large object: the strings together must fit the file
            total += length
            guard total <= file.data.count else {
                throw file.failure("strings that fit in the file", at: at, for: owner, found: "references to more than its \(file.data.count) bytes (damaged file?)")
            }
            strings.append(text(UnsafeRawBufferPointer(rebasing: file.data[object.lowerBound..<(object.lowerBound + length)])))
        }
        return strings
    }

    // MARK: datasets

    /// A floating-point dataset's header, shape and type, checked.
    private func floatDataset(_ name: String) throws -> (owner: String, header: H5ObjectHeader, shape: [Int], type: H5Datatype) {
        let child = childPath(name)
        guard let link = linkNamed(name), case .hard(let address) = link.target else {
            throw ZooError(.format, "expected a dataset '\(shown: child)' in \(file.displayName), found \(describe(linkNamed(name)))")
        }
        let owner = "the dataset '\(shown: child)'"
        let header = try file.objectHeader(at: address, owner: owner)
        guard header.kind == .dataset, let typeMessage = header.first(H5MessageType.datatype),
              let spaceMessage = header.first(H5MessageType.dataspace) else {
            throw ZooError(.format, "expected a dataset '\(shown: child)' in \(file.displayName), found \(header.kind == .group ? "a group" : "another kind of object")")
        }
        let type = try file.datatype(typeMessage.body, shared: typeMessage.isShared, owner: owner)
        switch type.kind {
        case .ieeeFloat: break
        case .otherFloat:
            throw ZooError(.format, "expected IEEE floating-point values in '\(shown: child)' of \(file.displayName), found \(type.description)")
        default:
            throw ZooError(.format, "expected floating-point values in '\(shown: child)' of \(file.displayName), found \(type.description)")
        }
        guard !spaceMessage.isShared else {
            throw ZooError(.format, "\(owner) in \(file.displayName) has a shared dataspace, which zoo's reader does not read")
        }
        guard let shape = try file.dataspace(spaceMessage.body, owner: owner).dims else {
            throw ZooError(.format, "expected values in '\(shown: child)' of \(file.displayName), found a dataset with a null dataspace (no elements)")
        }
        return (owner, header, shape, type)
    }

    /// A floating-point dataset of any width, converted to float32.
    func readFloat32(_ name: String) throws -> Tensor {
        let (shape, values) = try readFloats(name)
        return Tensor(shape: shape, floats: values)
    }

    /// The shape of a floating-point dataset, without reading it.
    func datasetShape(_ name: String) throws -> [Int] { try floatDataset(name).shape }

    /// A floating-point dataset's shape and values, converted to float32. Little-endian float32
    /// is copied straight from the file's bytes (one bulk copy out of the memory map).
    func readFloats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        let (owner, header, shape, type) = try floatDataset(name)
        let child = childPath(name)
        guard let layout = header.first(H5MessageType.layout) else {
            throw file.failure("a data layout message", at: header.address, for: owner, found: "none (damaged file?)")
        }
        let storage = try file.storage(layout.body, owner: owner)
        if header.first(H5MessageType.externalFiles) != nil {
            throw ZooError(.format, "\(owner) in \(file.displayName) keeps its values in external files, which zoo's reader does not read")
        }
        if header.first(H5MessageType.filterPipeline) != nil {
            throw ZooError(.format, "\(owner) in \(file.displayName) is filtered (HDF5 filter pipeline), which zoo's reader does not read")
        }
        let count = shape.reduce(1, *) // cannot overflow: checked when the dataspace was read
        if count == 0 { return (shape, []) }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: type.size)
        guard !overflow else {
            throw file.failure("values that fit in memory", for: owner, found: "\(count) values of \(type.size) bytes (damaged file?)")
        }
        let start: Int
        switch storage {
        case .compact(let range):
            guard byteCount <= range.count else {
                throw file.failure("\(byteCount) bytes of values in the layout message", at: range.lowerBound, for: owner, found: "\(range.count) (damaged file?)")
            }
            start = range.lowerBound
        case .contiguous(nil, _):
            throw ZooError(.format, "expected the values of '\(shown: child)' in \(file.displayName) to be stored, found a dataset whose storage was never allocated")
        case .contiguous(let address?, let size):
            if let size, size < byteCount {
                throw file.failure("\(byteCount) bytes of storage for \(shape) values", at: address, for: owner, found: "\(size) bytes (damaged file?)")
            }
            guard byteCount <= file.data.count - address else {
                throw file.failure("the \(byteCount) bytes of the values", at: address, for: owner,
                                   found: "only \(file.data.count - address) bytes left in the file (truncated file?)")
            }
            start = address
        }
        let raw = UnsafeRawBufferPointer(rebasing: file.data[start..<(start + byteCount)])
        guard case .ieeeFloat(let bigEndian) = type.kind else { return (shape, []) } // checked by floatDataset
        let values = Self.floats(raw, count: count, size: type.size, bigEndian: bigEndian)
        if byteCount >= 1 << 16 { file.release(start..<(start + byteCount)) }
        return (shape, values)
    }

    /// `count` IEEE values of `size` bytes widened (or narrowed, for float64) to float32.
    private static func floats(_ raw: UnsafeRawBufferPointer, count: Int, size: Int, bigEndian: Bool) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch (size, bigEndian) {
            case (4, false) where UInt32(1).littleEndian == 1:
                UnsafeMutableRawBufferPointer(out).copyMemory(from: raw)
            case (4, _):
                for i in 0..<count {
                    let stored = raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                    out[i] = Float(bitPattern: bigEndian ? UInt32(bigEndian: stored) : UInt32(littleEndian: stored))
                }
            case (2, _):
                for i in 0..<count {
                    let stored = raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                    out[i] = ElementConversion.halfToFloat(bigEndian ? UInt16(bigEndian: stored) : UInt16(littleEndian: stored))
                }
            default:
                for i in 0..<count {
                    let stored = raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                    out[i] = Float(Double(bitPattern: bigEndian ? UInt64(bigEndian: stored) : UInt64(littleEndian: stored)))
                }
            }
            initialized = count
        }
    }
}

/// A float dataset found in a file but not read yet.
struct H5DatasetRef: Sendable {
    let group: H5ReadGroup
    let name: String
    func read() throws -> Tensor { try group.readFloat32(name) }
    func shape() throws -> [Int] { try group.datasetShape(name) }
    func floats() throws -> [Float] { try group.readFloats(name).values }
}
