import CZip
import ZooCore

/// A read-only zip archive through libzip. No libzip type leaves this file.
final class ZipArchive {
    private let handle: OpaquePointer
    let path: String
    /// Entry names in central-directory order.
    let names: [String]
    private let indexByName: [String: Int]

    init(path: String) throws {
        self.path = path
        var code: Int32 = 0
        guard let handle = zip_open(path, ZIP_RDONLY, &code) else {
            var error = zip_error_t()
            zip_error_init_with_code(&error, code)
            defer { zip_error_fini(&error) }
            let reason = String(cString: zip_error_strerror(&error))
            throw ZooError(.format, "expected a readable zip archive (a torch ≥ 1.6 .pth), found a damaged one: \(reason.lowercased()); the file may be truncated")
        }
        self.handle = handle
        let count = zip_get_num_entries(handle, 0)
        var names: [String] = []
        var index: [String: Int] = [:]
        for i in 0..<max(0, count) {
            guard let cName = zip_get_name(handle, zip_uint64_t(i), zip_flags_t(ZIP_FL_ENC_RAW)) else { continue }
            let name = String(cString: cName)
            names.append(name)
            index[name] = Int(i)
        }
        self.names = names
        self.indexByName = index
    }

    deinit { zip_discard(handle) }

    func contains(_ name: String) -> Bool { indexByName[name] != nil }

    /// Uncompressed size from the central directory, without reading the entry.
    func size(of name: String) -> Int? {
        guard let i = indexByName[name] else { return nil }
        var st = zip_stat_t()
        zip_stat_init(&st)
        guard zip_stat_index(handle, zip_uint64_t(i), 0, &st) == 0 else { return nil }
        return Int(st.size)
    }

    /// The whole entry, checked against its CRC by libzip.
    func read(_ name: String) throws -> [UInt8] {
        guard let i = indexByName[name], let expected = size(of: name) else {
            throw ZooError(.format, "expected a record '\(name)' in the zip, found none")
        }
        guard let file = zip_fopen_index(handle, zip_uint64_t(i), 0) else {
            throw ZooError(.format, "cannot open zip record '\(name)': \(String(cString: zip_strerror(handle)).lowercased())")
        }
        defer { zip_fclose(file) }
        var out = [UInt8](repeating: 0, count: expected)
        var filled = 0
        while filled < expected {
            let n = out.withUnsafeMutableBytes { zip_fread(file, $0.baseAddress! + filled, zip_uint64_t(expected - filled)) }
            if n < 0 {
                throw ZooError(.format, "zip record '\(name)' is damaged: \(String(cString: zip_file_strerror(file)).lowercased())")
            }
            if n == 0 { break }
            filled += Int(n)
        }
        guard filled == expected else {
            throw ZooError(.format, "zip record '\(name)' is truncated: expected \(expected) bytes, found \(filled)")
        }
        return out
    }
}
