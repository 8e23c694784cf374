#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that it is either complete or absent: the bytes go to a temporary file in
/// the target's folder, which is renamed into place only when complete (and, with `sync`, after
/// a successful `fsync`). On any error the temporary file is removed and the target is untouched.
public enum AtomicFile {
    /// - Parameters:
    ///   - path: the final file.
    ///   - overwrite: replace an existing file; otherwise an existing file is an error.
    ///   - sync: flush the file to the disk before the rename, so it survives a power cut (costs
    ///     the disk's write time; without it the kernel writes the pages back in its own time).
    ///   - body: writes the content to the temporary path it is given.
    public static func write(to path: String, overwrite: Bool, sync: Bool = true, _ body: (String) throws -> Void) throws {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var st = stat()
        guard stat(folder, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ZooError(.io, "expected a folder \(folder) to write \(base) into, found \(stat(folder, &st) == 0 ? "a file" : "none")")
        }
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFREG else { throw ZooError(.io, "expected a file name at \(path), found a folder or device") }
            guard overwrite else { throw ZooError(.usage, "'\(path)' already exists; pass --force to replace it") }
        }
        // O_EXCL: never clobber another writer's temporary file.
        var temporary = ""
        var fd: Int32 = -1
        for attempt in 0..<100 {
            temporary = "\(folder)/.\(base).zoo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(attempt).tmp"
            fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            throw ZooError(.io, "cannot write into the folder \(folder): \(String(cString: strerror(errno)).lowercased())")
        }
        close(fd)
        do {
            try body(temporary)
            let syncFD = sync ? open(temporary, O_RDONLY) : -1
            if syncFD >= 0 {
                let synced = fsync(syncFD) == 0
                let syncError = errno
                close(syncFD)
                guard synced else { throw ZooError(.io, "cannot flush \(path) to disk: \(String(cString: strerror(syncError)).lowercased())") }
            }
            if !overwrite, stat(path, &st) == 0 {
                throw ZooError(.io, "expected no file at \(path), found one that appeared while writing; pass --force to replace it")
            }
            guard rename(temporary, path) == 0 else {
                throw ZooError(.io, "cannot move the finished file into place at \(path): \(String(cString: strerror(errno)).lowercased())")
            }
        } catch {
            unlink(temporary)
            throw error
        }
    }
}

/// A buffered writer over a file descriptor whose errors (a full disk) become `ZooError`s.
public final class FileSink {
    private let fd: Int32
    public let path: String
    private var buffer: [UInt8] = []
    public private(set) var offset: Int = 0
    private static let capacity = 1 << 20

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ZooError(.io, "cannot create '\(path)': \(String(cString: strerror(errno)))") }
        buffer.reserveCapacity(Self.capacity)
    }

    deinit { close(fd) }

    public func write(_ bytes: some Collection<UInt8>) throws {
        if buffer.count + bytes.count > Self.capacity { try flush() }
        if bytes.count >= Self.capacity {
            let array = Array(bytes)
            try array.withUnsafeBytes { try writeAll($0) }
        } else {
            buffer.append(contentsOf: bytes)
        }
        offset += bytes.count
    }

    public func write(raw: UnsafeRawBufferPointer) throws {
        if buffer.count + raw.count > Self.capacity { try flush() }
        if raw.count >= Self.capacity {
            try writeAll(raw)
        } else {
            buffer.append(contentsOf: raw)
        }
        offset += raw.count
    }

    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ raw: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < raw.count {
            let n = systemWrite(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw ZooError(.io, "cannot write '\(path)': \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif
