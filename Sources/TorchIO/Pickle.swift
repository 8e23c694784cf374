import ZooCore

/// A value produced by the safe unpickler. Containers live in an `PickleArena` and are
/// referenced by index, so deep or cyclic structures built by a hostile file can neither
/// recurse on destruction nor leak through reference cycles.
public enum PickleValue: Equatable, Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer wider than 64 bits; only its byte length is kept.
    case bigInt(byteCount: Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case object(Int)
}

/// Where a tensor's elements live: one storage record of a checkpoint.
public struct StorageRef: Equatable, Sendable {
    /// The record key (`data/<key>` in a zip, the storage key in a legacy stream).
    public var key: String
    /// The element type the storage was saved with (`uint8` for untyped storages).
    public var dtype: DType
    /// Elements the storage holds, as its persistent id declares.
    public var count: Int
    public var byteCount: Int { count * dtype.size }
}

/// A tensor as a pickle describes it: a strided view into a storage.
public struct TensorRef: Equatable, Sendable {
    public var storage: StorageRef
    public var dtype: DType
    /// In elements of `dtype`.
    public var offset: Int
    public var shape: [Int]
    /// In elements of `dtype`.
    public var stride: [Int]
}

public enum PickleObject: Equatable, Sendable {
    case tuple([PickleValue])
    case list([PickleValue])
    /// Insertion-ordered; `OrderedDict` and `dict` both land here.
    case dict([PickleValue], [PickleValue])
    case set([PickleValue])
    /// An allow-listed global that has not been called.
    case global(module: String, name: String)
    case storage(StorageRef)
    case tensor(TensorRef)
    case dtype(DType)
    case device(String)
}

/// Owner of every container an unpickle produced.
public struct PickleArena: Sendable {
    public internal(set) var objects: [PickleObject] = []

    public subscript(_ value: PickleValue) -> PickleObject? {
        if case .object(let i) = value { return objects[i] }
        return nil
    }

    mutating func add(_ object: PickleObject) -> PickleValue {
        objects.append(object)
        return .object(objects.count - 1)
    }

    /// The dictionary's entries when `value` is a dict.
    public func dictEntries(_ value: PickleValue) -> [(PickleValue, PickleValue)]? {
        guard case .dict(let keys, let values)? = self[value] else { return nil }
        return Array(zip(keys, values))
    }

    /// A short human description (`3`, `'resnet18'`, `dict with 2 entries`, `tensor float32 [3, 4]`).
    public func summary(_ value: PickleValue) -> String {
        switch value {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .bigInt(let n): return "int (\(n) bytes)"
        case .float(let d): return String(d)
        case .string(let s): return "'\(shown: s.count > 60 ? String(s.prefix(57)) + "…" : s)'"
        case .bytes(let b): return "bytes (\(b.count))"
        case .object(let i):
            switch objects[i] {
            case .tuple(let items): return "tuple with \(items.count) items"
            case .list(let items): return "list with \(items.count) items"
            case .dict(let keys, _): return "dict with \(keys.count) entries"
            case .set(let items): return "set with \(items.count) items"
            case .global(let m, let n): return "\(m).\(n)"
            case .storage(let s): return "storage \(s.dtype.rawValue) (\(s.count))"
            case .tensor(let t): return "tensor \(t.dtype.rawValue) \(t.shape)"
            case .dtype(let d): return "torch.\(d.rawValue)"
            case .device(let d): return "device '\(shown: d)'"
            }
        }
    }
}

/// A pickle virtual machine restricted to what a weights file needs, modelled on PyTorch's
/// `weights_only` unpickler: a fixed opcode set and an allow-list of globals. Nothing is ever
/// imported or called; allowed globals are interpreted by zoo itself. Every length is checked
/// against the bytes that remain before anything is allocated.
public struct SafeUnpickler {
    /// Limit on MARK nesting; real state dicts stay below 10.
    public static let maxMarkDepth = 256

