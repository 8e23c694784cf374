import ZooCore

// The file-level structures of HDF5 that zoo's reader walks (HDF5 File Format Specification 3.0,
// level 1): a bounds-checked cursor, the Jenkins lookup3 checksum of version-2 structures, the
// version-1 B-trees, symbol table nodes and local heaps of symbol-table groups, and global heap
// collections (where variable-length strings live).
//
// Every number read from the file is checked against the bytes that exist before it is used:
// a cursor never reads past the structure it was made for, addresses are compared with the end
// of the HDF5 data, and sums and products of file values use overflow-reporting arithmetic.

/// A little-endian reader over one structure of an HDF5 file that throws, naming the
/// structure, its owner and the file, instead of reading past the structure's end.
struct H5Cursor {
    let file: H5ReadFile
    /// The structure, for messages ("an object header"); static text, as cursors are many.
    let what: StaticString
    /// The object it belongs to, for messages ("the group 'layers/dense'").
    let owner: String
    /// Address (relative to the superblock) of the next byte.
    private(set) var position: Int
    /// Address one past the structure's last byte; never beyond the HDF5 data.
    let end: Int

    /// A cursor over `count` bytes at `address`; throws when they are not all in the file.
    init(_ file: H5ReadFile, at address: Int, count: Int, what: StaticString, owner: String) throws {
        self.file = file
        self.what = what
        self.owner = owner
        let (end, overflow) = address.addingReportingOverflow(count)
        guard address >= 0, count >= 0, !overflow, end <= file.data.count else {
            throw file.failure("\(count) bytes of \(what)", at: address >= 0 && address <= file.data.count ? address : nil, for: owner,
                               found: "only \(max(0, file.data.count - max(address, 0))) bytes left in the file (truncated or damaged file?)")
        }
        position = address
        self.end = end
    }

    /// A cursor from `address` to the end of the HDF5 data, for structures whose size is read
    /// from their own header.
    init(_ file: H5ReadFile, from address: Int, what: StaticString, owner: String) throws {
        guard address >= 0, address <= file.data.count else {
            throw file.failure("\(what) inside the file's \(file.data.count) bytes", for: owner, found: "the address \(address) (damaged file?)")
        }
        try self.init(file, at: address, count: file.data.count - address, what: what, owner: owner)
    }

    var remaining: Int { end - position }

    /// Steps over `count` bytes and returns the address of the first.
    @discardableResult
    mutating func take(_ count: Int) throws -> Int {
        guard count >= 0, count <= remaining else {
            throw file.failure("\(count) more bytes of \(what)", at: position, for: owner,
                               found: "only \(remaining) (truncated or damaged file?)")
        }
        let at = position
        position += count
        return at
    }

    mutating func skip(_ count: Int) throws { try take(count) }

    mutating func u8() throws -> UInt8 { file.data[try take(1)] }

    mutating func u16() throws -> Int { Int(UInt16(littleEndian: file.data.loadUnaligned(fromByteOffset: try take(2), as: UInt16.self))) }

    mutating func u32() throws -> UInt32 { UInt32(littleEndian: file.data.loadUnaligned(fromByteOffset: try take(4), as: UInt32.self)) }

