#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import CZooKernels

/// A file being written that appears at its destination only when complete, and leaves nothing
/// behind however the run ends.
///
/// The content goes to an unnamed file in the destination's folder (`O_TMPFILE`): it has no
/// name until `commit` links it into place, so an interrupted run — a signal, `kill -9`, a
/// crash, a power cut — leaves nothing; the kernel frees it with the last descriptor. Where the
/// file system has no unnamed files, a hidden `.NAME.zoo-staging-PID-N` is used instead, removed
/// on error and by the signal handlers (`zoo_install_fault_handlers`); one left by a process
/// that no longer exists (kill -9) is removed by the next run writing to the same folder.
///
/// Rules for the destination, checked when staging starts and again at the commit:
/// - a file that is one of the run's inputs (the same device and inode, however it is spelled:
///   `../`, a symbolic link, a hard link) is never replaced, even with `overwrite`;
/// - a symbolic link (dangling or not) is never written through or replaced, and a folder is
///   never replaced: both are refused with the link's target or the folder named;
/// - without `overwrite` an existing file is kept, and the commit itself refuses to replace one
///   (`linkat`, `renameat2(RENAME_NOREPLACE)`): of two runs racing to one name, exactly one wins.
public final class StagedFile {
    /// The file the content is for.
    public let destination: String
    /// Where to write and read the content while it is staged (`/proc/self/fd/N` for an unnamed
    /// file). Messages should name `destination` instead.
    public private(set) var path: String
    private let folder: String
    private let base: String
    private let overwrite: Bool
    private let inputs: [(path: String, device: UInt64, inode: UInt64)]
    private var fd: Int32
    /// The hidden name, when the file system has no unnamed files.
    private var stagingName: String?
    private var signalSlot: Int32 = -1
    private var finished = false

