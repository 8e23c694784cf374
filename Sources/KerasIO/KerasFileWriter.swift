import CZooKernels
import ZooCore
import ZooGraph
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How weights are stored in a Keras file zoo writes.
public enum KerasDType: String, CaseIterable, Sendable {
    /// IEEE single precision (what Keras saves by default).
    case float32
    /// IEEE half precision: half the file; Keras casts to the layer's variable dtype on load.
    case float16

    public var size: Int { self == .float16 ? 2 : 4 }
}

/// Where one Keras weight's values go in a file being written.
public struct WeightSlot: Sendable {
    /// The Keras layer and the weight's position among its weights.
    public let layer: String
    public let index: Int
    /// The weight's Keras name ("kernel", "query/bias").
    public let name: String
    public let shape: [Int]
    /// How its values are stored.
    public let dtype: KerasDType

    public var count: Int { shape.reduce(1, *) }
    public var byteCount: Int { count * dtype.size }
}

/// A Keras file being written in two steps, so weights stream straight from the source into
/// their place without the whole model in memory:
///
/// 1. libhdf5 lays out the groups, attributes and dataset headers with every dataset's space
///    reserved (contiguous, not filled); each slot is announced as soon as it is placed.
/// 2. The feeder writes each weight's values with `write` — in any order, in pieces, from
///    several threads at once, starting while HDF5 is still laying out the rest (the bytes it
///    reserved are never touched by it again; its own structures lie elsewhere).
///
/// Then `finish` checks that every byte of every weight was written exactly once. For `.keras`
/// the HDF5 file sits inside the zip in place: HDF5's user block (bytes it leaves alone at the
/// start of its file) holds `metadata.json`, `config.json` and the local header of
/// `model.weights.h5`, whose data begins exactly where the HDF5 superblock does; the central
/// directory follows the HDF5 data. The entry's CRC-32 is combined from the pieces as they are
/// written, so nothing is read back or copied.
public final class KerasFileWriter: @unchecked Sendable {
    public let slots: [WeightSlot]
    private let fd: Int32
    private let displayName: String
    private let archive: ArchivePlan?
    /// End of the HDF5 data in the file (known once HDF5 has closed it).
    private var end = 0
    /// Where each slot's bytes start (−1 until HDF5 has placed it).
    private var offsets: [Int]
    private let lock = Lock()
    private var writtenBytes: [Int]
    /// (file offset, length, CRC-32) of every piece written, for the `.keras` entry's checksum.
    private var pieces: [(offset: Int, count: Int, crc: UInt32)] = []

    /// The `.keras` entries around the HDF5 data.
    struct ArchivePlan {
        static let weightsName = "model.weights.h5"
        var metadata: [UInt8]
        var config: [UInt8]
        /// The HDF5 user block: local headers and data of the JSON entries, then the weights'
        /// local header (padded) ending exactly here.
        var userblock: Int

        init(metadata: [UInt8], config: [UInt8]) {
            self.metadata = metadata
            self.config = config
            userblock = 512
            while true {
                let padding = userblock - unpaddedPrefix
                if padding == 0 || (4...65535).contains(padding) { break }
                if padding > 65535 {
                    // Too far to the next power of two for one padding field: widen config.json
                    // with trailing spaces (still the same JSON) so the gap fits.
                    self.config += [UInt8](repeating: 0x20, count: padding - 4)
                    break
                }
                userblock *= 2
            }
        }

        var configOffset: Int { ZipEntryHeader.localLength(name: "metadata.json", padding: 0) + metadata.count }
        var weightsHeaderOffset: Int { configOffset + ZipEntryHeader.localLength(name: "config.json", padding: 0) + config.count }
        var unpaddedPrefix: Int { weightsHeaderOffset + ZipEntryHeader.localLength(name: Self.weightsName, padding: 0) }