    mutating func u64() throws -> UInt64 { UInt64(littleEndian: file.data.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self)) }

    /// An unsigned little-endian number of 1, 2, 4 or 8 bytes.
    mutating func unsigned(width: Int) throws -> UInt64 {
        switch width {
        case 1: return UInt64(try u8())
        case 2: return UInt64(try u16())
        case 4: return UInt64(try u32())
        case 8: return try u64()
        default:
            throw file.failure("a field of 1, 2, 4 or 8 bytes in \(what)", at: position, for: owner, found: "one of \(width) (damaged file?)")
        }
    }

    /// A length field ("size of lengths" bytes).
    mutating func length() throws -> UInt64 { try unsigned(width: file.lengthSize) }

    /// A length field that must fit an `Int` and the file: a count of bytes still to be found.
    mutating func byteCount(of thing: String) throws -> Int {
        let at = position
        let value = try length()
        guard let count = Int(exactly: value), count <= file.data.count else {
            throw file.failure("\(thing) of at most the file's \(file.data.count) bytes", at: at, for: owner, found: "\(value) bytes (damaged file?)")
        }
        return count
    }

    /// An address field ("size of offsets" bytes): nil when undefined (all bits set), else an
    /// address inside the HDF5 data.
    mutating func address(of thing: String) throws -> Int? {
        let at = position
        let value = try unsigned(width: file.offsetSize)
        if value == file.undefinedAddress { return nil }
        guard let address = Int(exactly: value), address < file.data.count else {
            throw file.failure("the address of \(thing) inside the file's \(file.data.count) bytes", at: at, for: owner,
                               found: "\(value) (damaged file?)")
        }
        return address
    }

    /// An address that must be defined.
    mutating func requiredAddress(of thing: String) throws -> Int {
        let at = position
        guard let address = try address(of: thing) else {
            throw file.failure("the address of \(thing)", at: at, for: owner, found: "an undefined address (damaged file?)")
        }
        return address
    }

    /// Whether the next bytes are `signature` (consumed when they are).
    mutating func signature(_ signature: StaticString) -> Bool {
        let count = signature.utf8CodeUnitCount
        guard remaining >= count else { return false }
        let bytes = signature.utf8Start
        for i in 0..<count where file.data[position + i] != bytes[i] { return false }
        position += count
        return true
    }

    /// Consumes `signature` or throws, describing the structure that was expected there.
    mutating func expect(_ signature: StaticString, _ structure: StaticString) throws {
        let at = position
        guard self.signature(signature) else {
            throw file.failure("\(structure) ('\(signature)')", at: at, for: owner, found: "other bytes (damaged file?)")
        }
    }
}

/// Bob Jenkins' lookup3 `hashlittle`, the checksum HDF5 stores after every version-2 structure
/// (`H5_checksum_lookup3` with an initial value of 0).
enum H5Checksum {
    static func lookup3(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        @inline(__always) func rot(_ x: UInt32, _ k: UInt32) -> UInt32 { (x << k) | (x >> (32 - k)) }
        var length = bytes.count
        var a = 0xdead_beef &+ UInt32(truncatingIfNeeded: length)
        var b = a, c = a
        var i = 0
        @inline(__always) func word(_ at: Int, _ n: Int) -> UInt32 {
            var w: UInt32 = 0
            for j in 0..<n { w |= UInt32(bytes[at + j]) << (8 * UInt32(j)) }
            return w
        }
        while length > 12 {
            a &+= word(i, 4); b &+= word(i + 4, 4); c &+= word(i + 8, 4)
            a &-= c; a ^= rot(c, 4); c &+= b
            b &-= a; b ^= rot(a, 6); a &+= c
            c &-= b; c ^= rot(b, 8); b &+= a
            a &-= c; a ^= rot(c, 16); c &+= b
            b &-= a; b ^= rot(a, 19); a &+= c
            c &-= b; c ^= rot(b, 4); b &+= a
            length -= 12
            i += 12
        }
        if length == 0 { return c }
        // the last 1…12 bytes, zero-extended, as the fall-through switch of lookup3.c adds them
        a &+= word(i, min(length, 4))
        if length > 4 { b &+= word(i + 4, min(length - 4, 4)) }
        if length > 8 { c &+= word(i + 8, length - 8) }
        c ^= b; c &-= rot(b, 14)
        a ^= c; a &-= rot(c, 11)
        b ^= a; b &-= rot(a, 25)
        c ^= b; c &-= rot(b, 16)
        a ^= c; a &-= rot(c, 4)
        b ^= a; b &-= rot(a, 14)
        c ^= b; c &-= rot(b, 24)
        return c
    }
}

/// One link of a group: its name (bytes, as stored) and what it points to.
struct H5Link: Sendable {
    enum Target: Sendable {
        /// An object header at this address.
        case hard(Int)
        /// A path, resolved by name (zoo's reader does not follow these).
        case soft
        /// A link into another file, or a user-defined link type.
        case external
    }

