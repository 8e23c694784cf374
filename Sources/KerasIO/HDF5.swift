import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ZooCore

/// A thin, throwing view of the part of libhdf5 the Keras formats need: groups, string and
/// empty attributes, contiguous float32 datasets. Every failure becomes a `ZooError` that names
/// the file and the object; no HDF5 type leaves this module.
///
/// Handles close themselves when released (`deinit`), so an early `throw` leaks nothing.
enum HDF5 {
    /// HDF5 prints its error stack to stderr by default; zoo reports errors itself. The
    /// thread-safe library keeps this setting per thread, so every entry point calls it.
    static func silence() { zoo_h5_silence_errors() }
}

/// An open HDF5 file. `displayName` is what error messages call it (the user's path, not the
/// temporary file being written).
final class H5File {
    let id: hid_t
    let displayName: String
    private var closed = false

    private init(id: hid_t, displayName: String) {
        self.id = id
        self.displayName = displayName
    }

    deinit { if !closed { H5Fclose(id) } }

    /// Creates (truncating) a file for writing, with the library defaults h5py uses
    /// (earliest format, 8-byte offsets).
    /// - Parameter userblock: bytes HDF5 leaves alone at the start of the file (0, or a power of
    ///   two ≥ 512); the HDF5 data begins after them and reads as a file of its own from there.
    static func create(path: String, displayName: String, userblock: Int = 0) throws -> H5File {
        HDF5.silence()
        let fcpl = H5Pcreate(zoo_h5p_file_create())
        guard fcpl >= 0 else { throw ZooError(.io, "could not set up HDF5 to write \(displayName)") }
        defer { H5Pclose(fcpl) }
        if userblock > 0 {
            guard H5Pset_userblock(fcpl, hsize_t(userblock)) >= 0 else {
                throw ZooError(.io, "could not reserve \(userblock) bytes at the start of \(displayName)")
            }
        }
        // The stdio driver, not sec2: zoo writes into unnamed files reached as /proc/self/fd/N,
        // and sec2 insists on resolving that link to a real path, which an unnamed file lacks.
        let fapl = H5Pcreate(zoo_h5p_file_access())
        guard fapl >= 0, H5Pset_fapl_stdio(fapl) >= 0 else { throw ZooError(.io, "could not set up HDF5 to write \(displayName)") }
        defer { H5Pclose(fapl) }
        let id = H5Fcreate(path, zoo_h5f_acc_trunc(), fcpl, fapl)
        guard id >= 0 else { throw ZooError(.io, "could not create the HDF5 file \(displayName)") }
        return H5File(id: id, displayName: displayName)
    }

    /// Opens an existing file read-only.
    static func open(path: String, displayName: String? = nil) throws -> H5File {
        HDF5.silence()
        let name = displayName ?? path
        guard H5Fis_hdf5(path) > 0 else {
            throw ZooError(.format, "expected an HDF5 file at \(name), found \(fileState(path))")
        }
        let fapl = H5Pcreate(zoo_h5p_file_access())
        guard fapl >= 0, H5Pset_fapl_stdio(fapl) >= 0 else { throw ZooError(.io, "could not set up HDF5 to read \(name)") }
        defer { H5Pclose(fapl) }
        let id = H5Fopen(path, zoo_h5f_acc_rdonly(), fapl)
        guard id >= 0 else { throw ZooError(.format, "expected a readable HDF5 file at \(name), found a damaged one (truncated?)") }
        return H5File(id: id, displayName: name)
    }

    /// Opens an HDF5 file held in memory (the `model.weights.h5` inside a `.keras` zip).
    static func open(image: [UInt8], displayName: String) throws -> H5File {
        HDF5.silence()
        let fapl = H5Pcreate(zoo_h5p_file_access())
        guard fapl >= 0 else { throw ZooError(.io, "could not set up HDF5 to read \(displayName)") }
        defer { H5Pclose(fapl) }
        // The core driver serves the file from memory; H5Pset_file_image copies the bytes.
        guard H5Pset_fapl_core(fapl, 1 << 20, false) >= 0,
              image.withUnsafeBytes({ H5Pset_file_image(fapl, UnsafeMutableRawPointer(mutating: $0.baseAddress), $0.count) }) >= 0 else {
            throw ZooError(.io, "could not set up HDF5 to read \(displayName) from memory")
        }
        let id = H5Fopen(displayName, zoo_h5f_acc_rdonly(), fapl)
        guard id >= 0 else { throw ZooError(.format, "expected an HDF5 file in \(displayName), found \(image.count) bytes that are not one (truncated?)") }
        return H5File(id: id, displayName: displayName)
    }

    /// The root group.
    func root() throws -> H5Group {
        let gid = H5Gopen2(id, "/", zoo_h5p_default())
        guard gid >= 0 else { throw ZooError(.format, "could not open the root group of \(displayName)") }
        return H5Group(id: gid, path: "", file: self)
    }

