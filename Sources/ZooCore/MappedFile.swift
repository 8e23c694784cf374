#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZooKernels

/// A read-only memory map of a whole file, so a reader touches only the pages it needs.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?
    /// The fault-handler slot guarding the mapping: a SIGBUS inside it (the file shrank while
    /// mapped) ends the run with one sentence naming the file instead of a crash.
    private var guardSlot: Int32 = -1

    /// - Parameter displayName: how a fault names the file (default: `path`).
    public init(path: String, displayName: String? = nil) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ZooError(.io, "cannot open '\(path)' for reading: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ZooError(.io, "cannot read the size of '\(path)': \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw ZooError(.io, "expected '\(path)' to be a regular file, found a directory or device") }
        let size = Int(info.st_size)
        if size == 0 {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw ZooError(.io, "cannot map '\(path)' into memory: \(String(cString: strerror(errno)))")
        }
        base = mapped
        bytes = UnsafeRawBufferPointer(start: mapped, count: size)
        zoo_install_fault_handlers()
        guardSlot = zoo_guard_mapping(mapped, size, displayName ?? path)
    }

    deinit {
        zoo_unguard_mapping(guardSlot)
        if let base { munmap(base, bytes.count) }
    }

    public var count: Int { bytes.count }

    /// Returns the pages under `range` to the kernel (MADV_DONTNEED): this process's resident
    /// memory shrinks; a later read maps them again from the page cache.
    public func release(_ range: Range<Int>) {
        guard let base, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lower = range.lowerBound / page * page
        let upper = min(bytes.count, (range.upperBound + page - 1) / page * page)
        guard upper > lower else { return }
        madvise(base + lower, upper - lower, MADV_DONTNEED)
    }

    /// A whole (small) file's bytes, copied out while it is mapped.
    public static func contents(of path: String) throws -> [UInt8] {
        let file = try MappedFile(path: path)
        return withExtendedLifetime(file) { Array(file.bytes) }
    }
}
