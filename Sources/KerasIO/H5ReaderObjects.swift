import ZooCore

// Object headers and the header messages zoo's reader understands (HDF5 File Format
// Specification 3.0, level 2): dataspace, datatype, data layout, attribute, link, link info,
// attribute info, symbol table and continuation. Everything else (fill values, modification
// times, group info, reference counts, comments, NIL) is skipped.

/// Message types, from the specification's table of header messages.
enum H5MessageType {
    static let dataspace = 0x01, linkInfo = 0x02, datatype = 0x03, link = 0x06, externalFiles = 0x07
    static let layout = 0x08, filterPipeline = 0x0B, attribute = 0x0C, continuation = 0x10, symbolTable = 0x11
    static let attributeInfo = 0x15
    /// Types this reader knows to be safe to skip (fill values old and new, bogus, group info,
    /// comment, modification times old and new, shared message table, B-tree K values, driver
    /// info, reference count, file space info).
    static let ignorable: Set<Int> = [0x00, 0x04, 0x05, 0x09, 0x0A, 0x0D, 0x0E, 0x0F, 0x12, 0x13, 0x14, 0x16, 0x17]
}

/// One header message: its type, flags and where its bytes are.
struct H5Message: Sendable {
    let type: Int
    let flags: UInt8
    /// Address range of the message's data.
    let body: Range<Int>

    /// The message is stored elsewhere and this is a reference to it (flag bit 1).
    var isShared: Bool { flags & 0x02 != 0 }
}

/// The messages of one object header, gathered from all of its chunks.
struct H5ObjectHeader: Sendable {
    let address: Int
    /// In file order, continuation messages included.
    let messages: [H5Message]
    /// How many chunks the header spans (1 without continuation blocks).
    let chunkCount: Int

    func first(_ type: Int) -> H5Message? {
        for message in messages where message.type == type { return message }
        return nil
    }
    func all(_ type: Int) -> [H5Message] { messages.filter { $0.type == type } }

    /// As libhdf5 decides (`H5O__group_isa`, `H5O__dset_isa`): a group has a symbol table or
    /// link info message; a dataset has a datatype and a dataspace.
    var kind: H5ChildKind {
        if first(H5MessageType.symbolTable) != nil || first(H5MessageType.linkInfo) != nil { return .group }
        if first(H5MessageType.datatype) != nil && first(H5MessageType.dataspace) != nil { return .dataset }
        return .other
    }
}

/// A dataspace: its dimensions, or none at all (a null dataspace).
struct H5Dataspace {
    /// nil for a null dataspace (no elements); [] for a scalar.
    let dims: [Int]?

    /// The number of elements; the product is checked when the dataspace is read.
    var count: Int { dims.map { $0.reduce(1, *) } ?? 0 }
}

/// What a datatype message says, as far as zoo reads values.
struct H5Datatype {
    enum Kind: Equatable {
        /// IEEE binary16/32/64 (`bigEndian` as stored).
        case ieeeFloat(bigEndian: Bool)
        /// A floating-point type with another bit layout (VAX order, custom exponent…).
        case otherFloat
        case fixedPoint
        case fixedString
        case variableString
        /// Compound, enum, array, reference, opaque, bitfield, time, variable-length sequence.
        case other(Int)
    }

    let kind: Kind
    /// Bytes per element as stored in the file (for variable-length strings, the heap reference).
    let size: Int

    var description: String {
        switch kind {
        case .ieeeFloat: return "\(size * 8)-bit floats"
        case .otherFloat: return "a \(size)-byte floating-point type that is not IEEE"
        case .fixedPoint: return "\(size * 8)-bit integers"
        case .fixedString: return "fixed-length strings"
        case .variableString: return "variable-length strings"
        case .other(let c):
            let names = [2: "time values", 4: "bit fields", 5: "opaque values", 6: "compound values", 7: "references", 8: "enumerations",
                         9: "variable-length sequences", 10: "arrays"]
            return names[c] ?? "values of HDF5 type class \(c)"
        }
    }
}

/// Where a dataset's values are.
enum H5Storage {
    /// In one block of the file (nil: never allocated); `size` when the message records it.
    case contiguous(address: Int?, size: Int?)
    /// Inside the layout message itself.
    case compact(Range<Int>)
}

extension H5ReadFile {
    // MARK: object headers

