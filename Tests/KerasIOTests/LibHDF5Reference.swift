import CHDF5
@testable import KerasIO
import ZooCore

/// Everything libhdf5 reads from an undamaged file — groups and their children in name order,
/// group attributes as strings, floating-point datasets as float32 — so tests can check zoo's
/// own reader against it. Test-only: zoo itself never reads through libhdf5 (a damaged file
/// can crash it), so this must only ever see pristine files.
struct LibHDF5Listing {
    enum Value: Equatable {
        case strings([String])
        /// An attribute libhdf5 reads but that holds no strings (a number).
        case notStrings
    }

    /// Group path ("" for the root) → child names in HDF5 name order.
    var children: [String: [String]] = [:]
    /// Object path → what it is.
    var kinds: [String: H5ChildKind] = [:]
    /// Group path → attribute name → value.
    var attributes: [String: [String: Value]] = [:]
    /// Dataset path → shape and values, for floating-point datasets.
    var floats: [String: (shape: [Int], values: [Float])] = [:]
    /// Dataset path of datasets that do not hold floats.
    var otherDatasets: Set<String> = []

    /// Reads `path` with libhdf5, not following the links named in `skipping` (soft links:
    /// libhdf5 follows them, zoo's reader lists them without following).
    init(path: String, skipping: Set<String> = []) throws {
        NativeLibraries.prepareHDF5()
        let file = H5Fopen(path, zoo_h5f_acc_rdonly(), zoo_h5p_default())
        guard file >= 0 else { throw ZooError(.format, "libhdf5 could not open \(path)") }
        defer { H5Fclose(file) }
        let root = H5Gopen2(file, "/", zoo_h5p_default())
        guard root >= 0 else { throw ZooError(.format, "libhdf5 could not open the root of \(path)") }
        defer { H5Gclose(root) }
        try walk(root, path: "", skipping: skipping)
    }

    private mutating func walk(_ group: hid_t, path: String, skipping: Set<String>) throws {
        kinds[path] = .group
        attributes[path] = try Self.attributes(of: group)
        var info = H5G_info_t()
        guard H5Gget_info(group, &info) >= 0 else { throw ZooError(.format, "libhdf5 could not list '\(path)'") }
        var names: [String] = []
        for i in 0..<info.nlinks {
            let size = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, zoo_h5p_default())
            var buffer = [CChar](repeating: 0, count: Int(size) + 1)
            _ = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buffer, buffer.count, zoo_h5p_default())
            names.append(String(cString: buffer))
        }
        children[path] = names
        for name in names {
            let child = path.isEmpty ? name : "\(path)/\(name)"
            if skipping.contains(child) { kinds[child] = .other; continue }
            let object = H5Oopen(group, name, zoo_h5p_default())
            guard object >= 0 else { throw ZooError(.format, "libhdf5 could not open '\(child)'") }
            defer { H5Oclose(object) }
            switch H5Iget_type(object) {
            case H5I_GROUP: try walk(object, path: child, skipping: skipping)
            case H5I_DATASET: try readDataset(object, path: child)
            default: kinds[child] = .other
            }
        }
    }

    private mutating func readDataset(_ dataset: hid_t, path: String) throws {
        kinds[path] = .dataset
        let type = H5Dget_type(dataset), space = H5Dget_space(dataset)
        defer { H5Tclose(type); H5Sclose(space) }
        guard H5Tget_class(type) == H5T_FLOAT else { otherDatasets.insert(path); return }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        var dims = [hsize_t](repeating: 0, count: rank)
        if rank > 0 { H5Sget_simple_extent_dims(space, &dims, nil) }
        let shape = dims.map { Int($0) }
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        if !values.isEmpty {
            guard values.withUnsafeMutableBufferPointer({ H5Dread(dataset, zoo_h5t_native_float(), zoo_h5s_all(), zoo_h5s_all(), zoo_h5p_default(), $0.baseAddress) }) >= 0 else {
                throw ZooError(.format, "libhdf5 could not read '\(path)'")
            }
        }
        floats[path] = (shape, values)
    }

    private final class Names { var names: [String] = [] }

    private static func attributes(of object: hid_t) throws -> [String: Value] {
        let box = Names()
        var index: hsize_t = 0
        let status = withExtendedLifetime(box) {
            H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, _, context in
                guard let name, let context else { return -1 }
                Unmanaged<Names>.fromOpaque(context).takeUnretainedValue().names.append(String(cString: name))
                return 0
            }, Unmanaged.passUnretained(box).toOpaque())
        }
        guard status >= 0 else { throw ZooError(.format, "libhdf5 could not list attributes") }
        var out: [String: Value] = [:]
        for name in box.names { out[name] = try strings(object, name) }
        return out
    }

    /// An attribute as zoo reads it: strings ending at their first NUL; an empty array of any type is [].
    private static func strings(_ object: hid_t, _ name: String) throws -> Value {
        let attr = H5Aopen(object, name, zoo_h5p_default())
        guard attr >= 0 else { throw ZooError(.format, "libhdf5 could not open the attribute '\(name)'") }
        defer { H5Aclose(attr) }
        let type = H5Aget_type(attr), space = H5Aget_space(attr)
        defer { H5Tclose(type); H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        if count == 0 { return .strings([]) }
        guard H5Tget_class(type) == H5T_STRING else { return .notStrings }
        if H5Tis_variable_str(type) > 0 {
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard H5Aread(attr, type, &pointers) >= 0 else { throw ZooError(.format, "libhdf5 could not read the attribute '\(name)'") }
            defer { H5Dvlen_reclaim(type, space, zoo_h5p_default(), &pointers) }
            return .strings(pointers.map { $0.map { String(cString: $0) } ?? "" })
        }
        let size = H5Tget_size(type)
        var bytes = [UInt8](repeating: 0, count: count * size)
        guard H5Aread(attr, type, &bytes) >= 0 else { throw ZooError(.format, "libhdf5 could not read the attribute '\(name)'") }
        return .strings((0..<count).map { i in String(decoding: bytes[(i * size)..<((i + 1) * size)].prefix { $0 != 0 }, as: UTF8.self) })
    }
}