        /// The bytes of the user block, once the weights entry's size and CRC are known.
        func prefix(weightsSize: Int, weightsCRC: UInt32) -> (bytes: [UInt8], entries: [ZipEntryHeader]) {
            let entries = [
                ZipEntryHeader(name: "metadata.json", crc: CRC32.checksum(metadata), size: metadata.count, offset: 0),
                ZipEntryHeader(name: "config.json", crc: CRC32.checksum(config), size: config.count, offset: configOffset),
                ZipEntryHeader(name: Self.weightsName, crc: weightsCRC, size: weightsSize, offset: weightsHeaderOffset),
            ]
            var bytes = entries[0].local(padding: 0) + metadata + entries[1].local(padding: 0) + config
            bytes += entries[2].local(padding: userblock - unpaddedPrefix)
            return (bytes, entries)
        }
    }

    /// Lays out the file at `path` (`displayName` in messages) and opens it for the values.
    /// The weights of `model` in file order: every layer with weights, each weight in the
    /// layer's order.
    static func plannedSlots(_ model: SavedModel, dtype: KerasDType) -> [WeightSlot] {
        model.layers.flatMap { saved in
            saved.layer.weights.enumerated().map { i, w in
                WeightSlot(layer: saved.name, index: i, name: w.name, shape: w.shape, dtype: dtype)
            }
        }
    }