    /// How a persistent id (`BINPERSID`) resolves. Both PyTorch formats use
    /// `('storage', torch.<Kind>Storage, key, location, numel[, view_metadata])`.
    public enum PersistentIDs: Sendable { case torchStorages, refuse }

    private let data: UnsafeRawBufferPointer
    private var pos: Int
    private let persistentIDs: PersistentIDs
    public private(set) var arena = PickleArena()
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [UInt32: PickleValue] = [:]
    /// Storages seen, by key, so that repeated persistent ids resolve to one storage.
    public private(set) var storages: [String: StorageRef] = [:]
    public private(set) var storageOrder: [String] = []

    public init(_ data: UnsafeRawBufferPointer, at start: Int = 0, persistentIDs: PersistentIDs = .torchStorages) {
        self.data = data
        self.pos = start
        self.persistentIDs = persistentIDs
    }

    /// Position just past the STOP opcode after `load()`.
    public var position: Int { pos }

    /// Runs the pickle to its STOP opcode and returns the top value.
    public mutating func load() throws -> PickleValue {
        while true {
            let opStart = pos
            let op = try byte()
            switch op {
            case 0x80: // PROTO
                let proto = try byte()
                guard proto <= 5 else { throw fail(opStart, "expected pickle protocol 0-5, found \(proto)") }
            case 0x95: // FRAME (protocol 4): a length hint only
                try skip(8)
            case 0x2e: // STOP
                guard let top = stack.popLast() else { throw fail(opStart, "the pickle stops with an empty stack") }
                return top
            case 0x28: marks.append(stack.count) // MARK
                guard marks.count <= Self.maxMarkDepth else {
                    throw fail(opStart, "expected MARK nesting of at most \(Self.maxMarkDepth), found deeper nesting")
                }
            case 0x30: _ = try pop(opStart) // POP
            case 0x31: _ = try popMark(opStart) // POP_MARK
            case 0x32: try stack.append(peek(opStart)) // DUP
            case 0x4e: stack.append(.none) // NONE
            case 0x88: stack.append(.bool(true)) // NEWTRUE
            case 0x89: stack.append(.bool(false)) // NEWFALSE
            case 0x4a: stack.append(.int(Int64(try le(Int32.self)))) // BININT
            case 0x4b: stack.append(.int(Int64(try byte()))) // BININT1
            case 0x4d: stack.append(.int(Int64(try le(UInt16.self)))) // BININT2
            case 0x8a: // LONG1
                let n = Int(try byte())
                stack.append(try longValue(bytes(n)))
            case 0x8b: // LONG4
                let n = Int(try le(Int32.self))
                guard n >= 0 else { throw fail(opStart, "expected a non-negative LONG4 length, found \(n)") }
                stack.append(try longValue(bytes(n)))
            case 0x47: // BINFLOAT (big-endian double)
                let raw = try bytes(8)
                var bits: UInt64 = 0
                for b in raw { bits = bits << 8 | UInt64(b) }
                stack.append(.float(Double(bitPattern: bits)))
            case 0x58: stack.append(.string(try utf8(bytes(Int(try le(UInt32.self))), opStart))) // BINUNICODE
            case 0x8c: stack.append(.string(try utf8(bytes(Int(try byte())), opStart))) // SHORT_BINUNICODE
            case 0x8d: // BINUNICODE8
                let n = try le(UInt64.self)
                guard n <= UInt64(data.count - pos) else { throw truncated(opStart, needed: n) }
                stack.append(.string(try utf8(bytes(Int(n)), opStart)))
            case 0x55: stack.append(.string(latin1(try bytes(Int(try byte()))))) // SHORT_BINSTRING
            case 0x54: // BINSTRING
                let n = Int(try le(Int32.self))
                guard n >= 0 else { throw fail(opStart, "expected a non-negative BINSTRING length, found \(n)") }
                stack.append(.string(latin1(try bytes(n))))
            case 0x42: stack.append(.bytes(try bytes(Int(try le(UInt32.self))))) // BINBYTES
            case 0x43: stack.append(.bytes(try bytes(Int(try byte())))) // SHORT_BINBYTES
            case 0x29: stack.append(arena.add(.tuple([]))) // EMPTY_TUPLE
            case 0x74: stack.append(arena.add(.tuple(try popMark(opStart)))) // TUPLE
            case 0x85: let a = try pop(opStart); stack.append(arena.add(.tuple([a]))) // TUPLE1
            case 0x86: // TUPLE2
                let b = try pop(opStart), a = try pop(opStart)
                stack.append(arena.add(.tuple([a, b])))
            case 0x87: // TUPLE3
                let c = try pop(opStart), b = try pop(opStart), a = try pop(opStart)
                stack.append(arena.add(.tuple([a, b, c])))
            case 0x5d: stack.append(arena.add(.list([]))) // EMPTY_LIST
            case 0x6c: stack.append(arena.add(.list(try popMark(opStart)))) // LIST
            case 0x61: // APPEND
                let item = try pop(opStart)
                try appendItems([item], to: try peek(opStart), opStart)
            case 0x65: // APPENDS
                let items = try popMark(opStart)
                try appendItems(items, to: try peek(opStart), opStart)
            case 0x7d: stack.append(arena.add(.dict([], []))) // EMPTY_DICT
            case 0x64: // DICT
                let items = try popMark(opStart)
                let d = arena.add(.dict([], []))
                try setItems(items, into: d, opStart)
                stack.append(d)
            case 0x73: // SETITEM
                let v = try pop(opStart), k = try pop(opStart)
                try setItems([k, v], into: try peek(opStart), opStart)
            case 0x75: // SETITEMS
                let items = try popMark(opStart)
                try setItems(items, into: try peek(opStart), opStart)
            case 0x8f: stack.append(arena.add(.set([]))) // EMPTY_SET
            case 0x90: // ADDITEMS
                let items = try popMark(opStart)
                let target = try peek(opStart)
                guard case .object(let i) = target, case .set(var existing) = arena.objects[i] else {
                    throw fail(opStart, "expected a set under ADDITEMS, found \(arena.summary(target))")
                }
                existing += items
                arena.objects[i] = .set(existing)
            case 0x71: memo[UInt32(try byte())] = try peek(opStart) // BINPUT
            case 0x72: memo[try le(UInt32.self)] = try peek(opStart) // LONG_BINPUT
            case 0x94: memo[UInt32(memo.count)] = try peek(opStart) // MEMOIZE
            case 0x68: try stack.append(memoGet(UInt32(try byte()), opStart)) // BINGET
            case 0x6a: try stack.append(memoGet(try le(UInt32.self), opStart)) // LONG_BINGET
            case 0x63: // GLOBAL "module\nname\n"
                let module = try line(opStart), name = try line(opStart)
                stack.append(try global(module, name, opStart))
            case 0x93: // STACK_GLOBAL
                let nameValue = try pop(opStart), moduleValue = try pop(opStart)
                guard case .string(let module) = moduleValue, case .string(let name) = nameValue else {
                    throw fail(opStart, "expected two strings under STACK_GLOBAL, found \(arena.summary(moduleValue)) and \(arena.summary(nameValue))")
                }
                stack.append(try global(module, name, opStart))
            case 0x52: // REDUCE
                let args = try pop(opStart), callable = try pop(opStart)
                stack.append(try reduce(callable, args, opStart))
            case 0x81: // NEWOBJ
                let args = try pop(opStart), cls = try pop(opStart)
                stack.append(try newObject(cls, args, opStart))
            case 0x62: // BUILD
                let state = try pop(opStart)
                try build(try peek(opStart), state, opStart)
            case 0x51: // BINPERSID
                let pid = try pop(opStart)
                stack.append(try persistentLoad(pid, opStart))
            default:
                throw fail(opStart, "expected an opcode a weights file uses, found opcode 0x\(String(op, radix: 16)) ('\(printable(op))'), which zoo refuses")
            }
        }
    }

