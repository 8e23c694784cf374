import ZooCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The container a checkpoint came in.
public enum CheckpointFormat: String, Sendable {
    /// `torch.save` since PyTorch 1.6: a zip of `data.pkl` and storage records.
    case zip
    /// `torch.save` before 1.6 (or `_use_new_zipfile_serialization=False`): a stream of pickles.
    case legacy
    /// Hugging Face safetensors: a JSON header and raw little-endian data.
    case safetensors

    public var description: String {
        switch self {
        case .zip: return "PyTorch zip (torch ≥ 1.6)"
        case .legacy: return "PyTorch legacy (torch < 1.6 stream of pickles)"
        case .safetensors: return "safetensors"
        }
    }
}

/// One named tensor of a checkpoint, described without reading its elements.
public struct CheckpointEntry: Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    let location: Location
    /// Which of the checkpoint's `weightFiles` holds it (0 but in a sharded folder).
    public internal(set) var shard = 0

    enum Location: Sendable {
        /// A strided view into a pickle-described storage.
        case strided(TensorRef)
        /// A contiguous byte range of the mapped file (safetensors).
        case range(offset: Int, byteCount: Int)
    }

    public var count: Int { shape.reduce(1, *) }
    public var byteCount: Int { count * dtype.size }
}

/// A checkpoint opened for reading: its tensors' names, dtypes and shapes are known at once;
/// elements are read only when asked for.
public final class Checkpoint: @unchecked Sendable {
    /// The checkpoint file, or the folder of a Hugging Face model (`save_pretrained`).
    public internal(set) var path: String
    public let format: CheckpointFormat
    /// Whether `path` is a model folder rather than a file.
    public internal(set) var isFolder = false
    /// The index of a sharded folder (`model.safetensors.index.json`, `pytorch_model.bin.index.json`).
    public internal(set) var indexFile: String?
    /// Weights files of a folder that were not read, because another layout is preferred
    /// (`pytorch_model.bin` beside `model.safetensors`).
    public internal(set) var unusedWeightFiles: [String] = []
    /// Tensors in file order (a sharded folder's: shard by shard, each in its file's order),
    /// after unwrapping and prefix stripping.
    public let entries: [CheckpointEntry]
    /// Entries beside the tensors (epoch, optimizer state …), as short summaries.
    public let otherEntries: [(name: String, summary: String)]
    /// The dotted path of the dict the tensors were taken from (`state_dict`, `ema.weights`), nil at top level.
    public let selectedKey: String?
    /// A prefix removed from every tensor name (`module.` from DataParallel).
    public let strippedPrefix: String?
    /// Other dicts of tensors the checkpoint holds beside the chosen one (`model_ema`), which
    /// `--key` selects instead.
    public private(set) var alternativeWeights: [String] = []
    /// safetensors `__metadata__` (of every shard, each pair once).
    public let metadata: [(String, String)]

    /// The files the tensors come from, in order; `CheckpointEntry.shard` indexes them.
    let shards: [Shard]
    /// zip records whose CRC-32 has been checked by `verifyRecord`, as (shard, record name).
    private var verifiedRecords: Set<[String]> = []
    private let lock = Lock()

    /// One mapped file of tensors: the checkpoint itself, or one shard of a folder.
    struct Shard {
        let path: String
        let source: StorageSource
        /// A zip whose `byteorder` says big.
        let isBigEndian: Bool
    }

    enum StorageSource {
        case zip(ZipReader, prefix: String, file: MappedFile, directory: ZipDirectory)
        case mapped(MappedFile, storageRanges: [String: Range<Int>])
    }

    init(path: String, format: CheckpointFormat, entries: [CheckpointEntry],
         otherEntries: [(String, String)], selectedKey: String?, strippedPrefix: String?,
         metadata: [(String, String)], shards: [Shard]) {
        self.path = path
        self.format = format
        self.entries = entries
        self.otherEntries = otherEntries
        self.selectedKey = selectedKey
        self.strippedPrefix = strippedPrefix
        self.metadata = metadata
        self.shards = shards
    }

    /// Whether any file stores its tensors big-endian (a zip whose `byteorder` says big).
    public var isBigEndian: Bool { shards.contains { $0.isBigEndian } }
    /// The files the tensors are read from, in order: the checkpoint itself, a folder's weights
    /// file, or a sharded folder's shards.
    public var weightFiles: [String] { shards.map(\.path) }
    /// Every file read: the weights files and the index. A conversion never writes over one.
    public var inputFiles: [String] { weightFiles + (indexFile.map { [$0] } ?? []) }

    public var parameterCount: Int { entries.reduce(0) { $0 + $1.count } }
    public var byteCount: Int { entries.reduce(0) { $0 + $1.byteCount } }