    /// Lays out the file at `path` (`displayName` in messages) and opens it for the values.
    /// `placed` hears of each slot the moment HDF5 has reserved its bytes, while the rest of the
    /// file is still being laid out, so values can stream in from then on.
    static func create(_ model: SavedModel, format: KerasFormat, dtype: KerasDType, path: String, displayName: String,
                       metadata: [UInt8], config: [UInt8], placed: (KerasFileWriter, Int) -> Void) throws -> KerasFileWriter {
        let archive = format == .keras ? ArchivePlan(metadata: metadata, config: config) : nil
        let file = try H5File.create(path: path, displayName: format == .keras ? "\(displayName) (model.weights.h5)" : displayName,
                                     userblock: archive?.userblock ?? 0)
        let fd = open(path, O_RDWR)
        guard fd >= 0 else { throw ZooError(.io, "could not open \(displayName) to write its weights: \(errorText(errno))") }
        let writer = KerasFileWriter(slots: plannedSlots(model, dtype: dtype), fd: fd, displayName: displayName, archive: archive)
        var index: [String: Int] = [:]
        for (i, slot) in writer.slots.enumerated() { index["\(slot.layer)\u{0}\(slot.index)"] = i }
        let place = { (layer: String, weight: Int, offset: Int) throws in
            guard let i = index["\(layer)\u{0}\(weight)"] else { throw ZooError(.internal, "HDF5 placed an unknown weight \(layer)/\(weight)") }
            writer.lock.locked { writer.offsets[i] = offset }
            placed(writer, i)
        }
        switch format {
        case .legacyH5: try LegacyH5.layout(model, in: file, dtype: dtype, place: place)
        case .weightsH5, .keras: try WeightsH5.layout(model, in: file, dtype: dtype, place: place)
        }
        try file.close()
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ZooError(.io, "could not read the size of \(displayName): \(errorText(errno))") }
        writer.end = Int(info.st_size)
        if archive != nil && writer.end + 4096 >= Int(UInt32.max) {
            throw ZooError(.mismatch, "expected the weights of a .keras to fit in 4 GiB (zip64 is not written), found \(humanBytes(writer.end)); write .weights.h5 or .h5 instead")
        }
        for (slot, offset) in zip(writer.slots, writer.offsets) where offset < (archive?.userblock ?? 0) || offset + slot.byteCount > writer.end {
            throw ZooError(.internal, "HDF5 placed '\(slot.layer)/\(slot.name)' outside \(displayName)")
        }
        return writer
    }

    private init(slots: [WeightSlot], fd: Int32, displayName: String, archive: ArchivePlan?) {
        self.slots = slots
        self.fd = fd
        self.displayName = displayName
        self.archive = archive
        offsets = Array(repeating: -1, count: slots.count)
        writtenBytes = Array(repeating: 0, count: slots.count)
    }

    deinit { close(fd) }

    /// Writes `values` as elements `start…` of slot `slot` (an index into `slots`), in the
    /// slot's dtype. Safe to call from several threads for different pieces.
    public func write(_ slot: Int, at start: Int, _ values: UnsafeBufferPointer<Float>) throws {
        guard slots[slot].dtype == .float16 else { return try writeStored(slot, at: start, UnsafeRawBufferPointer(values)) }
        guard let base = values.baseAddress, !values.isEmpty else { return }
        let half = [UInt16](unsafeUninitializedCapacity: values.count) { out, n in
            zoo_float_to_half(base, out.baseAddress!, values.count)
            n = values.count
        }
        try half.withUnsafeBytes { try writeStored(slot, at: start, $0) }
    }

    /// Bytes already in the slot's dtype.
    private func writeStored(_ slot: Int, at start: Int, _ bytes: UnsafeRawBufferPointer) throws {
        let s = slots[slot]
        let size = s.dtype.size
        guard bytes.count % size == 0, start >= 0, start * size + bytes.count <= s.byteCount else {
            throw ZooError(.internal, "\(bytes.count / size) values at \(start) do not fit '\(s.layer)/\(s.name)' of shape \(s.shape)")
        }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let placed = lock.locked { offsets[slot] }
        guard placed >= 0 else { throw ZooError(.internal, "'\(s.layer)/\(s.name)' written before HDF5 placed it") }
        let offset = placed + start * size
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, base + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ZooError(.io, "could not write \(displayName): \(errorText(errno))")
            }
            done += n
        }
        let crc = archive == nil ? 0 : CRC32.checksum(bytes)
        lock.locked {
            writtenBytes[slot] += bytes.count
            if archive != nil { pieces.append((offset, bytes.count, crc)) }
        }
    }

    /// Checks every weight was written in full, and for `.keras` writes the zip around the HDF5
    /// data. The file is complete when this returns.
    func finish() throws {
        for (slot, written) in zip(slots, writtenBytes) where written != slot.byteCount {
            throw ZooError(.internal, "'\(slot.layer)/\(slot.name)' got \(written) of its \(slot.byteCount) bytes")
        }
        guard let archive else { return }
        // CRC-32 of the HDF5 bytes: the pieces as written, the HDF5 structure between them read back.
        pieces.sort { $0.offset < $1.offset }
        var crc: UInt32 = 0
        var position = archive.userblock
        var gap = [UInt8]()
        for piece in pieces + [(end, 0, 0)] {
            guard piece.offset >= position else {
                throw ZooError(.internal, "weights written twice at byte \(piece.offset) of \(displayName)")
            }
            if piece.offset > position {
                gap = [UInt8](repeating: 0, count: piece.offset - position)
                try read(into: &gap, at: position)
                crc = CRC32.checksum(gap, seed: crc)
            }
            crc = CRC32.combine(crc, piece.crc, lengthOfSecond: piece.count)
            position = piece.offset + piece.count
        }
        let weightsSize = end - archive.userblock
        let (prefix, entries) = archive.prefix(weightsSize: weightsSize, weightsCRC: crc)
        let central = entries.flatMap { $0.central() }
        let tail = central + ZipEntryHeader.end(count: entries.count, directorySize: central.count, directoryOffset: end)
        try prefix.withUnsafeBytes { try writeAll($0, at: 0) }
        try tail.withUnsafeBytes { try writeAll($0, at: end) }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ZooError(.io, "could not write \(displayName): \(errorText(errno))")
            }
            done += n
        }
    }

    private func read(into buffer: inout [UInt8], at offset: Int) throws {
        var done = 0
        let count = buffer.count
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ZooError(.io, "could not read back \(displayName): \(n < 0 ? errorText(errno) : "it ended early")") }
            done += n
        }
    }
}

func errorText(_ code: Int32) -> String { String(cString: strerror(code)).lowercased() }
