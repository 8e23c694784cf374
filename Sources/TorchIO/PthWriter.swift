import ZooCore

/// Writes a state dict in the zip format `torch.save` produces (PyTorch ≥ 1.6): `archive/data.pkl`
/// (pickle protocol 2: an OrderedDict of `_rebuild_tensor_v2` calls whose storages are persistent
/// ids), one 64-byte-aligned STORED record per storage under `archive/data/`, `byteorder` and
/// `version`. `torch.load(path, weights_only=True)` reads it. `moduleVersions` become the state
/// dict's `_metadata` (`{path: {"version": v}}`, set by BUILD as `torch.save` does), for models
/// whose loading checks them.
public enum PthWriter {
    public static func write(_ tensors: [(name: String, tensor: Tensor)], moduleVersions: [String: Int] = [:], to path: String,
                             overwrite: Bool) throws {
        var seen = Set<String>()
        for (name, _) in tensors where !seen.insert(name).inserted {
            throw ZooError(.usage, "expected unique tensor names, found '\(name)' twice")
        }
        try AtomicFile.write(to: path, overwrite: overwrite) { temporary in
            let sink = try FileSink(path: temporary)
            let zip = ZipWriter(sink: sink)
            try zip.add("archive/data.pkl", pickle(tensors, moduleVersions: moduleVersions))
            try zip.add("archive/byteorder", Array("little".utf8))
            for (index, (_, tensor)) in tensors.enumerated() {
                try tensor.bytes.withUnsafeBytes { try zip.add("archive/data/\(index)", raw: $0) }
            }
            try zip.add("archive/version", Array("3\n".utf8))
            try zip.add("archive/.data/serialization_id", Array(String(UInt64.random(in: 0...UInt64.max)).utf8))
            try zip.finish()
        }
    }

    static func storageClass(_ dtype: DType) throws -> String {
        switch dtype {
        case .float32: return "FloatStorage"
        case .float64: return "DoubleStorage"
        case .float16: return "HalfStorage"
        case .bfloat16: return "BFloat16Storage"
        case .int64: return "LongStorage"
        case .int32: return "IntStorage"
        case .int16: return "ShortStorage"
        case .int8: return "CharStorage"
        case .uint8: return "ByteStorage"
        case .bool: return "BoolStorage"
        default: throw ZooError(.usage, "expected a dtype torch.save writes with a typed storage, found \(dtype.rawValue)")
        }
    }

    static func pickle(_ tensors: [(name: String, tensor: Tensor)], moduleVersions: [String: Int] = [:]) throws -> [UInt8] {
        var p = PickleBytes()
        p.bytes += [0x80, 0x02]
        p.global("collections", "OrderedDict")
        p.bytes += [0x29, 0x52] // EMPTY_TUPLE, REDUCE → OrderedDict()
        p.bytes.append(0x28) // MARK for SETITEMS
        for (index, (name, tensor)) in tensors.enumerated() {
            p.string(name)
            p.global("torch._utils", "_rebuild_tensor_v2")
            p.bytes.append(0x28) // MARK: argument tuple
            // persistent id ('storage', torch.<Kind>Storage, key, 'cpu', numel)
            p.bytes.append(0x28)
            p.string("storage")
            p.global("torch", try storageClass(tensor.dtype))
            p.string(String(index))
            p.string("cpu")
            p.int(tensor.count)
            p.bytes += [0x74, 0x51] // TUPLE, BINPERSID
            p.int(0) // storage offset
            p.tuple(tensor.shape)
            var strides = [Int](repeating: 1, count: tensor.shape.count)
            for i in stride(from: tensor.shape.count - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * tensor.shape[i + 1] }
            p.tuple(strides)
            p.bytes.append(0x89) // requires_grad False
            p.global("collections", "OrderedDict")
            p.bytes += [0x29, 0x52] // backward hooks: OrderedDict()
            p.bytes += [0x74, 0x52] // TUPLE, REDUCE
        }
        p.bytes.append(0x75) // SETITEMS
        if !moduleVersions.isEmpty { // state {'_metadata': OrderedDict([(path, {'version': v}) …])}, BUILD
            p.bytes.append(0x7d) // EMPTY_DICT
            p.string("_metadata")
            p.global("collections", "OrderedDict")
            p.bytes += [0x29, 0x52, 0x28] // EMPTY_TUPLE, REDUCE, MARK
            for (module, version) in moduleVersions.sorted(by: { $0.key < $1.key }) {
                p.string(module)
                p.bytes.append(0x7d)
                p.string("version")
                p.int(version)
                p.bytes.append(0x73) // SETITEM
            }
            p.bytes += [0x75, 0x73, 0x62] // SETITEMS, SETITEM, BUILD
        }
        p.bytes.append(0x2e) // STOP
        return p.bytes
    }
}

/// Pickle opcodes for the writer.
struct PickleBytes {
    var bytes: [UInt8] = []

    mutating func global(_ module: String, _ name: String) {
        bytes.append(0x63)
        bytes += Array("\(module)\n\(name)\n".utf8)
    }

    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        bytes.append(0x58)
        bytes.le(UInt32(utf8.count))
        bytes += utf8
    }

    mutating func int(_ i: Int) {
        if i >= 0 && i < 256 {
            bytes += [0x4b, UInt8(i)]
        } else if i >= Int(Int32.min) && i <= Int(Int32.max) {
            bytes.append(0x4a)
            bytes.le(Int32(i))
        } else {
            bytes += [0x8a, 8]
            bytes.le(Int64(i))
        }
    }

    mutating func tuple(_ items: [Int]) {
        switch items.count {
        case 0: bytes.append(0x29)
        case 1...3:
            for i in items { int(i) }
            bytes.append([0x85, 0x86, 0x87][items.count - 1])
        default:
            bytes.append(0x28)
            for i in items { int(i) }
            bytes.append(0x74)
        }
    }
}