    /// Flushes and closes; a failure here means the file on disk is incomplete.
    func close() throws {
        guard !closed else { return }
        closed = true
        let flushed = H5Fflush(id, H5F_SCOPE_GLOBAL)
        let status = H5Fclose(id)
        guard flushed >= 0, status >= 0 else { throw ZooError(.io, "could not finish writing \(displayName) (disk full?)") }
    }

    private static func fileState(_ path: String) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { return "no such file" }
        if (st.st_mode & S_IFMT) == S_IFDIR { return "a folder" }
        return st.st_size == 0 ? "an empty file" : "a file of \(st.st_size) bytes that is not HDF5 (or is truncated)"
    }
}

/// What a child of a group is.
enum H5ChildKind { case group, dataset, other }

/// An open group. `path` is its HDF5 path without the leading slash ("layers/conv2d/vars"),
/// for messages.
final class H5Group {
    let id: hid_t
    let path: String
    let file: H5File

    init(id: hid_t, path: String, file: H5File) {
        self.id = id
        self.path = path
        self.file = file
    }

    deinit { H5Gclose(id) }

    private func childPath(_ name: String) -> String { path.isEmpty ? name : "\(path)/\(name)" }
    private var where_: String { path.isEmpty ? "the root group of \(file.displayName)" : "'\(shown: path)' in \(file.displayName)" }

    // MARK: groups

    func createGroup(_ name: String) throws -> H5Group {
        let gid = H5Gcreate2(id, name, zoo_h5p_default(), zoo_h5p_default(), zoo_h5p_default())
        guard gid >= 0 else { throw ZooError(.io, "could not create the group '\(shown: childPath(name))' in \(file.displayName)") }
        return H5Group(id: gid, path: childPath(name), file: file)
    }

    func openGroup(_ name: String) throws -> H5Group {
        guard kind(of: name) == .group else {
            throw ZooError(.format, "expected a group '\(shown: childPath(name))' in \(file.displayName), found \(describe(name))")
        }
        let gid = H5Gopen2(id, name, zoo_h5p_default())
        guard gid >= 0 else { throw ZooError(.format, "could not open the group '\(shown: childPath(name))' in \(file.displayName) (damaged file?)") }
        return H5Group(id: gid, path: childPath(name), file: file)
    }

    /// Whether `name` is a direct child (link) of this group.
    func contains(_ name: String) -> Bool {
        // H5Lexists fails on names with a missing intermediate group; callers pass single names.
        H5Lexists(id, name, zoo_h5p_default()) > 0
    }