    public func entry(named name: String) -> CheckpointEntry? { entries.first { $0.name == name } }

    // MARK: - Opening

    /// Opens a checkpoint of any supported format, recognised by its first bytes, or a folder
    /// written by transformers' `save_pretrained` (see `openFolder`).
    /// - Parameters:
    ///   - path: the file or folder.
    ///   - key: a dotted path to the dict holding the tensors (`ema.weights`), or to a module inside
    ///     a flat state dict (`encoder`: the tensors named `encoder.…`, without the prefix), when the automatic
    ///     choice (the top level, or `state_dict` / `model` / `model_state_dict` / `module`) is wrong.
    public static func open(_ path: String, key: String? = nil) throws -> Checkpoint {
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            return try openFolder(path, key: key)
        }
        return try openFile(path, key: key)
    }

    /// Opens one file.
    /// - Parameter shard: the file is one shard of a folder: names are kept as stored (the
    ///   index names them so), not stripped of `module.`.
    static func openFile(_ path: String, key: String?, shard: Bool = false) throws -> Checkpoint {
        do {
            let file = try MappedFile(path: path)
            let head = Array(file.bytes.prefix(16))
            if head.isEmpty {
                throw ZooError(.format, "expected a PyTorch checkpoint or safetensors file, found an empty file (0 bytes)")
            }
            if head.starts(with: [0x50, 0x4b, 0x03, 0x04]) || head.starts(with: [0x50, 0x4b, 0x05, 0x06]) {
                return try openZip(path, file: file, key: key, shard: shard)
            }
            // safetensors before pickles: a header length of 128, 384 … starts with the byte 0x80,
            // which is also a pickle's PROTO opcode.
            if looksLikeSafetensors(file) {
                guard key == nil else { throw ZooError(.usage, "--key selects a nested dict in a pickled checkpoint; safetensors files are flat, so it does not apply") }
                return try openSafetensors(file)
            }
            if head.starts(with: [0x80]) && head.count >= 2 && head[1] <= 5 {
                return try openLegacy(file, key: key, shard: shard)
            }
            let shown = head.prefix(8).map { String($0, radix: 16).leftPadded(2) }.joined(separator: " ")
            throw ZooError(.format, "expected a PyTorch checkpoint (zip or legacy pickle) or a safetensors file, found none of them (first bytes: \(shown))")
        } catch let error as ZooError {
            throw error.prefixed(path)
        }
    }

    /// A little-endian header length that fits the file, followed by a JSON object.
    private static func looksLikeSafetensors(_ file: MappedFile) -> Bool {
        guard file.count >= 9 else { return false }
        let length = UInt64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        if file.bytes[0] == 0x80 && length > UInt64(file.count - 8) { return false } // a pickle, not a header length
        var i = 8
        while i < file.count, file.bytes[i] == 0x20 { i += 1 }
        return i < file.count && file.bytes[i] == UInt8(ascii: "{")
    }

    private static func openZip(_ path: String, file: MappedFile, key: String?, shard: Bool) throws -> Checkpoint {
        let archive = try ZipReader(path: path, kind: "a torch ≥ 1.6 .pth", displayName: nil)
        guard let pickleName = archive.names.first(where: { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") && !$0.dropLast(9).contains("/") }) else {
            if archive.names.contains(where: { $0.hasSuffix("constants.pkl") }) {
                throw ZooError(.format, "expected a torch.save checkpoint, found a TorchScript archive without data.pkl")
            }
            throw ZooError(.format, "expected a zip with '<folder>/data.pkl' (a torch.save checkpoint), found a zip of \(archive.names.count) other entries")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        var bigEndian = false
        if archive.contains(prefix + "byteorder") {
            let order = String(decoding: try archive.read(prefix + "byteorder"), as: UTF8.self).trimmingWhitespace()
            switch order {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default: throw ZooError(.format, "expected '\(prefix)byteorder' to say 'little' or 'big', found '\(order.prefix(20))'")
            }
        }
        let pickle = try archive.read(pickleName)
        let (arena, root) = try pickle.withUnsafeBytes { raw -> (PickleArena, PickleValue) in
            var unpickler = SafeUnpickler(raw)
            let root = try unpickler.load()
            return (unpickler.arena, root)
        }
        let selection = try select(arena, root, key: key, stripModulePrefix: !shard)
        var recordSizes: [String: Int] = [:]
        for ref in selection.tensors.map(\.1) {
            let record = prefix + "data/" + ref.storage.key
            if recordSizes[ref.storage.key] == nil {
                guard let size = archive.size(of: record) else {
                    throw ZooError(.format, "expected storage record '\(shown: record)' in the zip, found none (the file is missing a record)")
                }
                recordSizes[ref.storage.key] = size
            }
        }
        let entries = try makeEntries(selection, available: { recordSizes[$0.key]! }, where: { "zip record '\(prefix)data/\($0.key)'" })
        let source = StorageSource.zip(archive, prefix: prefix, file: file, directory: ZipDirectory(file.bytes))
        let checkpoint = Checkpoint(path: path, format: .zip, entries: entries, otherEntries: selection.others,
                                    selectedKey: selection.key, strippedPrefix: selection.strippedPrefix, metadata: [],
                                    shards: [Shard(path: path, source: source, isBigEndian: bigEndian)])
        checkpoint.alternativeWeights = selection.alternatives
        return checkpoint
    }

    /// Magic number at the start of a legacy stream (`torch.serialization.MAGIC_NUMBER`).
    static let legacyMagic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

    /// Reads the pickles of a legacy stream one after another.
    private struct PickleStream {
        let raw: UnsafeRawBufferPointer
        var position = 0

        mutating func next(_ ids: SafeUnpickler.PersistentIDs = .refuse) throws -> (arena: PickleArena, value: PickleValue, storages: [String: StorageRef]) {
            var unpickler = SafeUnpickler(raw, at: position, persistentIDs: ids)
            let value = try unpickler.load()
            position = unpickler.position
            return (unpickler.arena, value, unpickler.storages)
        }
    }

    private static func openLegacy(_ file: MappedFile, key: String?, shard: Bool) throws -> Checkpoint {
        let raw = file.bytes
        var stream = PickleStream(raw: raw)
        let magic = try stream.next()
        // The magic number 0x1950a86a20f9469cfc6c is 80 bits wide: a LONG1 of 10 bytes.
        guard case .bigInt(10) = magic.value, raw.count >= 14, Array(raw[4..<14]) == legacyMagic else {
            throw ZooError(.format, "expected the legacy PyTorch magic number 0x1950a86a20f9469cfc6c first, found \(magic.arena.summary(magic.value)) (a plain pickle, not a torch.save checkpoint)")
        }
        let proto = try stream.next()
        guard case .int(1001) = proto.value else {
            throw ZooError(.format, "expected legacy protocol version 1001 after the magic number, found \(proto.arena.summary(proto.value))")
        }
        _ = try stream.next() // sys_info: the writer's sizes and byte order; storage data is always little-endian
        let main = try stream.next(.torchStorages)
        let keys = try stream.next()
        guard case .list(let keyValues)? = keys.arena[keys.value] else {
            throw ZooError(.format, "expected the list of storage keys after the main pickle, found \(keys.arena.summary(keys.value))")
        }
        var ranges: [String: Range<Int>] = [:]
        var cursor = stream.position
        for (index, value) in keyValues.enumerated() {
            guard case .string(let storageKey) = value else {
                throw ZooError(.format, "expected item \(index) of the list of storage keys after the main pickle (ending at offset \(stream.position)) to be a string, found \(keys.arena.summary(value))")
            }
            guard let storage = main.storages[storageKey] else {
                throw ZooError(.format, "expected storage '\(shown: storageKey)' listed after the main pickle to be used by it, found no tensor that uses it")
            }
            guard cursor + 8 <= raw.count else {
                throw ZooError(.format, "the file is truncated: expected the element count of storage '\(shown: storageKey)' at offset \(cursor), found the end of the file")
            }
            let declared = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: cursor, as: Int64.self))
            guard declared == Int64(storage.count) else {
                throw ZooError(.format, "expected storage '\(shown: storageKey)' to hold \(storage.count) elements, found \(declared) at offset \(cursor)")
            }
            let start = cursor + 8
            guard storage.byteCount <= raw.count - start else {
                throw ZooError(.format, "the file is truncated: storage '\(shown: storageKey)' needs \(storage.byteCount) bytes at offset \(start), found \(raw.count - start)")
            }
            ranges[storageKey] = start..<(start + storage.byteCount)
            cursor = start + storage.byteCount
        }
        let selection = try select(main.arena, main.value, key: key, stripModulePrefix: !shard)
        for ref in selection.tensors.map(\.1) where ranges[ref.storage.key] == nil {
            throw ZooError(.format, "expected the data of storage '\(shown: ref.storage.key)' after the main pickle, found it missing from the list of storage keys")
        }
        let entries = try makeEntries(selection, available: { ranges[$0.key]!.count }, where: { "legacy storage '\(shown: $0.key)'" })
        let checkpoint = Checkpoint(path: file.path, format: .legacy, entries: entries, otherEntries: selection.others,
                          selectedKey: selection.key, strippedPrefix: selection.strippedPrefix, metadata: [],
                          shards: [Shard(path: file.path, source: .mapped(file, storageRanges: ranges), isBigEndian: false)])
        checkpoint.alternativeWeights = selection.alternatives
        return checkpoint
    }

    /// safetensors refuses headers above this size, as the reference implementation does.
    public static let maxSafetensorsHeader = 100_000_000

    private static func openSafetensors(_ file: MappedFile) throws -> Checkpoint {
        let raw = file.bytes
        let headerLength = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard headerLength <= UInt64(maxSafetensorsHeader) else {
            throw ZooError(.format, "expected a safetensors header of at most \(maxSafetensorsHeader) bytes, found a declared length of \(headerLength)")
        }
        guard headerLength <= UInt64(raw.count - 8) else {
            throw ZooError(.format, "the file is truncated: its safetensors header declares \(headerLength) bytes, found \(raw.count - 8) after the length field")
        }
        let dataStart = 8 + Int(headerLength)
        let header: JSONValue
        do {
            header = try JSONValue.parse(UnsafeRawBufferPointer(rebasing: raw[8..<dataStart]))
        } catch let error as ZooError {
            throw ZooError(.format, "expected a JSON object as the safetensors header, found \(error.message)")
        }
        guard let fields = header.object else { throw ZooError(.format, "expected a JSON object as the safetensors header, found another JSON value") }
        var metadata: [(String, String)] = []
        var specs: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int, order: Int)] = []
        var seen = Set<String>()
        for (order, (name, value)) in fields.enumerated() {
            guard seen.insert(name).inserted else { throw ZooError(.format, "expected each safetensors tensor name once, found '\(shown: name)' twice") }
            if name == "__metadata__" {
                guard let pairs = value.object else { throw ZooError(.format, "expected __metadata__ to map strings to strings, found another value") }
                for (k, v) in pairs {
                    guard let s = v.string else { throw ZooError(.format, "expected __metadata__ value '\(shown: k)' to be a string, found \(v.serialized.prefix(40))") }
                    metadata.append((k, s))
                }
                continue
            }
            guard let dtypeName = value["dtype"]?.string else { throw ZooError(.format, "expected tensor '\(shown: name)' to have a string 'dtype', found none") }
            guard let dtype = DType(safetensorsName: dtypeName) else {
                throw ZooError(.mismatch, "expected tensor '\(shown: name)' to have a supported dtype (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL …), found '\(shown: dtypeName)'")
            }
            guard let shapeValues = value["shape"]?.array else { throw ZooError(.format, "expected tensor '\(shown: name)' to have a 'shape' list, found none") }
            let shape = try shapeValues.map { v -> Int in
                guard let d = v.int, d >= 0 else { throw ZooError(.format, "expected tensor '\(shown: name)' to have non-negative integer dimensions, found \(v.serialized.prefix(30))") }
                return d
            }
            guard let offsets = value["data_offsets"]?.array, offsets.count == 2, let begin = offsets[0].int, let end = offsets[1].int, begin >= 0, begin <= end else {
                throw ZooError(.format, "expected tensor '\(shown: name)' to have data_offsets [begin, end] with 0 ≤ begin ≤ end, found \(value["data_offsets"]?.serialized.prefix(60) ?? "none")")
            }
            guard let bytes = ShapeArithmetic.byteCount(shape, elementSize: dtype.size) else {
                throw ZooError(.format, "expected tensor '\(shown: name)' to have a shape whose size fits in memory, found \(dtypeName) \(shape), whose byte count overflows")
            }
            guard bytes == end - begin else {
                throw ZooError(.format, "expected tensor '\(shown: name)' (\(dtypeName) \(shape)) to span \(bytes) bytes, found data_offsets [\(begin), \(end)] spanning \(end - begin)")
            }
            specs.append((name, dtype, shape, begin, end, order))
        }
        let dataLength = raw.count - dataStart
        var expected = 0
        var previous: String?
        for spec in specs.sorted(by: { ($0.begin, $0.end, $0.order) < ($1.begin, $1.end, $1.order) }) {
            if spec.begin < expected {
                throw ZooError(.format, "expected safetensors data offsets to tile the data exactly, found '\(shown: spec.name)' [\(spec.begin), \(spec.end)] overlapping '\(shown: previous ?? "?")' which ends at \(expected)")
            }
            if spec.begin > expected {
                throw ZooError(.format, "expected safetensors data offsets to tile the data exactly, found a gap of \(spec.begin - expected) bytes before '\(shown: spec.name)' at \(expected)")
            }
            expected = spec.end
            previous = spec.name
        }
        guard expected == dataLength else {
            if expected > dataLength {
                throw ZooError(.format, "the file is truncated: its tensors need \(expected) bytes of data, found \(dataLength)")
            }
            throw ZooError(.format, "expected the tensors to cover all \(dataLength) bytes of data, found \(dataLength - expected) bytes unaccounted for at the end")
        }
        let entries = specs.sorted(by: { ($0.begin, $0.order) < ($1.begin, $1.order) }).map {
            CheckpointEntry(name: $0.name, dtype: $0.dtype, shape: $0.shape, location: .range(offset: dataStart + $0.begin, byteCount: $0.end - $0.begin))
        }
        return Checkpoint(path: file.path, format: .safetensors, entries: entries, otherEntries: [],
                          selectedKey: nil, strippedPrefix: nil, metadata: metadata,
                          shards: [Shard(path: file.path, source: .mapped(file, storageRanges: [:]), isBigEndian: false)])
    }

    // MARK: - Reading elements

    /// The tensor's elements, materialised contiguous and little-endian exactly as PyTorch would
    /// see them (offsets, strides, shared storages, byte order).
    public func tensor(_ entry: CheckpointEntry) throws -> Tensor {
        var cache: [String: [UInt8]] = [:]
        return try tensor(entry, cache: &cache)
    }

    public func tensor(named name: String) throws -> Tensor {
        guard let entry = entry(named: name) else {
            throw ZooError(.mismatch, "\(path): expected a tensor named '\(shown: name)', found none")
        }
        return try tensor(entry)
    }

    /// Every tensor, in file order; storages shared by several tensors are read once.
    public func allTensors() throws -> [(name: String, tensor: Tensor)] {
        var cache: [String: [UInt8]] = [:]
        var cached = 0
        return try entries.map { entry in
            if entry.shard != cached { cache = [:]; cached = entry.shard }
            return (entry.name, try tensor(entry, cache: &cache))
        }
    }

    /// `cache` holds the zip records of `entry`'s shard that several of its tensors share, by
    /// storage key (keys repeat across shards: `allTensors` empties it when the shard changes).
    private func tensor(_ entry: CheckpointEntry, cache: inout [String: [UInt8]]) throws -> Tensor {
        let shard = shards[entry.shard]
        do {
            try requireMemory(entry.byteCount, entry)
            switch (entry.location, shard.source) {
            case (.range(let offset, let count), .mapped(let file, _)):
                return Tensor(dtype: entry.dtype, shape: entry.shape, bytes: Array(file.bytes[offset..<(offset + count)]))
            case (.strided(let ref), .zip(let archive, let prefix, _, _)):
                let storage: [UInt8]
                if let cached = cache[ref.storage.key] {
                    storage = cached
                } else {
                    storage = try archive.read(prefix + "data/" + ref.storage.key)
                    if entries.filter({ if $0.shard == entry.shard, case .strided(let r) = $0.location { return r.storage.key == ref.storage.key }; return false }).count > 1 {
                        cache[ref.storage.key] = storage
                    }
                }
                // A view of the whole storage (the usual case) takes the record as it is: no copy.
                let whole = ref.offset == 0 && entry.byteCount == storage.count && isRowMajor(ref)
                let bytes = whole ? storage : storage.withUnsafeBytes { gather(ref, from: $0) }
                return Tensor(dtype: entry.dtype, shape: entry.shape, bytes: shard.isBigEndian ? byteSwapped(bytes, size: entry.dtype.size) : bytes)
            case (.strided(let ref), .mapped(let file, let ranges)):
                let range = ranges[ref.storage.key]!
                let bytes = gather(ref, from: UnsafeRawBufferPointer(rebasing: file.bytes[range]))
                return Tensor(dtype: entry.dtype, shape: entry.shape, bytes: bytes)
            default:
                throw ZooError(.internal, "entry '\(shown: entry.name)' has no readable location")
            }
        } catch let error as ZooError {
            throw error.prefixed("\(shard.path): tensor '\(shown: entry.name)'")
        }
    }

    // MARK: - Reading in place

    /// The tensor's float32 elements, row-major, for the duration of `body`: straight from the
    /// mapped file when they are stored that way (float32, little-endian, contiguous, aligned:
    /// every checkpoint torch.save writes), otherwise from a converted copy (other dtypes,
    /// views with strides, big-endian files). Zip records read in place are not CRC-checked
    /// here; call `verifyRecord` for that.
    public func withFloats<T>(_ entry: CheckpointEntry, _ body: (UnsafeBufferPointer<Float>) throws -> T) throws -> T {
        if let (file, range) = inPlace(entry) {
            let pointer = (file.bytes.baseAddress! + range.lowerBound).assumingMemoryBound(to: Float.self)
            return try body(UnsafeBufferPointer(start: pointer, count: entry.count))
        }
        do { try requireMemory(entry.count * MemoryLayout<Float>.size, entry) } catch let error as ZooError {
            throw error.prefixed("\(shards[entry.shard].path): tensor '\(shown: entry.name)'")
        }
        let floats = try tensor(entry).floats()
        return try floats.withUnsafeBufferPointer(body)
    }

    /// A view that repeats elements (stride 0) can claim more memory than the machine has, from a
    /// small storage: refused here rather than left to fail in the allocator.
    private func requireMemory(_ bytes: Int, _ entry: CheckpointEntry) throws {
        guard bytes > ProcessInfoMemory.physicalBytes else { return }
        throw ZooError(.mismatch, "expected it to fit in memory when read, found \(entry.dtype.rawValue) \(entry.shape) needing \(humanBytes(bytes)), more than this machine's \(humanBytes(ProcessInfoMemory.physicalBytes))")
    }

    /// Checks the CRC-32 of the zip record holding `entry` against the one the archive records,
    /// once per record (libzip checks records it reads itself; this covers records read in place).
    public func verifyRecord(of entry: CheckpointEntry) throws {
        let shard = shards[entry.shard]
        guard case .strided(let ref) = entry.location, case .zip(_, let prefix, let file, let directory) = shard.source else { return }
        let record = prefix + "data/" + ref.storage.key
        let checked = [shard.path, record]
        guard let stored = directory.stored[record], !lock.locked({ verifiedRecords.contains(checked) }) else { return }
        let found = CRC32.checksum(UnsafeRawBufferPointer(rebasing: file.bytes[stored.range]))
        guard found == stored.crc else {
            throw ZooError(.format, "\(shard.path): expected record '\(shown: record)' (tensor '\(shown: entry.name)') to have CRC-32 \(hex(stored.crc)) as the archive records, found \(hex(found)): the file is damaged")
        }
        lock.locked { _ = verifiedRecords.insert(checked) }
    }

    /// Whether `withFloats` serves `entry` from the mapped file without a copy.
    public func readsInPlace(_ entry: CheckpointEntry) -> Bool { inPlace(entry) != nil }

    /// Drops the pages of `entry` from this process's resident memory once it has been used (they
    /// stay in the page cache; touching them again maps them back).
    public func release(_ entry: CheckpointEntry) {
        guard let (file, range) = inPlace(entry) else { return }
        file.release(range)
    }

    /// The mapped file and byte range holding `entry` as row-major little-endian float32, if so.
    private func inPlace(_ entry: CheckpointEntry) -> (MappedFile, Range<Int>)? {
        let shard = shards[entry.shard]
        guard entry.dtype == .float32, !shard.isBigEndian, entry.count > 0 else { return nil }
        let file: MappedFile, start: Int
        switch (entry.location, shard.source) {
        case (.range(let offset, _), .mapped(let f, _)):
            (file, start) = (f, offset)
        case (.strided(let ref), .mapped(let f, let ranges)):
            guard isRowMajor(ref), let range = ranges[ref.storage.key] else { return nil }
            (file, start) = (f, range.lowerBound + ref.offset * 4)
        case (.strided(let ref), .zip(_, let prefix, let f, let directory)):
            guard isRowMajor(ref), let stored = directory.stored[prefix + "data/" + ref.storage.key],
                  ref.offset * 4 + entry.byteCount <= stored.range.count else { return nil }
            (file, start) = (f, stored.range.lowerBound + ref.offset * 4)
        default:
            return nil
        }
        guard start % 4 == 0, start + entry.byteCount <= file.count else { return nil }
        return (file, start..<(start + entry.byteCount))
    }
}