    /// The messages of the object header at `address`, following continuation blocks.
    /// Version-2 chunks ("OHDR", "OCHK") are verified against their lookup3 checksums, so a
    /// damaged one is reported as such rather than misread.
    func objectHeader(at address: Int, owner: String) throws -> H5ObjectHeader {
        var messages: [H5Message] = []
        var continuations: [(address: Int, length: Int)] = []
        var header = try H5Cursor(self, from: address, what: "an object header", owner: owner)
        let version: Int
        var creationOrder = false
        if header.signature("OHDR") {
            version = 2
            let v = try header.u8()
            guard v == 2 else { throw failure("an object header of version 2 after 'OHDR'", at: address, for: owner, found: "version \(v) (damaged file?)") }
            let flags = try header.u8()
            guard flags & 0xC0 == 0 else {
                throw failure("object header flags HDF5 defines", at: address + 5, for: owner, found: "0x\(String(flags, radix: 16)) (damaged file?)")
            }
            creationOrder = flags & 0x04 != 0
            if flags & 0x20 != 0 { try header.skip(16) } // access, modification, change, birth times
            if flags & 0x10 != 0 { try header.skip(4) }  // attribute storage phase change values
            let sizeField = header.position
            let chunkSize = try header.unsigned(width: 1 << Int(flags & 0x03))
            guard let size = Int(exactly: chunkSize), size <= header.remaining - 4 else {
                throw failure("an object header chunk inside the file", at: sizeField, for: owner,
                              found: "a chunk of \(chunkSize) bytes, \(max(0, header.remaining - 4)) left (truncated or damaged file?)")
            }
            try spend(header.position + size + 4 - address, for: owner)
            try verifyChecksum(address..<(header.position + size), what: "object header", owner: owner)
            try readMessages(version: 2, creationOrder: creationOrder, header.position..<(header.position + size), into: &messages,
                             continuations: &continuations, owner: owner)
        } else {
            let v = try header.u8()
            guard v == 1 else {
                throw failure("an object header (version 1, or version 2 starting 'OHDR')", at: address, for: owner,
                              found: "a first byte of \(v) (damaged file?)")
            }
            version = 1
            try header.skip(1 + 2 + 4) // reserved, number of messages, reference count
            let sizeField = header.position
            let chunkSize = Int(try header.u32())
            try header.skip(4) // padding to 8 bytes
            guard chunkSize <= header.remaining else {
                throw failure("an object header of \(chunkSize) bytes inside the file", at: sizeField, for: owner,
                              found: "\(header.remaining) bytes left (truncated or damaged file?)")
            }
            try spend(16 + chunkSize, for: owner)
            try readMessages(version: 1, creationOrder: false, header.position..<(header.position + chunkSize), into: &messages,
                             continuations: &continuations, owner: owner)
        }
        // Continuation blocks may name further ones; each is read once, and all of them together
        // cannot be larger than the file (they never overlap in a valid one).
        var visited: Set<Int> = [address]
        var total = 0
        var next = 0
        while next < continuations.count {
            let (chunk, length) = continuations[next]
            next += 1
            guard visited.insert(chunk).inserted else {
                throw failure("each continuation block of the object header once", at: chunk, for: owner, found: "one named twice (a cycle; damaged file?)")
            }
            total += length
            guard total <= data.count else {
                throw failure("continuation blocks that fit in the file", at: chunk, for: owner, found: "more than its \(data.count) bytes in all (damaged file?)")
            }
            var block = try H5Cursor(self, at: chunk, count: length, what: "an object header continuation block", owner: owner)
            try spend(length, for: owner)
            if version == 1 {
                try readMessages(version: 1, creationOrder: false, chunk..<(chunk + length), into: &messages, continuations: &continuations, owner: owner)
            } else {
                try block.expect("OCHK", "an object header continuation block")
                guard length >= 8 else {
                    throw failure("a continuation block of at least 8 bytes", at: chunk, for: owner, found: "\(length) bytes (damaged file?)")
                }
                try verifyChecksum(chunk..<(chunk + length - 4), what: "object header continuation block", owner: owner)
                try readMessages(version: 2, creationOrder: creationOrder, (chunk + 4)..<(chunk + length - 4), into: &messages,
                                 continuations: &continuations, owner: owner)
            }
        }
        return H5ObjectHeader(address: address, messages: messages, chunkCount: 1 + next)
    }