    // MARK: - Reading primitives

    private mutating func byte() throws -> UInt8 {
        guard pos < data.count else { throw truncated(pos, needed: 1) }
        defer { pos += 1 }
        return data[pos]
    }

    private mutating func bytes(_ n: Int) throws -> [UInt8] {
        guard n >= 0, n <= data.count - pos else { throw truncated(pos, needed: UInt64(max(n, 0))) }
        defer { pos += n }
        return Array(UnsafeRawBufferPointer(rebasing: data[pos..<(pos + n)]))
    }

    /// Moves past `n` bytes without copying them. (Not `_ = try bytes(n)`: Swift 6.3.1 at -O frees
    /// that unused copy before filling it, a heap write after free.)
    private mutating func skip(_ n: Int) throws {
        guard n <= data.count - pos else { throw truncated(pos, needed: UInt64(n)) }
        pos += n
    }

    private mutating func le<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard size <= data.count - pos else { throw truncated(pos, needed: UInt64(size)) }
        defer { pos += size }
        return T(littleEndian: data.loadUnaligned(fromByteOffset: pos, as: T.self))
    }

    private mutating func line(_ opStart: Int) throws -> String {
        let limit = min(data.count, pos + 256)
        var end = pos
        while end < limit && data[end] != 0x0a { end += 1 }
        guard end < limit else { throw fail(opStart, "expected a newline-terminated name of at most 256 bytes after GLOBAL, found none") }
        let text = latin1(Array(UnsafeRawBufferPointer(rebasing: data[pos..<end])))
        pos = end + 1
        return text
    }

    private func truncated(_ at: Int, needed: UInt64) -> ZooError {
        ZooError(.format, "the pickle is truncated: expected \(needed) more byte(s) at offset \(at), found \(max(0, data.count - at))")
    }

    private func fail(_ at: Int, _ message: String) -> ZooError {
        ZooError(.format, "\(message) (pickle offset \(at))")
    }

    private func latin1(_ raw: [UInt8]) -> String { String(raw.map { Character(Unicode.Scalar($0)) }) }

    private func utf8(_ raw: [UInt8], _ opStart: Int) throws -> String {
        guard let s = String(validating: raw, as: UTF8.self) else { throw fail(opStart, "expected UTF-8 text, found invalid bytes") }
        return s
    }

    private func printable(_ op: UInt8) -> String {
        (0x20..<0x7f).contains(op) ? String(Character(Unicode.Scalar(op))) : "\\x" + String(op, radix: 16)
    }

    private func longValue(_ raw: [UInt8]) throws -> PickleValue {
        guard !raw.isEmpty else { return .int(0) }
        guard raw.count <= 8 else { return .bigInt(byteCount: raw.count) }
        var v: UInt64 = 0
        for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        if raw.count < 8, raw.last! & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(raw.count)) } // sign-extend
        return .int(Int64(bitPattern: v))
    }

    // MARK: - Stack

    private mutating func pop(_ opStart: Int) throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let v = stack.popLast() else { throw fail(opStart, "expected a value on the pickle stack, found none") }
        return v
    }

    private func peek(_ opStart: Int) throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let v = stack.last else { throw fail(opStart, "expected a value on the pickle stack, found none") }
        return v
    }

    private mutating func popMark(_ opStart: Int) throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail(opStart, "expected a MARK on the pickle stack, found none") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func memoGet(_ key: UInt32, _ opStart: Int) throws -> PickleValue {
        guard let v = memo[key] else { throw fail(opStart, "expected memo entry \(key) to exist, found none") }
        return v
    }

    private mutating func appendItems(_ items: [PickleValue], to target: PickleValue, _ opStart: Int) throws {
        guard case .object(let i) = target, case .list(var existing) = arena.objects[i] else {
            throw fail(opStart, "expected a list to append to, found \(arena.summary(target))")
        }
        arena.objects[i] = .list([]) // release the array buffer so the append does not copy it
        existing += items
        arena.objects[i] = .list(existing)
    }

    private mutating func setItems(_ items: [PickleValue], into target: PickleValue, _ opStart: Int) throws {
        guard items.count % 2 == 0 else { throw fail(opStart, "expected key/value pairs, found an odd number of items") }
        guard case .object(let i) = target, case .dict(var keys, var values) = arena.objects[i] else {
            throw fail(opStart, "expected a dict to set items in, found \(arena.summary(target))")
        }
        arena.objects[i] = .dict([], [])
        for pair in stride(from: 0, to: items.count, by: 2) {
            let key = items[pair], value = items[pair + 1]
            if let existing = keys.firstIndex(of: key), isScalar(key) {
                values[existing] = value
            } else {
                keys.append(key)
                values.append(value)
            }
        }
        arena.objects[i] = .dict(keys, values)
    }

    private func isScalar(_ v: PickleValue) -> Bool {
        if case .object = v { return false }
        return true
    }

    // MARK: - Globals: the allow-list

    /// Globals a weights file may name. Anything else is refused by name before it could be used.
    public static let allowedGlobals: Set<String> = {
        var names: Set<String> = [
            "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
            "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
            "torch._tensor._rebuild_from_type_v2", "torch._utils._rebuild_from_type_v2",
            "torch.Tensor", "torch._tensor.Tensor", "torch.nn.parameter.Parameter", "torch.nn.parameter.Buffer",
            "torch.Size", "torch.device", "torch.UntypedStorage", "torch.storage.UntypedStorage",
            "collections.OrderedDict", "builtins.set", "builtins.frozenset", "__builtin__.set", "__builtin__.frozenset", "_codecs.encode",
        ]
        for kind in ["Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool"] {
            names.insert("torch.\(kind)Storage")
        }
        for dtype in DType.allCases { names.insert("torch.\(dtype.rawValue)") }
        return names
    }()

    private mutating func global(_ module: String, _ name: String, _ opStart: Int) throws -> PickleValue {
        let full = "\(module).\(name)"
        guard Self.allowedGlobals.contains(full) else {
            throw Self.refusal(full, at: opStart)
        }
        if module == "torch", let dtype = DType(rawValue: name) { return arena.add(.dtype(dtype)) }
        return arena.add(.global(module: module, name: name))
    }

    static func refusal(_ full: String, at offset: Int) -> ZooError {
        var hint = "a weights file needs only tensors, storages and plain containers, and zoo never runs code from a checkpoint"
        if full.hasPrefix("__main__.") || full.hasPrefix("__torch__.") || !full.hasPrefix("torch.") && !full.hasPrefix("builtins.") && !full.hasPrefix("posix.") && !full.hasPrefix("os.") && !full.hasPrefix("subprocess.") && !full.hasPrefix("nt.") {
            hint += "; if this file pickles a whole model object, save `model.state_dict()` instead"
        }
        return ZooError(.refused, "refused to load global '\(shown: full)' (pickle offset \(offset)): \(hint)")
    }

    private func globalName(_ v: PickleValue) -> String? {
        if case .global(let m, let n)? = arena[v] { return "\(m).\(n)" }
        return nil
    }

    private func tupleItems(_ v: PickleValue, _ opStart: Int, _ what: String) throws -> [PickleValue] {
        guard case .tuple(let items)? = arena[v] else { throw fail(opStart, "expected an argument tuple for \(what), found \(arena.summary(v))") }
        return items
    }

    private func intList(_ v: PickleValue, _ opStart: Int, _ what: String) throws -> [Int] {
        let items: [PickleValue]
        switch arena[v] {
        case .tuple(let t)?: items = t
        case .list(let l)?: items = l
        default: throw fail(opStart, "expected \(what) as a tuple of integers, found \(arena.summary(v))")
        }
        return try items.map {
            guard case .int(let i) = $0, i >= 0, i <= Int64(Int32.max) * 4096 else {
                throw fail(opStart, "expected \(what) as non-negative integers, found \(arena.summary($0))")
            }
            return Int(i)
        }
    }

    private mutating func reduce(_ callable: PickleValue, _ argsValue: PickleValue, _ opStart: Int) throws -> PickleValue {
        guard let name = globalName(callable) else {
            throw fail(opStart, "expected an allowed global to call under REDUCE, found \(arena.summary(callable))")
        }
        let args = try tupleItems(argsValue, opStart, name)
        switch name {
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3":
            guard args.count >= 4, case .storage(let storage)? = arena[args[0]], case .int(let offset) = args[1], offset >= 0 else {
                throw fail(opStart, "expected (storage, offset, size, stride, …) for \(name), found \(args.map { arena.summary($0) })")
            }
            var dtype = storage.dtype
            if name.hasSuffix("v3") {
                guard args.count >= 7, case .dtype(let explicit)? = arena[args[6]] else {
                    throw fail(opStart, "expected a dtype as the 7th argument of \(name), found \(args.count > 6 ? arena.summary(args[6]) : "nothing")")
                }
                dtype = explicit
            }
            let shape = try intList(args[2], opStart, "the size of a tensor")
            let stride = try intList(args[3], opStart, "the stride of a tensor")
            guard shape.count == stride.count else {
                throw fail(opStart, "expected as many strides as dimensions, found size \(shape) and stride \(stride)")
            }
            return arena.add(.tensor(TensorRef(storage: storage, dtype: dtype, offset: Int(offset), shape: shape, stride: stride)))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let first = args.first, case .tensor = arena[first] else {
                throw fail(opStart, "expected a tensor as the first argument of \(name), found \(args.first.map { arena.summary($0) } ?? "nothing")")
            }
            return first
        case "torch._tensor._rebuild_from_type_v2", "torch._utils._rebuild_from_type_v2":
            guard args.count >= 3 else { throw fail(opStart, "expected (function, type, args, state) for \(name), found \(args.count) items") }
            // torch.save nests one level (the function rebuilds a tensor); a chain of these would
            // recurse once per link, and a hostile file can hold enough links to overflow the stack
            if let inner = globalName(args[0]), inner.hasSuffix("._rebuild_from_type_v2") {
                throw fail(opStart, "expected a tensor-building function inside \(name), found \(inner) again")
            }
            return try reduce(args[0], args[2], opStart)
        case "collections.OrderedDict":
            let d = arena.add(.dict([], []))
            if let pairs = args.first {
                let items: [PickleValue]
                switch arena[pairs] {
                case .list(let l)?: items = l
                case .tuple(let t)?: items = t
                default: throw fail(opStart, "expected a list of pairs for OrderedDict, found \(arena.summary(pairs))")
                }
                var flat: [PickleValue] = []
                for pair in items {
                    let kv = try tupleItems(pair, opStart, "an OrderedDict pair")
                    guard kv.count == 2 else { throw fail(opStart, "expected (key, value) pairs for OrderedDict, found \(kv.count) items") }
                    flat += kv
                }
                try setItems(flat, into: d, opStart)
            }
            return d
        case "torch.Size":
            guard let first = args.first else { return arena.add(.tuple([])) }
            return arena.add(.tuple(try intList(first, opStart, "torch.Size").map { .int(Int64($0)) }))
        case "torch.device":
            guard case .string(let type)? = args.first else { throw fail(opStart, "expected a device name, found \(args.map { arena.summary($0) })") }
            if args.count > 1, case .int(let index) = args[1] { return arena.add(.device("\(type):\(index)")) }
            return arena.add(.device(type))
        case "builtins.set", "builtins.frozenset", "__builtin__.set", "__builtin__.frozenset":
            guard let first = args.first else { return arena.add(.set([])) }
            switch arena[first] {
            case .list(let l)?: return arena.add(.set(l))
            case .tuple(let t)?: return arena.add(.set(t))
            default: throw fail(opStart, "expected a list for \(name), found \(arena.summary(first))")
            }
        case "_codecs.encode":
            guard case .string(let text)? = args.first else { throw fail(opStart, "expected a string for _codecs.encode, found \(args.map { arena.summary($0) })") }
            // protocol 2 spells bytes as _codecs.encode(latin1 text, 'latin1')
            return .bytes(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        default:
            throw fail(opStart, "expected a callable global under REDUCE, found '\(shown: name)', which is a type, not a function zoo interprets")
        }
    }

    private mutating func newObject(_ cls: PickleValue, _ args: PickleValue, _ opStart: Int) throws -> PickleValue {
        switch globalName(cls) {
        case "collections.OrderedDict"?: return arena.add(.dict([], []))
        case "builtins.set"?, "builtins.frozenset"?, "__builtin__.set"?, "__builtin__.frozenset"?: return arena.add(.set([]))
        default: throw fail(opStart, "expected OrderedDict or set under NEWOBJ, found \(arena.summary(cls))")
        }
    }

    private mutating func build(_ target: PickleValue, _ state: PickleValue, _ opStart: Int) throws {
        // State on an OrderedDict (the state dict's `_metadata`) or on a tensor (hooks, flags) carries
        // no weights; it is accepted and dropped. Anything else would mean an object zoo cannot model.
        switch arena[target] {
        case .dict?, .tensor?: return
        default: throw fail(opStart, "expected BUILD on a dict or tensor, found \(arena.summary(target))")
        }
    }

    private mutating func persistentLoad(_ pid: PickleValue, _ opStart: Int) throws -> PickleValue {
        guard persistentIDs == .torchStorages else { throw fail(opStart, "expected no persistent ids in this pickle, found one") }
        let items = try tupleItems(pid, opStart, "a persistent id")
        guard items.count >= 5, case .string("storage") = items[0] else {
            throw fail(opStart, "expected a persistent id ('storage', type, key, location, numel), found \(items.map { arena.summary($0) })")
        }
        guard let typeName = globalName(items[1]), typeName.hasPrefix("torch.") else {
            throw fail(opStart, "expected a torch storage type in a persistent id, found \(arena.summary(items[1]))")
        }
        let className = String(typeName.split(separator: ".").last!)
        guard let dtype = DType(storageClass: className) else {
            throw ZooError(.mismatch, "expected a storage of a supported dtype, found \(typeName) (pickle offset \(opStart))")
        }
        let key: String
        switch items[2] {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        default: throw fail(opStart, "expected a storage key string, found \(arena.summary(items[2]))")
        }
        guard case .int(let count) = items[4], count >= 0, count < Int64(1) << 48 else {
            throw fail(opStart, "expected a non-negative element count for storage '\(shown: key)', found \(arena.summary(items[4]))")
        }
        if items.count > 5, items[5] != .none {
            throw ZooError(.mismatch, "expected storage '\(shown: key)' to be a whole storage, found a storage view (a pre-0.4 PyTorch legacy file); load and re-save it with a current torch.save (pickle offset \(opStart))")
        }
        let storage = StorageRef(key: key, dtype: dtype, count: Int(count))
        if let seen = storages[key] {
            guard seen == storage else {
                throw fail(opStart, "expected storage '\(shown: key)' to be declared once, found \(seen.dtype.rawValue)×\(seen.count) and \(dtype.rawValue)×\(count)")
            }
        } else {
            storages[key] = storage
            storageOrder.append(key)
        }
        return arena.add(.storage(storage))
    }
}