    let name: [UInt8]
    let target: Target
}

extension H5ReadFile {
    /// The links of a symbol-table group (what h5py writes by default and zoo writes): the
    /// version-1 B-tree at `btree` leads to symbol table nodes whose entries name their links
    /// by offsets into the local heap at `heap`.
    func symbolTableLinks(btree: Int, heap: Int, owner: String) throws -> [H5Link] {
        let names = try localHeap(at: heap, owner: owner)
        var links: [H5Link] = []
        var visited = Set<Int>()
        // (node address, the level its parent says it has; nil for the root)
        var pending: [(address: Int, level: Int?)] = [(btree, nil)]
        while let (address, expectedLevel) = pending.popLast() {
            guard visited.insert(address).inserted else {
                throw failure("each B-tree node once", at: address, for: owner, found: "a node reached twice (a cycle; damaged file?)")
            }
            var node = try H5Cursor(self, from: address, what: "a B-tree node", owner: owner)
            try node.expect("TREE", "a version-1 B-tree node")
            let type = try node.u8()
            guard type == 0 else {
                throw failure("a B-tree node of group entries (type 0)", at: address, for: owner, found: "type \(type) (damaged file?)")
            }
            let level = Int(try node.u8())
            if let expectedLevel, level != expectedLevel {
                throw failure("a B-tree node of level \(expectedLevel)", at: address, for: owner, found: "level \(level) (damaged file?)")
            }
            let entries = try node.u16()
            try node.skip(2 * offsetSize) // siblings: the walk goes down from the root instead
            var children: [Int] = []
            for _ in 0..<entries {
                try node.skip(lengthSize) // the key: the largest name below, not needed to list them all
                children.append(try node.requiredAddress(of: "a B-tree child"))
            }
            try node.skip(lengthSize)
            try spend(node.position - address, for: owner)
            if level > 0 {
                pending += children.reversed().map { ($0, level - 1) }
                continue
            }
            for child in children {
                guard visited.insert(child).inserted else {
                    throw failure("each symbol table node once", at: child, for: owner, found: "a node reached twice (damaged file?)")
                }
                links += try symbolTableNode(at: child, names: names, owner: owner)
            }
        }
        return links
    }

    /// The entries of one symbol table node ("SNOD").
    private func symbolTableNode(at address: Int, names: Range<Int>, owner: String) throws -> [H5Link] {
        var node = try H5Cursor(self, from: address, what: "a symbol table node", owner: owner)
        try node.expect("SNOD", "a symbol table node")
        let version = try node.u8()
        guard version == 1 else {
            throw failure("a symbol table node of version 1", at: address, for: owner, found: "version \(version) (damaged file?)")
        }
        try node.skip(1)
        let count = try node.u16()
        var links: [H5Link] = []
        for _ in 0..<count {
            let entry = node.position
            let nameOffset = try node.length()
            let header = try node.address(of: "a linked object")
            let cacheType = try node.u32()
            try node.skip(4)
            let scratch = node.position
            try node.skip(16)
            let name = try heapString(names, at: nameOffset, what: "a link name", owner: owner)
            switch cacheType {
            case 0, 1:
                guard let header else {
                    throw failure("the address of the object '\(shown: String(decoding: name, as: UTF8.self))'", at: entry, for: owner,
                                  found: "an undefined address (damaged file?)")
                }
                links.append(H5Link(name: name, target: .hard(header)))
            case 2:
                _ = scratch // the soft link's value: an offset into the same heap, not followed
                links.append(H5Link(name: name, target: .soft))
            default:
                throw failure("a symbol table entry of cache type 0, 1 or 2", at: entry, for: owner, found: "type \(cacheType) (damaged file?)")
            }
        }
        try spend(node.position - address, for: owner)
        return links
    }