    /// The messages of one chunk. Version 1: 8-byte message headers filling the chunk; version 2:
    /// 4-byte headers (6 with creation order), the chunk's last bytes may be a gap too small for one.
    private func readMessages(version: Int, creationOrder: Bool, _ chunk: Range<Int>, into messages: inout [H5Message],
                              continuations: inout [(address: Int, length: Int)], owner: String) throws {
        var cursor = try H5Cursor(self, at: chunk.lowerBound, count: chunk.count, what: "an object header", owner: owner)
        let headerSize = version == 1 ? 8 : (creationOrder ? 6 : 4)
        while cursor.remaining > 0 {
            if version == 2 && cursor.remaining < headerSize { break } // a gap
            let at = cursor.position
            let type: Int
            if version == 1 { type = try cursor.u16() } else { type = Int(try cursor.u8()) }
            let size = try cursor.u16()
            let flags = try cursor.u8()
            try cursor.skip(headerSize - (version == 1 ? 5 : 4))
            guard size <= cursor.remaining else {
                throw failure("a header message of \(size) bytes inside its object header", at: at, for: owner,
                              found: "\(cursor.remaining) bytes left in the header (damaged file?)")
            }
            let body = try cursor.take(size)
            let message = H5Message(type: type, flags: flags, body: body..<(body + size))
            if type == H5MessageType.continuation {
                var c = try messageCursor(message, "an object header continuation message", owner: owner)
                let target = try c.requiredAddress(of: "an object header continuation block")
                let length = try c.byteCount(of: "an object header continuation block")
                continuations.append((target, length))
            }
            if !H5MessageType.ignorable.contains(type) && !Self.understood.contains(type) && flags & 0x80 != 0 {
                throw failure("only header messages zoo's reader understands, or ones it may skip", at: at, for: owner,
                              found: "a message of type \(type) marked 'fail if unknown' (an HDF5 feature zoo's reader does not read)")
            }
            messages.append(message)
        }
    }

    private static let understood: Set<Int> = [
        H5MessageType.dataspace, H5MessageType.linkInfo, H5MessageType.datatype, H5MessageType.link, H5MessageType.externalFiles,
        H5MessageType.layout, H5MessageType.filterPipeline, H5MessageType.attribute, H5MessageType.continuation, H5MessageType.symbolTable,
        H5MessageType.attributeInfo,
    ]

    /// Version-2 structures end in a lookup3 checksum of everything before it: verified, so a
    /// flipped bit in a v2 header is reported as damage instead of misread.
    func verifyChecksum(_ range: Range<Int>, what: String, owner: String) throws {
        var stored = try H5Cursor(self, at: range.upperBound, count: 4, what: "a checksum", owner: owner)
        let expected = try stored.u32()
        let computed = H5Checksum.lookup3(UnsafeRawBufferPointer(rebasing: data[range]))
        guard computed == expected else {
            throw failure("the \(what) to match its checksum 0x\(String(expected, radix: 16))", at: range.lowerBound, for: owner,
                          found: "bytes whose checksum is 0x\(String(computed, radix: 16)) (damaged file?)")
        }
    }

    func messageCursor(_ message: H5Message, _ what: StaticString, owner: String) throws -> H5Cursor {
        try H5Cursor(self, at: message.body.lowerBound, count: message.body.count, what: what, owner: owner)
    }

    // MARK: dataspace, datatype, layout