private func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16).leftPadded(8) }

// MARK: - Choosing the state dict inside a pickle

struct Selection {
    var tensors: [(String, TensorRef)]
    var others: [(String, String)]
    var key: String?
    var strippedPrefix: String?
    /// Other dicts of tensors beside the chosen one (`model_ema` beside `model`), by key path.
    var alternatives: [String] = []
}

/// Tensors a training wrapper keeps beside the weights: `torch.optim.swa_utils.AveragedModel`'s
/// count of averaged steps (the EMA of torchvision's reference scripts). Listed as other entries.
let bookkeepingTensors: Set<String> = ["n_averaged"]

/// Keys that commonly wrap a state dict next to training state, in the order they are preferred.
let wrapperKeys = ["state_dict", "model", "model_state_dict", "module"]

extension Checkpoint {
    /// - Parameter stripModulePrefix: remove DataParallel's `module.` when every name has it.
    static func select(_ arena: PickleArena, _ root: PickleValue, key: String?, stripModulePrefix: Bool = true) throws -> Selection {
        guard var entries = arena.dictEntries(root) else {
            if case .tensor? = arena[root] {
                throw ZooError(.mismatch, "expected a dict of named tensors (a state dict), found a single bare tensor")
            }
            throw ZooError(.mismatch, "expected a dict of named tensors (a state dict) at the top of the pickle, found \(arena.summary(root))")
        }
        var path: [String] = []
        var others: [(String, String)] = []
        var alternatives: [String] = []
        func tensorCount(_ pairs: [(PickleValue, PickleValue)]) -> Int {
            pairs.filter { if case .tensor? = arena[$0.1] { return true }; return false }.count
        }
        func name(_ k: PickleValue) -> String {
            if case .string(let s) = k { return s }
            if case .int(let i) = k { return String(i) }
            return arena.summary(k)
        }
        // the module --key names inside a flat state dict (`encoder` of a user's model): its tensors,
        // its prefix removed; the rest of the dict is left out and listed
        var module = ""
        if let key {
            var remaining = key.split(separator: ".").map(String.init)
            while !remaining.isEmpty {
                // keys may themselves contain dots: try the longest prefix that names an entry
                var found = false
                for length in stride(from: remaining.count, through: 1, by: -1) {
                    let candidate = remaining[0..<length].joined(separator: ".")
                    if let hit = entries.first(where: { name($0.0) == candidate }) {
                        guard let nested = arena.dictEntries(hit.1) else {
                            throw ZooError(.usage, "expected --key '\(key)' to lead to a dict, found \(arena.summary(hit.1)) at '\((path + [candidate]).joined(separator: "."))'")
                        }
                        others += entries.filter { name($0.0) != candidate }.map { ((path + [name($0.0)]).joined(separator: "."), arena.summary($0.1)) }
                        entries = nested
                        path.append(candidate)
                        remaining.removeFirst(length)
                        found = true
                        break
                    }
                }
                let prefix = remaining.joined(separator: ".") + "."
                if !found, entries.contains(where: { name($0.0).hasPrefix(prefix) && name($0.0).count > prefix.count }) {
                    others += entries.filter { !name($0.0).hasPrefix(prefix) }.map { ((path + [name($0.0)]).joined(separator: "."), arena.summary($0.1)) }
                    entries = entries.filter { name($0.0).hasPrefix(prefix) }
                    path += remaining
                    module = prefix
                    break
                }
                if !found {
                    let here = entries.prefix(12).map { name($0.0) }.joined(separator: ", ")
                    throw ZooError(.usage, "expected --key '\(key)' to name nested dicts, found no '\(shown: remaining[0])' under \(path.isEmpty ? "the top level" : "'" + path.joined(separator: ".") + "'") (keys there: \(here))")
                }
            }
        } else if tensorCount(entries) == 0 {
            let candidates = entries.filter { arena.dictEntries($0.1).map(tensorCount) ?? 0 > 0 }
            if let wrapper = wrapperKeys.lazy.compactMap({ w in candidates.first(where: { name($0.0) == w }) }).first
                ?? (candidates.count == 1 ? candidates[0] : nil) {
                path = [name(wrapper.0)]
                alternatives = candidates.map { name($0.0) }.filter { $0 != path[0] }
                others = entries.filter { name($0.0) != path[0] }.map { (name($0.0), arena.summary($0.1)) }
                entries = arena.dictEntries(wrapper.1)!
            } else if candidates.count > 1 {
                throw ZooError(.mismatch, "expected one dict of tensors, found several (\(candidates.map { name($0.0) }.joined(separator: ", "))); choose one with --key")
            } else {
                let keys = entries.prefix(12).map { name($0.0) }.joined(separator: ", ")
                throw ZooError(.mismatch, "expected a state dict of tensors, found a dict without tensors (keys: \(keys.isEmpty ? "none" : keys)); if the weights are nested deeper, name them with --key")
            }
        }
        var tensors: [(String, TensorRef)] = []
        for (k, v) in entries {
            if case .tensor(let ref)? = arena[v], !bookkeepingTensors.contains(name(k)) {
                tensors.append((String(name(k).dropFirst(module.count)), ref))
            } else {
                others.append(((path + [name(k)]).joined(separator: "."), arena.summary(v)))
            }
        }
        guard !tensors.isEmpty else {
            throw ZooError(.mismatch, "expected tensors under '\(path.joined(separator: "."))', found none")
        }
        var stripped: String?
        if stripModulePrefix, tensors.allSatisfy({ $0.0.hasPrefix("module.") }) {
            stripped = "module."
            tensors = tensors.map { (String($0.0.dropFirst(7)), $0.1) }
        }
        return Selection(tensors: tensors, others: others, key: path.isEmpty ? nil : path.joined(separator: "."), strippedPrefix: stripped,
                         alternatives: alternatives)
    }

