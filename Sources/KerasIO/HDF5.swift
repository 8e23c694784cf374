import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ZooCore

/// A thin, throwing view of the part of libhdf5 zoo writes with: groups, string and empty
/// attributes, reserved contiguous float32/float16 datasets. Every failure becomes a `ZooError`
/// that names the file and the object; no HDF5 type leaves this module. Reading never goes
/// through libhdf5 (a damaged file can crash it): see H5Reader.swift.
///
/// Handles close themselves when released (`deinit`), so an early `throw` leaks nothing.
enum HDF5 {
    /// HDF5 prints its error stack to stderr by default; zoo reports errors itself. The
    /// thread-safe library keeps this setting per thread, so every entry point calls it.
    static func silence() { zoo_h5_silence_errors() }
}

/// An HDF5 file being written. `displayName` is what error messages call it (the user's path,
/// not the temporary file being written).
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
}

/// A group being written. `path` is its HDF5 path without the leading slash ("layers/conv2d/vars"),
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

    /// A group created earlier in this file, to add to it.
    func openGroup(_ name: String) throws -> H5Group {
        let gid = H5Gopen2(id, name, zoo_h5p_default())
        guard gid >= 0 else { throw ZooError(.io, "could not open the group '\(childPath(name))' in \(file.displayName)") }
        return H5Group(id: gid, path: childPath(name), file: file)
    }

    /// Whether `name` is a direct child (link) of this group.
    func contains(_ name: String) -> Bool {
        // H5Lexists fails on names with a missing intermediate group; callers pass single names.
        H5Lexists(id, name, zoo_h5p_default()) > 0
    }

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
}
