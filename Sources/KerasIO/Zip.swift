import CZip
import ZooCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `.keras` container through libzip: entries are STORED (uncompressed), as Keras writes
/// them. No libzip type leaves this file.
enum Zip {
    enum Source {
        case bytes([UInt8])
        /// A file on disk, read by libzip when the archive is closed.
        case file(String)
    }

    /// Writes a new archive at `path` with `entries` in order. `displayName` is for messages.
    static func write(path: String, displayName: String, entries: [(name: String, source: Source)]) throws {
        var code: Int32 = 0
        guard let archive = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code) else {
            throw ZooError(.io, "could not create the zip archive \(displayName): \(reason(code))")
        }
        var closed = false
        defer { if !closed { zip_discard(archive) } }
        let now = time(nil)
        for (name, source) in entries {
            let zipSource: OpaquePointer?
            switch source {
            case .bytes(let bytes):
                // libzip reads the buffer at zip_close; give it a malloc'd copy it frees itself.
                let buffer = malloc(max(bytes.count, 1))!
                bytes.withUnsafeBytes { if let base = $0.baseAddress { buffer.copyMemory(from: base, byteCount: bytes.count) } }
                zipSource = zip_source_buffer(archive, buffer, zip_uint64_t(bytes.count), 1)
                if zipSource == nil { free(buffer) }
            case .file(let file):
                zipSource = zip_source_file(archive, file, 0, 0)
            }
            guard let zipSource else {
                throw ZooError(.io, "could not add '\(name)' to \(displayName): \(String(cString: zip_strerror(archive)).lowercased())")
            }
            let index = zip_file_add(archive, name, zipSource, zip_flags_t(ZIP_FL_ENC_UTF_8))
            guard index >= 0 else {
                zip_source_free(zipSource)
                throw ZooError(.io, "could not add '\(name)' to \(displayName): \(String(cString: zip_strerror(archive)).lowercased())")
            }
            guard zip_set_file_compression(archive, zip_uint64_t(index), ZIP_CM_STORE, 0) == 0,
                  zip_file_set_mtime(archive, zip_uint64_t(index), now, 0) == 0 else {
                throw ZooError(.io, "could not describe '\(name)' in \(displayName): \(String(cString: zip_strerror(archive)).lowercased())")
            }
        }
        guard zip_close(archive) == 0 else {
            throw ZooError(.io, "could not write the zip archive \(displayName): \(String(cString: zip_strerror(archive)).lowercased())")
        }
        closed = true
    }

    private static func reason(_ code: Int32) -> String {
        var error = zip_error_t()
        zip_error_init_with_code(&error, code)
        defer { zip_error_fini(&error) }
        return String(cString: zip_error_strerror(&error)).lowercased()
    }

    /// A read-only archive.
    final class Reader {
        private let handle: OpaquePointer
        let displayName: String
        /// Entry names in central-directory order.
        let names: [String]

        init(path: String) throws {
            displayName = path
            var code: Int32 = 0
            guard let handle = zip_open(path, ZIP_RDONLY, &code) else {
                if code == ZIP_ER_NOENT || code == ZIP_ER_OPEN || code == ZIP_ER_READ {
                    throw ZooError(.io, "could not open \(path): \(Zip.reason(code))")
                }
                throw ZooError(.format, "expected a .keras file (a zip archive) at \(path), found a damaged or different file: \(Zip.reason(code))")
            }
            self.handle = handle
            let count = max(0, zip_get_num_entries(handle, 0))
            names = (0..<count).compactMap { i in
                zip_get_name(handle, zip_uint64_t(i), zip_flags_t(ZIP_FL_ENC_GUESS)).map { String(cString: $0) }
            }
        }

        deinit { zip_discard(handle) }

        /// The whole entry, checked against its CRC by libzip.
        func read(_ name: String) throws -> [UInt8] {
            let index = zip_name_locate(handle, name, 0)
            guard index >= 0 else {
                throw ZooError(.format, "expected an entry '\(name)' in \(displayName), found only \(names.isEmpty ? "no entries" : names.joined(separator: ", "))")
            }
            var st = zip_stat_t()
            zip_stat_init(&st)
            guard zip_stat_index(handle, zip_uint64_t(index), 0, &st) == 0, st.size <= UInt64(Int.max) else {
                throw ZooError(.format, "could not read the size of '\(name)' in \(displayName)")
            }
            guard let file = zip_fopen_index(handle, zip_uint64_t(index), 0) else {
                throw ZooError(.format, "could not open '\(name)' in \(displayName): \(String(cString: zip_strerror(handle)).lowercased())")
            }
            defer { zip_fclose(file) }
            let expected = Int(st.size)
            var out = [UInt8](repeating: 0, count: expected)
            var filled = 0
            while filled < expected {
                let n = out.withUnsafeMutableBytes { zip_fread(file, $0.baseAddress! + filled, zip_uint64_t(expected - filled)) }
                guard n > 0 else {
                    throw ZooError(.format, "expected \(expected) bytes in '\(name)' of \(displayName), found \(filled) (truncated or damaged archive)")
                }
                filled += Int(n)
            }
            return out
        }
    }
}