    /// A dataspace message (versions 1 and 2): scalar, simple or null.
    func dataspace(_ body: Range<Int>, owner: String) throws -> H5Dataspace {
        var c = try H5Cursor(self, at: body.lowerBound, count: body.count, what: "a dataspace message", owner: owner)
        let version = try c.u8()
        let rank = Int(try c.u8())
        _ = try c.u8() // flags: maximum dimensions present (not needed), permutation (never written)
        guard rank <= 32 else { throw failure("a dataspace of at most 32 dimensions", at: body.lowerBound, for: owner, found: "\(rank) (damaged file?)") }
        var null = false
        switch version {
        case 1:
            try c.skip(5)
        case 2:
            let type = try c.u8()
            switch type {
            case 0, 1:
                guard (type == 0) == (rank == 0) else {
                    throw failure("a \(type == 0 ? "scalar dataspace without" : "simple dataspace with") dimensions", at: body.lowerBound, for: owner,
                                  found: "\(rank) dimensions (damaged file?)")
                }
            case 2: null = true
            default: throw failure("a scalar, simple or null dataspace", at: body.lowerBound, for: owner, found: "dataspace type \(type) (damaged file?)")
            }
        default:
            throw failure("a dataspace message of version 1 or 2", at: body.lowerBound, for: owner, found: "version \(version) (damaged file?)")
        }
        if null { return H5Dataspace(dims: nil) }
        var dims: [Int] = []
        // Every product of dimensions (shapes, strides) must fit an Int: checked over all of them,
        // zeros counted as ones so a zero cannot hide an overflow between the others.
        var product = 1
        for _ in 0..<rank {
            let at = c.position
            let value = try c.length()
            guard let dim = Int(exactly: value) else {
                throw failure("a dataspace dimension that fits in memory", at: at, for: owner, found: "\(value) (damaged file?)")
            }
            let (p, overflow) = product.multipliedReportingOverflow(by: max(dim, 1))
            guard !overflow else {
                throw failure("dataspace dimensions whose product fits in memory", at: at, for: owner, found: "dimensions up to \(value) (damaged file?)")
            }
            product = p
            dims.append(dim)
        }
        return H5Dataspace(dims: dims)
    }

    /// The datatype of an object or attribute, following a shared (committed) datatype to the
    /// object header that holds it.
    func datatype(_ body: Range<Int>, shared: Bool, owner: String) throws -> H5Datatype {
        guard shared else { return try datatype(body, depth: 0, owner: owner) }
        let header = try objectHeader(at: try sharedObject(body, what: "datatype", owner: owner), owner: owner)
        guard let message = header.first(H5MessageType.datatype) else {
            throw failure("a committed datatype", at: header.address, for: owner, found: "an object without a datatype message (damaged file?)")
        }
        guard !message.isShared else {
            throw failure("a committed datatype stored in its own object header", at: header.address, for: owner,
                          found: "one shared again (damaged file?)")
        }
        return try datatype(message.body, depth: 0, owner: owner)
    }

    private func datatype(_ body: Range<Int>, depth: Int, owner: String) throws -> H5Datatype {
        var c = try H5Cursor(self, at: body.lowerBound, count: body.count, what: "a datatype message", owner: owner)
        let classAndVersion = try c.u8()
        let typeClass = Int(classAndVersion & 0x0F), version = Int(classAndVersion >> 4)
        guard (1...5).contains(version) else {
            throw failure("a datatype message of version 1 to 5", at: body.lowerBound, for: owner, found: "version \(version) (damaged file?)")
        }
        let bits0 = try c.u8(), bits1 = try c.u8()
        _ = try c.u8()
        let size = Int(try c.u32())
        switch typeClass {
        case 0:
            return H5Datatype(kind: .fixedPoint, size: size)
        case 1:
            let bitOffset = try c.u16(), precision = try c.u16()
            let exponentPosition = try c.u8(), exponentSize = try c.u8(), mantissaPosition = try c.u8(), mantissaSize = try c.u8()
            let bias = try c.u32()
            let vax = bits0 & 0x40 != 0
            let normalization = (bits0 >> 4) & 0x03
            // (size, sign position, exponent position/size, mantissa size, bias) of binary16/32/64
            let ieee: [(Int, UInt8, UInt8, UInt8, UInt8, UInt32)] = [(2, 15, 10, 5, 10, 15), (4, 31, 23, 8, 23, 127), (8, 63, 52, 11, 52, 1023)]
            let layout = ieee.first { $0.0 == size }
            if let (_, sign, ePos, eSize, mSize, eBias) = layout, !vax, normalization == 2, bitOffset == 0, precision == 8 * size,
               bits1 == sign, exponentPosition == ePos, exponentSize == eSize, mantissaPosition == 0, mantissaSize == mSize, bias == eBias {
                return H5Datatype(kind: .ieeeFloat(bigEndian: bits0 & 0x01 != 0), size: size)
            }
            return H5Datatype(kind: .otherFloat, size: size)
        case 3:
            return H5Datatype(kind: .fixedString, size: size)
        case 9:
            guard depth < 4 else {
                throw failure("variable-length types nested at most 4 deep", at: body.lowerBound, for: owner, found: "deeper ones (damaged file?)")
            }
            // The base type follows; decoding it checks it is well formed.
            _ = try datatype(c.position..<c.end, depth: depth + 1, owner: owner)
            // On disk each element is a length and a global heap ID (collection address, index),
            // whatever the size field says (libhdf5 recomputes it the same way).
            let stored = 4 + offsetSize + 4
            return H5Datatype(kind: bits0 & 0x0F == 1 ? .variableString : .other(9), size: stored)
        default:
            return H5Datatype(kind: .other(typeClass), size: size)
        }
    }