    func kind(of name: String) -> H5ChildKind? {
        guard contains(name) else { return nil }
        let oid = H5Oopen(id, name, zoo_h5p_default())
        guard oid >= 0 else { return .other }
        defer { H5Oclose(oid) }
        switch H5Iget_type(oid) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        default: return .other
        }
    }

    private func describe(_ name: String) -> String {
        switch kind(of: name) {
        case nil: return "none"
        case .group?: return "a group"
        case .dataset?: return "a dataset"
        case .other?: return "another kind of object"
        }
    }

    /// Names of the direct children, in HDF5's name order.
    func childNames() throws -> [String] {
        var info = H5G_info_t()
        guard H5Gget_info(id, &info) >= 0 else { throw ZooError(.format, "could not list \(where_) (damaged file?)") }
        var names: [String] = []
        for i in 0..<info.nlinks {
            let size = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, zoo_h5p_default())
            guard size >= 0 else { throw ZooError(.format, "could not list \(where_) (damaged file?)") }
            var buffer = [CChar](repeating: 0, count: Int(size) + 1)
            guard H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buffer, buffer.count, zoo_h5p_default()) >= 0 else {
                throw ZooError(.format, "could not list \(where_) (damaged file?)")
            }
            names.append(String(decoding: buffer.prefix(Int(size)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    // MARK: attributes

    func hasAttribute(_ name: String) -> Bool { H5Aexists(id, name) > 0 }

    /// A scalar variable-length string attribute (`utf8` as Keras 3 writes `name`; ASCII as
    /// tf.keras writes `backend` and `keras_version`).
    func setStringAttribute(_ name: String, _ value: String, utf8: Bool) throws {
        try withStringType(utf8: utf8) { type in
            let space = H5Screate(H5S_SCALAR)
            guard space >= 0 else { throw attributeError(name) }
            defer { H5Sclose(space) }
            try writeAttribute(name, type: type, space: space, strings: [value])
        }
    }

    /// A one-dimensional variable-length ASCII string attribute; an empty list is written as an
    /// empty float64 array, exactly as h5py (and so tf.keras) writes `weight_names = []`.
    func setStringArrayAttribute(_ name: String, _ values: [String]) throws {
        var dims = [hsize_t(values.count)]
        let space = H5Screate_simple(1, &dims, nil)
        guard space >= 0 else { throw attributeError(name) }
        defer { H5Sclose(space) }
        if values.isEmpty {
            let attr = H5Acreate2(id, name, zoo_h5t_ieee_f64le(), space, zoo_h5p_default(), zoo_h5p_default())
            guard attr >= 0 else { throw attributeError(name) }
            H5Aclose(attr)
            return
        }
        try withStringType(utf8: false) { type in
            try writeAttribute(name, type: type, space: space, strings: values)
        }
    }

    private func attributeError(_ name: String) -> ZooError {
        ZooError(.io, "could not write the attribute '\(shown: name)' of \(where_)")
    }

    private func withStringType<T>(utf8: Bool, _ body: (hid_t) throws -> T) throws -> T {
        let type = H5Tcopy(zoo_h5t_c_s1())
        guard type >= 0 else { throw ZooError(.io, "could not make an HDF5 string type for \(file.displayName)") }
        defer { H5Tclose(type) }
        guard H5Tset_size(type, zoo_h5t_variable()) >= 0,
              H5Tset_cset(type, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII) >= 0,
              H5Tset_strpad(type, H5T_STR_NULLTERM) >= 0 else {
            throw ZooError(.io, "could not make an HDF5 string type for \(file.displayName)")
        }
        return try body(type)
    }

    private func writeAttribute(_ name: String, type: hid_t, space: hid_t, strings: [String]) throws {
        let attr = H5Acreate2(id, name, type, space, zoo_h5p_default(), zoo_h5p_default())
        guard attr >= 0 else { throw attributeError(name) }
        defer { H5Aclose(attr) }
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        guard H5Awrite(attr, type, &pointers) >= 0 else { throw attributeError(name) }
    }

    /// A string attribute as a list: a scalar gives one element, an empty numeric array none.
    /// Variable- and fixed-length strings are both accepted (older tf.keras wrote fixed ones).
    /// Returns nil when the attribute is absent.
    func stringsAttribute(_ name: String) throws -> [String]? {
        guard H5Aexists(id, name) > 0 else { return nil }
        let attr = H5Aopen(id, name, zoo_h5p_default())
        guard attr >= 0 else { throw ZooError(.format, "could not read the attribute '\(shown: name)' of \(where_)") }
        defer { H5Aclose(attr) }
        let type = H5Aget_type(attr), space = H5Aget_space(attr)
        defer { H5Tclose(type); H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        let typeClass = H5Tget_class(type)
        if count == 0 { return [] }
        guard typeClass == H5T_STRING else {
            throw ZooError(.format, "expected the attribute '\(shown: name)' of \(where_) to hold strings, found another type")
        }
        if H5Tis_variable_str(type) > 0 {
            let memType = H5Tcopy(type)
            defer { H5Tclose(memType) }
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard H5Aread(attr, memType, &pointers) >= 0 else {
                throw ZooError(.format, "could not read the attribute '\(shown: name)' of \(where_)")
            }
            defer { H5Dvlen_reclaim(memType, space, zoo_h5p_default(), &pointers) }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(type)
        guard size > 0 else { return Array(repeating: "", count: count) }
        var bytes = [UInt8](repeating: 0, count: count * size)
        guard H5Aread(attr, type, &bytes) >= 0 else {
            throw ZooError(.format, "could not read the attribute '\(shown: name)' of \(where_)")
        }
        return (0..<count).map { i in
            let slice = bytes[(i * size)..<((i + 1) * size)]
            return String(decoding: slice.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    // MARK: datasets

    /// A contiguous little-endian float32 or float16 dataset whose space is allocated now but not written
    /// (no fill values either): returns the byte offset in the file where its row-major values
    /// go, to be written there directly once the file is closed.
    func reserveFloats(_ name: String, shape: [Int], dtype: KerasDType) throws -> Int {
        let space: hid_t
        if shape.isEmpty {
            space = H5Screate(H5S_SCALAR)
        } else {
            var dims = shape.map { hsize_t($0) }
            space = H5Screate_simple(Int32(dims.count), &dims, nil)
        }
        guard space >= 0 else { throw ZooError(.io, "could not describe the dataset '\(shown: childPath(name))' of shape \(shape) in \(file.displayName)") }
        defer { H5Sclose(space) }
        let dcpl = H5Pcreate(zoo_h5p_dataset_create())
        guard dcpl >= 0 else { throw ZooError(.io, "could not set up the dataset '\(shown: childPath(name))' in \(file.displayName)") }
        defer { H5Pclose(dcpl) }
        guard H5Pset_layout(dcpl, H5D_CONTIGUOUS) >= 0, H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) >= 0,
              H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) >= 0 else {
            throw ZooError(.io, "could not set up the dataset '\(shown: childPath(name))' in \(file.displayName)")
        }
        let type = dtype == .float16 ? zoo_h5t_ieee_f16le_copy() : H5Tcopy(zoo_h5t_ieee_f32le())
        guard type >= 0 else { throw ZooError(.io, "could not make the \(dtype.rawValue) type for '\(shown: childPath(name))' in \(file.displayName)") }
        defer { H5Tclose(type) }
        let dset = H5Dcreate2(id, name, type, space, zoo_h5p_default(), dcpl, zoo_h5p_default())
        guard dset >= 0 else { throw ZooError(.io, "could not create the dataset '\(shown: childPath(name))' in \(file.displayName) (disk full?)") }
        defer { H5Dclose(dset) }
        let offset = H5Dget_offset(dset)
        guard offset != zoo_haddr_undef(), offset <= UInt64(Int.max) else {
            throw ZooError(.io, "could not place the dataset '\(shown: childPath(name))' in \(file.displayName)")
        }
        return Int(offset)
    }

    /// A floating-point dataset of any width, converted to float32 by HDF5.
    func readFloat32(_ name: String) throws -> Tensor {
        let (shape, values) = try readFloats(name)
        return Tensor(shape: shape, floats: values)
    }

    /// The shape of a floating-point dataset, without reading it.
    func datasetShape(_ name: String) throws -> [Int] {
        try withFloatDataset(name) { _, shape in shape }
    }

    /// A floating-point dataset's shape and values, converted to float32 by HDF5.
    func readFloats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        try withFloatDataset(name) { dset, shape in
            let count = shape.reduce(1, *)
            let failed = ZooError(.format, "could not read the values of '\(shown: childPath(name))' in \(file.displayName) (truncated file?)")
            if count > 0, Self.isIEEEHalf(dset) {
                // HDF5 widens half floats by its generic soft conversion, several times slower than this
                let half = zoo_h5t_ieee_f16le_copy()
                guard half >= 0 else { throw failed }
                defer { H5Tclose(half) }
                var bits = [UInt16](repeating: 0, count: count)
                guard bits.withUnsafeMutableBufferPointer({ H5Dread(dset, half, zoo_h5s_all(), zoo_h5s_all(), zoo_h5p_default(), $0.baseAddress) }) >= 0 else {
                    throw failed
                }
                return (shape, bits.map { ElementConversion.halfToFloat($0) })
            }
            var values = [Float](repeating: 0, count: count)
            if count > 0 {
                let status = values.withUnsafeMutableBufferPointer {
                    H5Dread(dset, zoo_h5t_native_float(), zoo_h5s_all(), zoo_h5s_all(), zoo_h5p_default(), $0.baseAddress)
                }
                guard status >= 0 else { throw failed }
            }
            return (shape, values)
        }
    }

    /// Whether the dataset holds little-endian IEEE halves (as h5py and zoo write float16), whose
    /// bits can be read as they are.
    private static func isIEEEHalf(_ dset: hid_t) -> Bool {
        let type = H5Dget_type(dset), reference = zoo_h5t_ieee_f16le_copy()
        defer { if type >= 0 { H5Tclose(type) }; if reference >= 0 { H5Tclose(reference) } }
        return type >= 0 && reference >= 0 && H5Tequal(type, reference) > 0
    }

    private func withFloatDataset<T>(_ name: String, _ body: (hid_t, [Int]) throws -> T) throws -> T {
        guard kind(of: name) == .dataset else {
            throw ZooError(.format, "expected a dataset '\(shown: childPath(name))' in \(file.displayName), found \(describe(name))")
        }
        let dset = H5Dopen2(id, name, zoo_h5p_default())
        guard dset >= 0 else { throw ZooError(.format, "could not open the dataset '\(shown: childPath(name))' in \(file.displayName)") }
        defer { H5Dclose(dset) }
        let type = H5Dget_type(dset), space = H5Dget_space(dset)
        defer { H5Tclose(type); H5Sclose(space) }
        guard H5Tget_class(type) == H5T_FLOAT else {
            throw ZooError(.format, "expected floating-point values in '\(shown: childPath(name))' of \(file.displayName), found another type")
        }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0 else { throw ZooError(.format, "could not read the shape of '\(shown: childPath(name))' in \(file.displayName)") }
        var dims = [hsize_t](repeating: 0, count: rank)
        if rank > 0 { H5Sget_simple_extent_dims(space, &dims, nil) }
        return try body(dset, dims.map { Int($0) })
    }
}

/// A float dataset found in a file but not read yet.
struct H5DatasetRef {
    let group: H5Group
    let name: String
    func read() throws -> Tensor { try group.readFloat32(name) }
    func shape() throws -> [Int] { try group.datasetShape(name) }
    func floats() throws -> [Float] { try group.readFloats(name).values }
}