    /// Checks every view against its storage and builds the entries.
    static func makeEntries(_ selection: Selection, available: (StorageRef) -> Int, where describe: (StorageRef) -> String) throws -> [CheckpointEntry] {
        // Views that repeat elements (stride 0) can be far larger than their storage; bounding each
        // shape (ShapeArithmetic) and the total by Int.max keeps every byte count and sum exact.
        var totalBytes = 0
        return try selection.tensors.map { name, ref in
            guard let bytes = ShapeArithmetic.byteCount(ref.shape, elementSize: ref.dtype.size), bytes / ref.dtype.size <= Int.max / 8 else {
                throw ZooError(.format, "tensor '\(shown: name)': expected a shape whose size fits in memory, found \(ref.dtype.rawValue) \(ref.shape), whose byte count overflows")
            }
            let count = bytes / ref.dtype.size
            let (total, overflow) = totalBytes.addingReportingOverflow(bytes)
            guard !overflow else {
                throw ZooError(.format, "tensor '\(shown: name)' (\(ref.dtype.rawValue) \(ref.shape)): expected all tensors together to fit in memory, found them to need more than 2^63 bytes")
            }
            totalBytes = total
            let have = available(ref.storage)
            if have < ref.storage.byteCount {
                throw ZooError(.format, "tensor '\(shown: name)': expected \(describe(ref.storage)) to hold \(ref.storage.byteCount) bytes (\(ref.storage.count) \(ref.storage.dtype.rawValue) elements, as its storage declares), found \(have)")
            }
            if count > 0 {
                var last = ref.offset
                for (size, step) in zip(ref.shape, ref.stride) {
                    let (span, o1) = (size - 1).multipliedReportingOverflow(by: step)
                    let (sum, o2) = last.addingReportingOverflow(span)
                    guard !o1, !o2 else { throw ZooError(.format, "tensor '\(shown: name)': expected a view that fits its storage, found offsets that overflow (shape \(ref.shape), stride \(ref.stride))") }
                    last = sum
                }
                let (needed, o3) = (last + 1).multipliedReportingOverflow(by: ref.dtype.size)
                guard !o3, needed <= have else {
                    throw ZooError(.format, "tensor '\(shown: name)' (\(ref.dtype.rawValue) \(ref.shape), offset \(ref.offset), stride \(ref.stride)) needs \(o3 ? "more" : String(needed)) bytes of \(describe(ref.storage)), found \(have)")
                }
            }
            return CheckpointEntry(name: name, dtype: ref.dtype, shape: ref.shape, location: .strided(ref))
        }
    }
}

