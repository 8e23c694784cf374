import CZip
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only zip archive through libzip (the `.pth` container and the `.keras` container).
/// No libzip type leaves this file.
public final class ZipReader {
    private let handle: OpaquePointer
    /// How messages name the archive (nil: the caller puts the path in front itself).
    private let displayName: String?
    /// Entry names in central-directory order.
    public let names: [String]
    private let indexByName: [String: Int]
    /// The archive's size on disk, which bounds every size its directory may claim.
    private let archiveBytes: Int
    /// libzip's archive handle is not safe to read from two threads at once.
    private let lock = Lock()

    /// - Parameters:
    ///   - kind: what the archive should be, for messages ("a torch ≥ 1.6 .pth", "a .keras file").
    ///   - displayName: how messages name the file, or nil when the caller prefixes the path.
    public init(path: String, kind: String, displayName: String?) throws {
        self.displayName = displayName
        var code: Int32 = 0
        guard let handle = zip_open(path, ZIP_RDONLY, &code) else {
            let at = displayName.map { " at \($0)" } ?? ""
            if code == ZIP_ER_NOENT || code == ZIP_ER_OPEN || code == ZIP_ER_READ {
                throw ZooError(.io, "could not open \(displayName ?? path): \(Self.reason(code))")
            }
            throw ZooError(.format, "expected \(kind) (a zip archive)\(at), found a damaged or different file: \(Self.reason(code)); the file may be truncated")
        }
        self.handle = handle
        var info = stat()
        archiveBytes = stat(path, &info) == 0 ? Int(info.st_size) : 0
        var names: [String] = []
        var index: [String: Int] = [:]
        for i in 0..<max(0, zip_get_num_entries(handle, 0)) {
            guard let cName = zip_get_name(handle, zip_uint64_t(i), zip_flags_t(ZIP_FL_ENC_RAW)) else { continue }
            let name = String(cString: cName)
            names.append(name)
            index[name] = Int(i)
        }
        self.names = names
        self.indexByName = index
    }

    deinit { zip_discard(handle) }

    /// libzip's sentence for an error code, lower-cased for use inside zoo's messages.
    public static func reason(_ code: Int32) -> String {
        var error = zip_error_t()
        zip_error_init_with_code(&error, code)
        defer { zip_error_fini(&error) }
        return String(cString: zip_error_strerror(&error)).lowercased()
    }

    public func contains(_ name: String) -> Bool { indexByName[name] != nil }

    /// Uncompressed size from the central directory, without reading the entry.
    public func size(of name: String) -> Int? {
        guard let st = entryStat(name), st.size <= UInt64(Int.max) else { return nil }
        return Int(st.size)
    }

    private func entryStat(_ name: String) -> zip_stat_t? {
        guard let i = indexByName[name] else { return nil }
        var st = zip_stat_t()
        zip_stat_init(&st)
        guard zip_stat_index(handle, zip_uint64_t(i), 0, &st) == 0 else { return nil }
        return st
    }

    /// Deflate writes at least one bit per 258 bytes it restores: no stream expands by more than
    /// about 1032 times. A central directory that claims more is lying.
    static let maximumExpansion: UInt64 = 1032

    /// The whole entry, checked against its CRC by libzip. Safe to call from several threads.
    public func read(_ name: String) throws -> [UInt8] {
        try lock.locked { try readLocked(name) }
    }

    private func readLocked(_ name: String) throws -> [UInt8] {
        let of = displayName.map { " of \($0)" } ?? ""
        guard let i = indexByName[name] else {
            throw ZooError(.format, "expected an entry '\(shown: name)'\(of), found only \(names.isEmpty ? "no entries" : names.joined(separator: ", "))")
        }
        guard let st = entryStat(name), st.valid & UInt64(ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD) != 0 else {
            throw ZooError(.format, "could not read the size of '\(shown: name)'\(of)")
        }
        // The sizes are the archive's claims: check them against what the bytes can hold before
        // allocating anything of that size.
        if st.comp_method == ZIP_CM_STORE, st.comp_size != st.size {
            throw ZooError(.format, "expected the stored entry '\(shown: name)'\(of) to hold as many bytes as it claims (\(st.size)), found \(st.comp_size) stored bytes (damaged central directory)")
        }
        guard st.comp_size <= UInt64(archiveBytes) else {
            throw ZooError(.format, "expected the entry '\(shown: name)'\(of) to fit in the archive's \(archiveBytes) bytes, found a claimed compressed size of \(st.comp_size) (damaged or truncated archive)")
        }
        let (bound, overflow) = st.comp_size.multipliedReportingOverflow(by: Self.maximumExpansion)
        guard st.size <= UInt64(Int.max), overflow || st.size <= bound + 1024 else {
            throw ZooError(.format, "expected the entry '\(shown: name)'\(of) to claim at most \(bound + 1024) bytes from its \(st.comp_size) compressed bytes, found a claimed size of \(st.size) (damaged central directory)")
        }
        let expected = Int(st.size)
        if st.valid & UInt64(ZIP_STAT_ENCRYPTION_METHOD) != 0, st.encryption_method != UInt16(ZIP_EM_NONE) {
            throw ZooError(.format, "expected the entry '\(shown: name)'\(of) to be stored unencrypted, as torch.save and Keras write it, found it marked encrypted (a damaged header flag, or an encrypted archive)")
        }
        guard let file = zip_fopen_index(handle, zip_uint64_t(i), 0) else {
            throw ZooError(.format, "could not open '\(shown: name)'\(of): \(String(cString: zip_strerror(handle)).lowercased())")
        }
        defer { zip_fclose(file) }
        // Grown as bytes arrive, so a size that passed the checks above but is still a lie
        // costs only what the entry really holds.
        var out = [UInt8](repeating: 0, count: min(expected, 1 << 24))
        var filled = 0
        while filled < expected {
            if filled == out.count { out += [UInt8](repeating: 0, count: min(out.count, expected - out.count)) }
            let room = out.count - filled
            let n = out.withUnsafeMutableBytes { zip_fread(file, $0.baseAddress! + filled, zip_uint64_t(room)) }
            if n < 0 {
                throw ZooError(.format, "entry '\(shown: name)'\(of) is damaged: \(String(cString: zip_file_strerror(file)).lowercased())")
            }
            if n == 0 { break }
            filled += Int(n)
        }
        guard filled == expected else {
            throw ZooError(.format, "expected \(expected) bytes in '\(shown: name)'\(of), found \(filled) (truncated or damaged archive)")
        }
        return out
    }
}