    /// The object header a shared message points to (a committed datatype). Messages shared
    /// through the file's shared-message heap are refused: zoo's reader has no fractal heap.
    private func sharedObject(_ body: Range<Int>, what: String, owner: String) throws -> Int {
        var c = try H5Cursor(self, at: body.lowerBound, count: body.count, what: "a shared message", owner: owner)
        let version = try c.u8()
        let type = try c.u8()
        switch version {
        case 1:
            try c.skip(6 + lengthSize)
        case 2:
            break
        case 3:
            guard type == 2 else {
                throw failure("a \(what) shared as a committed object", at: body.lowerBound, for: owner,
                              found: "one kept in the file's shared-message heap, which zoo's reader does not read")
            }
        default:
            throw failure("a shared message of version 1 to 3", at: body.lowerBound, for: owner, found: "version \(version) (damaged file?)")
        }
        return try c.requiredAddress(of: "a committed \(what)")
    }

    /// A data layout message (versions 1 to 4): contiguous or compact storage; chunked and
    /// virtual datasets are refused.
    func storage(_ body: Range<Int>, owner: String) throws -> H5Storage {
        var c = try H5Cursor(self, at: body.lowerBound, count: body.count, what: "a data layout message", owner: owner)
        let version = try c.u8()
        let layoutClass: UInt8
        switch version {
        case 1, 2:
            let rank = Int(try c.u8())
            layoutClass = try c.u8()
            try c.skip(5)
            guard (1...33).contains(rank) else {
                throw failure("a layout of 1 to 33 dimensions", at: body.lowerBound, for: owner, found: "\(rank) (damaged file?)")
            }
            switch layoutClass {
            case 0:
                try c.skip(4 * rank)
                let size = Int(try c.u32())
                let start = try c.take(size)
                return .compact(start..<(start + size))
            case 1:
                let address = try c.address(of: "the dataset's values")
                return .contiguous(address: address, size: nil) // versions 1 and 2 do not record it
            default: break
            }
        case 3, 4:
            layoutClass = try c.u8()
            switch layoutClass {
            case 0:
                let size = try c.u16()
                let start = try c.take(size)
                return .compact(start..<(start + size))
            case 1:
                let address = try c.address(of: "the dataset's values")
                let size = try c.byteCount(of: "the dataset's values")
                return .contiguous(address: address, size: size)
            default: break
            }
        default:
            throw failure("a data layout message of version 1 to 4", at: body.lowerBound, for: owner, found: "version \(version) (damaged file?)")
        }
        switch layoutClass {
        case 2: throw ZooError(.format, "\(owner) in \(displayName) is stored in chunks (HDF5 chunked layout, used for compression or resizable datasets), which zoo's reader does not read")
        case 3: throw ZooError(.format, "\(owner) in \(displayName) is an HDF5 virtual dataset, which zoo's reader does not read")
        default: throw failure("a compact, contiguous or chunked layout", at: body.lowerBound, for: owner, found: "layout class \(layoutClass) (damaged file?)")
        }
    }

    // MARK: links and attributes

    /// A link message: name and target.
    func link(_ body: Range<Int>, owner: String) throws -> H5Link {
        var c = try H5Cursor(self, at: body.lowerBound, count: body.count, what: "a link message", owner: owner)
        let version = try c.u8()
        guard version == 1 else { throw failure("a link message of version 1", at: body.lowerBound, for: owner, found: "version \(version) (damaged file?)") }
        let flags = try c.u8()
        guard flags & 0xE0 == 0 else {
            throw failure("link flags HDF5 defines", at: body.lowerBound + 1, for: owner, found: "0x\(String(flags, radix: 16)) (damaged file?)")
        }
        var type: UInt8 = 0
        if flags & 0x08 != 0 { type = try c.u8() }
        if flags & 0x04 != 0 { try c.skip(8) } // creation order
        if flags & 0x10 != 0 { try c.skip(1) } // character set of the name
        let lengthAt = c.position
        let nameLength = try c.unsigned(width: 1 << Int(flags & 0x03))
        guard nameLength > 0, nameLength <= UInt64(c.remaining) else {
            throw failure("a link name of 1 to \(c.remaining) bytes", at: lengthAt, for: owner, found: "a length of \(nameLength) (damaged file?)")
        }
        let start = try c.take(Int(nameLength))
        let name = Array(UnsafeRawBufferPointer(rebasing: data[start..<(start + Int(nameLength))]))
        switch type {
        case 0: return H5Link(name: name, target: .hard(try c.requiredAddress(of: "a linked object")))
        case 1: return H5Link(name: name, target: .soft)
        default: return H5Link(name: name, target: .external)
        }
    }

