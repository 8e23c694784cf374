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
            throw ZooError(.io, "could not create the zip archive \(displayName): \(ZipReader.reason(code))")
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
}