    /// - Parameters:
    ///   - destination: the final file.
    ///   - overwrite: replace an existing regular file (`--force`).
    ///   - inputs: files the run reads; none of them may be the destination.
    public init(destination: String, overwrite: Bool, protecting inputs: [String] = []) throws {
        zoo_install_fault_handlers()
        self.destination = destination
        self.overwrite = overwrite
        let slash = destination.lastIndex(of: "/")
        folder = slash.map { String(destination[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        base = slash.map { String(destination[destination.index(after: $0)...]) } ?? destination
        var st = stat()
        guard stat(folder, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ZooError(.io, "expected a folder \(folder) to write \(base) into, found \(stat(folder, &st) == 0 ? "a file" : "none")")
        }
        self.inputs = inputs.compactMap { input in
            var info = stat()
            return stat(input, &info) == 0 ? (input, UInt64(info.st_dev), UInt64(info.st_ino)) : nil
        }
        fd = -1
        stagingName = nil
        path = ""
        try checkDestination()
        Self.removeStale(folder: folder, base: base)
        let unnamed = zoo_open_unnamed(folder)
        if unnamed >= 0 {
            fd = unnamed
            path = "/proc/self/fd/\(unnamed)"
            return
        }
        var name = ""
        var named: Int32 = -1
        for _ in 0..<100 {
            name = "\(folder)/.\(base).zoo-staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            named = open(name, O_CREAT | O_EXCL | O_RDWR, 0o644)
            if named >= 0 || errno != EEXIST { break }
        }
        guard named >= 0 else {
            throw ZooError(.io, "cannot write into the folder \(folder): \(String(cString: strerror(errno)).lowercased())")
        }
        fd = named
        stagingName = name
        path = name
        signalSlot = zoo_register_staging(name)
    }

    deinit { discard() }

    /// Removes the staged content (nothing to do once committed).
    public func discard() {
        guard !finished else { return }
        finished = true
        if let stagingName { unlink(stagingName) }
        zoo_unregister_staging(signalSlot)
        if fd >= 0 { close(fd) }
    }

    /// Puts the content at `destination`: with `sync`, flushed to the disk first, so it survives
    /// a power cut. Without `overwrite`, an existing file there (one that appeared since staging
    /// began, another run's) is kept and the commit fails.
    public func commit(sync: Bool) throws {
        guard !finished else { throw ZooError(.internal, "\(destination) was committed or discarded already") }
        if sync, fsync(fd) != 0 {
            throw ZooError(.io, "cannot flush \(destination) to disk: \(String(cString: strerror(errno)).lowercased())")
        }
        try checkDestination()
        if let stagingName {
            try place(stagingName)
        } else if overwrite {
            // linkat cannot replace: link under a hidden name, then rename that over the old file
            var hidden = ""
            var linked = false
            for _ in 0..<100 {
                hidden = "\(folder)/.\(base).zoo-staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                if linkat(AT_FDCWD, path, AT_FDCWD, hidden, AT_SYMLINK_FOLLOW) == 0 { linked = true; break }
                if errno != EEXIST { break }
            }
            guard linked else { throw moveError(errno) }
            let slot = zoo_register_staging(hidden)
            defer { zoo_unregister_staging(slot) }
            do { try place(hidden) } catch { unlink(hidden); throw error }
        } else if linkat(AT_FDCWD, path, AT_FDCWD, destination, AT_SYMLINK_FOLLOW) != 0 {
            throw errno == EEXIST ? exists() : moveError(errno)
        }
        finished = true
        zoo_unregister_staging(signalSlot)
        close(fd)
        fd = -1
    }

    /// Renames a named file to the destination: over an existing one only with `overwrite`.
    private func place(_ name: String) throws {
        if overwrite {
            guard rename(name, destination) == 0 else { throw moveError(errno) }
            return
        }
        if zoo_rename_noreplace(name, destination) == 0 { return }
        if errno == EEXIST { throw exists() }
        guard errno == EINVAL || errno == ENOSYS else { throw moveError(errno) }
        // a file system without RENAME_NOREPLACE: link refuses to replace as well
        guard link(name, destination) == 0 else { throw errno == EEXIST ? exists() : moveError(errno) }
        unlink(name)
    }

    private func exists() -> ZooError {
        ZooError(.usage, "'\(destination)' already exists; pass --force to replace it")
    }

    private func moveError(_ code: Int32) -> ZooError {
        ZooError(.io, "cannot move the finished file into place at \(destination): \(String(cString: strerror(code)).lowercased())")
    }

    /// The destination rules (see the type's documentation).
    private func checkDestination() throws {
        var st = stat()
        guard lstat(destination, &st) == 0 else { return }
        switch st.st_mode & S_IFMT {
        case S_IFLNK:
            var target = [CChar](repeating: 0, count: 4096)
            let n = readlink(destination, &target, target.count - 1)
            let shown = n > 0 ? " to '\(String(decoding: target.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self))'" : ""
            throw ZooError(.usage, "expected '\(destination)' to be a file name, found a symbolic link\(shown); zoo neither writes through links nor replaces them: remove it or name the file itself")
        case S_IFDIR:
            throw ZooError(.usage, "expected '\(destination)' to be a file name, found a folder; name a file inside it")
        case S_IFREG:
            if let input = inputs.first(where: { $0.device == UInt64(st.st_dev) && $0.inode == UInt64(st.st_ino) }) {
                throw ZooError(.usage, "expected an output other than the input, found '\(destination)' to be the input '\(input.path)' itself; zoo never replaces its input: choose another output name")
            }
            if !overwrite { throw exists() }
        default:
            throw ZooError(.usage, "expected '\(destination)' to be a file name, found a device or other special file")
        }
    }

    /// Removes hidden staging files for `base` in `folder` left by processes that no longer
    /// exist (a run killed with SIGKILL while it used a named staging file).
    static func removeStale(folder: String, base: String) {
        guard let dir = opendir(folder) else { return }
        defer { closedir(dir) }
        let prefix = ".\(base).zoo-staging-"
        let me = getuid()
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasPrefix(prefix) else { continue }
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0 else { continue }
            guard kill(pid, 0) != 0, errno == ESRCH else { continue } // still running (or not ours to ask)
            let full = "\(folder)/\(name)"
            var st = stat()
            guard lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == me else { continue }
            unlink(full)
        }
    }
}

/// Writes a file so that it is either complete or absent (see `StagedFile`).
public enum AtomicFile {
    /// - Parameters:
    ///   - path: the final file.
    ///   - overwrite: replace an existing file; otherwise an existing file is an error.
    ///   - sync: flush the file to the disk before it is put in place, so it survives a power
    ///     cut (costs the disk's write time; without it the kernel writes the pages back in its
    ///     own time).
    ///   - inputs: files the caller reads, which `path` must not be.
    ///   - body: writes the content to the path it is given.
    public static func write(to path: String, overwrite: Bool, sync: Bool = true, protecting inputs: [String] = [],
                             _ body: (String) throws -> Void) throws {
        let staged = try StagedFile(destination: path, overwrite: overwrite, protecting: inputs)
        try body(staged.path)
        try staged.commit(sync: sync)
    }
}

/// A buffered writer over a file descriptor whose errors (a full disk) become `ZooError`s.
public final class FileSink {
    private let fd: Int32
    public private(set) var path: String
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