    /// The links of a group whose header has a link info message: compact links (link messages
    /// in the header). Dense link storage (a fractal heap) is refused.
    func compactLinks(_ header: H5ObjectHeader, linkInfo: H5Message, owner: String) throws -> [H5Link] {
        var c = try messageCursor(linkInfo, "a link info message", owner: owner)
        let version = try c.u8()
        guard version == 0 else { throw failure("a link info message of version 0", at: linkInfo.body.lowerBound, for: owner, found: "version \(version) (damaged file?)") }
        let flags = try c.u8()
        if flags & 0x01 != 0 { try c.skip(8) } // maximum creation index
        if try c.address(of: "the group's fractal heap") != nil {
            throw ZooError(.format, "\(owner) in \(displayName) uses HDF5 dense link storage, which zoo's reader does not read")
        }
        return try header.all(H5MessageType.link).map { try link($0.body, owner: owner) }
    }

    /// Whether the header keeps attributes outside itself (dense attribute storage).
    func hasDenseAttributes(_ header: H5ObjectHeader, owner: String) throws -> Bool {
        guard let info = header.first(H5MessageType.attributeInfo) else { return false }
        var c = try messageCursor(info, "an attribute info message", owner: owner)
        let version = try c.u8()
        guard version == 0 else { throw failure("an attribute info message of version 0", at: info.body.lowerBound, for: owner, found: "version \(version) (damaged file?)") }
        let flags = try c.u8()
        if flags & 0x01 != 0 { try c.skip(2) } // maximum creation index
        return try c.address(of: "the attribute fractal heap") != nil
    }

    /// The name of an attribute message (versions 1 to 3), without decoding its value.
    func attributeName(_ body: Range<Int>, owner: String) throws -> [UInt8] {
        try attributeParts(body, owner: owner).name
    }

    /// An attribute message split into its parts: name, datatype, dataspace and value bytes.
    /// Version 1 pads the name, datatype and dataspace each to a multiple of 8 bytes.
    func attributeParts(_ body: Range<Int>, owner: String) throws
        -> (name: [UInt8], datatype: Range<Int>, datatypeShared: Bool, dataspace: Range<Int>, dataspaceShared: Bool, value: Range<Int>) {
        var c = try H5Cursor(self, at: body.lowerBound, count: body.count, what: "an attribute message", owner: owner)
        let version = try c.u8()
        guard (1...3).contains(version) else {
            throw failure("an attribute message of version 1 to 3", at: body.lowerBound, for: owner, found: "version \(version) (damaged file?)")
        }
        let flags = try c.u8() // reserved in version 1
        if version >= 2, flags & 0xFC != 0 {
            throw failure("attribute flags HDF5 defines", at: body.lowerBound + 1, for: owner, found: "0x\(String(flags, radix: 16)) (damaged file?)")
        }
        let nameSize = try c.u16(), datatypeSize = try c.u16(), dataspaceSize = try c.u16()
        if version == 3 { try c.skip(1) } // character set of the name
        func part(_ size: Int) throws -> Range<Int> {
            let start = try c.take(size)
            if version == 1 { try c.skip((8 - size % 8) % 8) }
            return start..<(start + size)
        }
        let nameRange = try part(nameSize)
        let datatypeRange = try part(datatypeSize)
        let dataspaceRange = try part(dataspaceSize)
        let nameBytes = UnsafeRawBufferPointer(rebasing: data[nameRange])
        let name = Array(nameBytes.prefix { $0 != 0 })
        let shared = version >= 2 ? flags : 0
        return (name, datatypeRange, shared & 0x01 != 0, dataspaceRange, shared & 0x02 != 0, c.position..<c.end)
    }
}