    /// The data segment of a local heap ("HEAP"), where a symbol-table group keeps its link names.
    private func localHeap(at address: Int, owner: String) throws -> Range<Int> {
        var heap = try H5Cursor(self, from: address, what: "a local heap", owner: owner)
        try heap.expect("HEAP", "a local heap")
        let version = try heap.u8()
        guard version == 0 else {
            throw failure("a local heap of version 0", at: address, for: owner, found: "version \(version) (damaged file?)")
        }
        try heap.skip(3)
        let size = try heap.byteCount(of: "a local heap data segment")
        _ = try heap.length() // head of the free list
        let segmentField = heap.position
        let segment = try heap.requiredAddress(of: "the local heap's data segment")
        try spend(heap.position - address, for: owner)
        guard size <= data.count - segment else {
            throw failure("a local heap data segment of \(size) bytes inside the file", at: segmentField, for: owner,
                          found: "one running \(size - (data.count - segment)) bytes past its end (truncated or damaged file?)")
        }
        return segment..<(segment + size)
    }

    /// The NUL-terminated string at `offset` in a local heap's data segment, without the NUL.
    private func heapString(_ segment: Range<Int>, at offset: UInt64, what: String, owner: String) throws -> [UInt8] {
        guard let start = Int(exactly: offset), start < segment.count else {
            throw failure("\(what) inside the group's local heap of \(segment.count) bytes", at: segment.lowerBound, for: owner,
                          found: "the offset \(offset) (damaged file?)")
        }
        let bytes = UnsafeRawBufferPointer(rebasing: data[(segment.lowerBound + start)..<segment.upperBound])
        guard let nul = bytes.firstIndex(of: 0) else {
            throw failure("\(what) ending in a NUL byte in the group's local heap", at: segment.lowerBound + start, for: owner,
                          found: "the heap's end first (damaged file?)")
        }
        return Array(bytes[..<nul])
    }

    /// The objects of the global heap collection ("GCOL") at `address`, by index: the bytes of
    /// each (their address range), for variable-length strings.
    func globalHeapCollection(at address: Int, owner: String) throws -> [Int: Range<Int>] {
        var heap = try H5Cursor(self, from: address, what: "a global heap collection", owner: owner)
        try heap.expect("GCOL", "a global heap collection")
        let version = try heap.u8()
        guard version == 1 else {
            throw failure("a global heap collection of version 1", at: address, for: owner, found: "version \(version) (damaged file?)")
        }
        try heap.skip(3)
        let sizeField = heap.position
        let size = try heap.byteCount(of: "a global heap collection")
        // The collection header and each object header are padded to a multiple of 8 bytes
        // (H5HG_SIZEOF_HDR, H5HG_SIZEOF_OBJHDR), which matters when lengths are not 8 bytes.
        let header = (8 + lengthSize + 7) / 8 * 8
        guard size >= header, size <= data.count - address else {
            throw failure("a global heap collection of at least its header and inside the file", at: sizeField, for: owner,
                          found: "a size of \(size) bytes, \(data.count - address) left in the file (truncated or damaged file?)")
        }
        try spend(size, for: owner)
        let end = address + size
        let objectHeader = header
        var objects: [Int: Range<Int>] = [:]
        // Objects follow one another; index 0 is the free space, which libhdf5 keeps at the end.
        var position = address + header
        while end - position >= objectHeader {
            var object = try H5Cursor(self, at: position, count: end - position, what: "a global heap object", owner: owner)
            let index = try object.u16()
            if index == 0 { break }
            try object.skip(6) // reference count, reserved
            let sizeAt = object.position
            let objectSize = try object.byteCount(of: "a global heap object")
            let start = position + objectHeader
            guard objectSize <= end - start else {
                throw failure("global heap object \(index) to fit in its collection", at: sizeAt, for: owner,
                              found: "a size of \(objectSize) bytes, \(end - start) left in the collection (damaged file?)")
            }
            objects[index] = start..<(start + objectSize)
            // objects are padded to a multiple of 8 bytes
            let padded = (objectSize + 7) / 8 * 8
            position = padded <= end - start ? start + padded : end
        }
        return objects
    }
}
