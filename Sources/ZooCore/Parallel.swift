import CZooKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutual-exclusion lock for the few shared counters of parallel writers.
public final class Lock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    public init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    public func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

/// The number of cores this process may use.
public enum ProcessInfoCores {
    public static let count: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

/// The machine's physical memory in bytes: more than this cannot be allocated and filled.
public enum ProcessInfoMemory {
    public static let physicalBytes: Int = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Channels [c0, c1) of the (outer, channels, inner) → (inner, channels, outer) layout change,
/// as `inner` runs of (c1 − c0)·outer values (see zoo_permute_slab).
public func permuteSlab(_ src: UnsafePointer<Float>, outer: Int, channels: Int, inner: Int, channelRange: Range<Int>,
                        into dst: UnsafeMutablePointer<Float>) {
    if outer == 1 && inner == 1 {
        dst.update(from: src + channelRange.lowerBound, count: channelRange.count)
        return
    }
    zoo_permute_slab(src, outer, channels, inner, channelRange.lowerBound, channelRange.upperBound, dst)
}

/// A queue of work handed from one thread to worker threads: `push` adds, `next` blocks until
/// there is an item or the queue is closed (nil then, once drained) or cancelled (nil at once).
public final class WorkQueue<Item>: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var ready = pthread_cond_t()
    private var items: [Item] = []
    private var head = 0
    private var closed = false
    private var cancelled = false

    public init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&ready, nil)
    }

    deinit {
        pthread_cond_destroy(&ready)
        pthread_mutex_destroy(&mutex)
    }

    public func push(_ new: [Item]) {
        pthread_mutex_lock(&mutex)
        items += new
        pthread_cond_broadcast(&ready)
        pthread_mutex_unlock(&mutex)
    }

    /// No more items will come; workers finish what is queued.
    public func close() { finish(cancel: false) }

    /// Stop: workers take nothing more.
    public func cancel() { finish(cancel: true) }

    private func finish(cancel: Bool) {
        pthread_mutex_lock(&mutex)
        closed = true
        if cancel { cancelled = true }
        pthread_cond_broadcast(&ready)
        pthread_mutex_unlock(&mutex)
    }

    public func next() -> Item? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while true {
            if cancelled { return nil }
            if head < items.count {
                head += 1
                return items[head - 1]
            }
            if closed { return nil }
            pthread_cond_wait(&ready, &mutex)
        }
    }
}

/// Runs `body` on a thread of its own (not from a pool, so blocking waits cannot starve other
/// work); `join` waits for it.
public final class WorkerThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: () -> Void

    public init(_ body: @escaping () -> Void) {
        self.body = body
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { raw in
            let worker = Unmanaged<WorkerThread>.fromOpaque(raw!).takeRetainedValue()
            worker.body()
            return nil
        }, box)
    }

    public func join() { pthread_join(thread, nil) }
}