/// Whether a view's strides are row-major (dimensions of size 1 may carry any stride).
func isRowMajor(_ ref: TensorRef) -> Bool {
    var expected = 1
    for (dim, step) in zip(ref.shape, ref.stride).reversed() where dim != 1 {
        if step != expected { return false }
        let (next, overflow) = expected.multipliedReportingOverflow(by: dim)
        // only an empty view overflows (a zero dimension further out); its layout does not matter
        if overflow { return false }
        expected = next
    }
    return true
}

/// Copies a strided view out of its storage into row-major order.
func gather(_ ref: TensorRef, from storage: UnsafeRawBufferPointer) -> [UInt8] {
    let size = ref.dtype.size
    let count = ref.shape.reduce(1, *)
    guard count > 0 else { return [] }
    let start = ref.offset * size
    if isRowMajor(ref) {
        return Array(storage[start..<(start + count * size)])
    }
    var out = [UInt8](repeating: 0, count: count * size)
    let rank = ref.shape.count
    var index = [Int](repeating: 0, count: rank)
    out.withUnsafeMutableBytes { dst in
        var source = ref.offset
        for i in 0..<count {
            (dst.baseAddress! + i * size).copyMemory(from: storage.baseAddress! + source * size, byteCount: size)
            // advance the odometer
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                source += ref.stride[d]
                if index[d] < ref.shape[d] { break }
                source -= ref.stride[d] * ref.shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
    return out
}

func byteSwapped(_ bytes: [UInt8], size: Int) -> [UInt8] {
    guard size > 1 else { return bytes }
    var out = bytes
    for start in stride(from: 0, to: out.count, by: size) {
        out[start..<(start + size)].reverse()
    }
    return out
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }

    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
