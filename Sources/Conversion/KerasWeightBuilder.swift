#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KerasIO
import TorchIO
import ZooCompute
import ZooCore
import ZooGraph

/// Builds every Keras weight of a model from a checkpoint that matched its graph strictly:
/// each tensor is read once, widened to float32, and transformed as its layer dictates.
public enum KerasWeightBuilder {
    /// - Parameters:
    ///   - checkpoint: the opened checkpoint.
    ///   - graph: the architecture's graph, sized for this checkpoint.
    ///   - model: `graph.kerasModel()`.
    ///   - report: an exact match of `checkpoint` against `graph` (its `sourceKey` names the
    ///     checkpoint key of each descriptor key).
    ///   - progress: called after each Keras layer with (layers done, layers total).
    /// - Returns: for each Keras layer with weights, its weights in Keras order.
    public static func build(checkpoint: Checkpoint, graph: Graph, model: KerasModel, report: MatchReport,
                             progress: ((Int, Int) -> Void)? = nil) throws -> [String: [Tensor]] {
        guard report.isExact else { throw ZooError(.mismatch, "\(checkpoint.path): \(report.summary)") }
        let specs = kerasSpecs(graph)
        let constants = kerasConstants(graph)
        let derived = kerasDerived(graph)
        var out: [String: [Tensor]] = [:]
        // A fused in_proj feeds three Keras weights; keep it until its layer is done.
        var cache: [String: [Float]] = [:]
        let weighted = model.layers.filter { !$0.weights.isEmpty }
        for (index, layer) in weighted.enumerated() {
            var tensors: [Tensor] = []
            for weight in layer.weights {
                if let constant = constants["\(layer.name)/\(weight.name)"] {
                    tensors.append(Tensor(shape: constant.shape, floats: constant.values))
                    continue
                }
                if let d = derived["\(layer.name)/\(weight.name)"] {
                    tensors.append(Tensor(shape: d.shape, floats: try derivedValues(d, checkpoint: checkpoint, report: report)))
                    continue
                }
                guard let spec = specs["\(layer.name)/\(weight.name)"], let source = report.sourceKey[spec.torchName] else {
                    throw ZooError(.internal, "no PyTorch tensor feeds Keras weight \(layer.name)/\(weight.name)")
                }
                let floats: [Float]
                if let cached = cache[source] {
                    floats = cached
                } else {
                    let tensor = try checkpoint.tensor(named: source)
                    guard tensor.dtype.isFloatingPoint else {
                        throw ZooError(.mismatch, "\(checkpoint.path): expected a floating-point tensor for '\(shown: source)', found \(tensor.dtype.rawValue)")
                    }
                    floats = try tensor.floats()
                    switch spec.transform { case .slice, .columns: cache[source] = floats; default: break }
                }
                let transformed = spec.transform.apply(floats, shape: spec.torchShape)
                guard let shape = spec.kerasShape, shape == weight.shape, transformed.count == shape.reduce(1, *) else {
                    throw ZooError(.internal, "\(layer.name)/\(weight.name) expected shape \(weight.shape), transform gave \(spec.kerasShape ?? [])")
                }
                tensors.append(Tensor(shape: shape, floats: transformed))
            }
            out[layer.name] = tensors
            cache.removeAll(keepingCapacity: true)
            progress?(index + 1, weighted.count)
        }
        return out
    }

    /// Streams every Keras weight from the checkpoint into the file being written: each tensor
    /// is read where it lies in the mapped checkpoint, transformed a slab of channels at a time
    /// (about 1 MB, at least 8 channels) into a per-thread buffer and written straight to its place, on every core,
    /// starting as soon as HDF5 has placed its dataset. Memory stays near the largest tensor,
    /// whatever the model's size. Pass the result to `KerasFile.write(_:to:…:feeder:)`.
    /// Zip records read in place have their CRC-32 checked on a thread of their own, alongside
    /// the layout; a mismatch fails the write.
    /// - Parameter progress: called with (bytes written, bytes in all) after each slab.
    public static func feeder(checkpoint: Checkpoint, graph: Graph, report: MatchReport,
                              progress: ((Int, Int) -> Void)? = nil) -> ([WeightSlot]) throws -> KerasWeightFeeder {
        { slots in try StreamFeeder(checkpoint: checkpoint, graph: graph, report: report, slots: slots, progress: progress) }
    }

    /// Each fixed Keras weight, keyed "layer/weight".
    static func kerasConstants(_ graph: Graph) -> [String: KerasConstant] {
        Dictionary(graph.constants.map { ("\($0.layer)/\($0.weight)", $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Each Keras weight's parameter spec, keyed "layer/weight".
    static func kerasSpecs(_ graph: Graph) -> [String: ParameterSpec] {
        var specs: [String: ParameterSpec] = [:]
        for p in graph.parameters {
            if let layer = p.kerasLayer, let weight = p.kerasWeight { specs["\(layer)/\(weight)"] = p }
        }
        return specs
    }

    final class StreamFeeder: KerasWeightFeeder, @unchecked Sendable {
        /// Slab size: small enough that the permuted slab is still in L2 when it is written and
        /// checksummed (ZOO_SLAB_KB overrides, for measuring).
        static let slabBytes = getenv("ZOO_SLAB_KB").flatMap { Int(String(cString: $0)) }.map { $0 << 10 } ?? (1 << 20)
        struct Job {
            var slot: Int; var entry: Int; var plan: TransformPlan; var channels: Range<Int>
            /// A fixed weight's values (no checkpoint tensor behind it).
            var constant: [Float]? = nil
        }

        private let checkpoint: Checkpoint
        private let progress: ((Int, Int) -> Void)?
        private var jobs: [[Job]]          // by slot
        private let queue = WorkQueue<Job>()
        private let check: RecordCheck
        private var workers: [WorkerThread] = []
        private let lock = Lock()
        private var writer: KerasFileWriter?
        private var failure: Error?
        private var written = 0
        private let total: Int
        private let elementSize: Int
        private var slabsLeft: [Int]      // by checkpoint entry

        init(checkpoint: Checkpoint, graph: Graph, report: MatchReport, slots: [WeightSlot],
             progress: ((Int, Int) -> Void)?) throws {
            guard report.isExact else { throw ZooError(.mismatch, "\(checkpoint.path): \(report.summary)") }
            self.checkpoint = checkpoint
            self.progress = progress
            let specs = KerasWeightBuilder.kerasSpecs(graph)
            var entryIndex: [String: Int] = [:]
            for (i, e) in checkpoint.entries.enumerated() { entryIndex[e.name] = i }
            var jobs: [[Job]] = []
            var slabsLeft = [Int](repeating: 0, count: checkpoint.entries.count)
            let constants = KerasWeightBuilder.kerasConstants(graph)
            let derived = KerasWeightBuilder.kerasDerived(graph)
            for (i, slot) in slots.enumerated() {
                // fixed and computed weights are whole in memory before the layout starts
                var fixed: (shape: [Int], values: [Float])?
                if let constant = constants["\(slot.layer)/\(slot.name)"] {
                    fixed = (constant.shape, constant.values)
                } else if let d = derived["\(slot.layer)/\(slot.name)"] {
                    fixed = (d.shape, try KerasWeightBuilder.derivedValues(d, checkpoint: checkpoint, report: report))
                }
                if let fixed {
                    guard fixed.shape == slot.shape else {
                        throw ZooError(.internal, "\(slot.layer)/\(slot.name) expected shape \(slot.shape), the fixed weight has \(fixed.shape)")
                    }
                    let plan = Transform.identity.plan(shape: [fixed.values.count])!
                    jobs.append([Job(slot: i, entry: -1, plan: plan, channels: 0..<plan.channels, constant: fixed.values)])
                    continue
                }
                guard let spec = specs["\(slot.layer)/\(slot.name)"], let source = report.sourceKey[spec.torchName], let e = entryIndex[source],
                      let plan = spec.transform.plan(shape: spec.torchShape) else {
                    throw ZooError(.internal, "no PyTorch tensor feeds Keras weight \(slot.layer)/\(slot.name)")
                }
                let entry = checkpoint.entries[e]
                guard entry.dtype.isFloatingPoint else {
                    throw ZooError(.mismatch, "\(checkpoint.path): expected a floating-point tensor for '\(shown: source)', found \(entry.dtype.rawValue)")
                }
                guard spec.kerasShape == slot.shape, plan.count == slot.count, plan.sourceEnd <= entry.count else {
                    throw ZooError(.internal, "\(slot.layer)/\(slot.name) expected shape \(slot.shape), transform gives \(spec.kerasShape ?? [])")
                }
                // Tensors converted from another dtype are materialised once, so they go in one slab.
                let slabBytes = checkpoint.readsInPlace(entry) ? Self.slabBytes : Int.max
                let slabs = plan.slabs(ofAbout: slabBytes).map { Job(slot: i, entry: e, plan: plan, channels: $0) }
                slabsLeft[e] += slabs.count
                jobs.append(slabs)
            }
            self.jobs = jobs
            self.slabsLeft = slabsLeft
            total = slots.reduce(0) { $0 + $1.byteCount }
            elementSize = slots.first?.dtype.size ?? MemoryLayout<Float>.size
            check = RecordCheck(checkpoint: checkpoint, graph: graph, report: report)
            for _ in 0..<ProcessInfoCores.count {
                let buffer = Buffer()
                workers.append(WorkerThread { [unowned self] in self.work(buffer) })
            }
        }

        func placed(_ slot: Int, in writer: KerasFileWriter) {
            lock.locked { if self.writer == nil { self.writer = writer } }
            queue.push(jobs[slot])
        }

        func finish(_ writer: KerasFileWriter) throws {
            queue.close()
            workers.forEach { $0.join() }
            workers = []
            try check.wait()
            if let failure { throw failure }
        }

        func abandon() {
            queue.cancel()
            workers.forEach { $0.join() }
            workers = []
            try? check.wait()
        }

        private func work(_ buffer: Buffer) {
            while let job = queue.next() {
                do {
                    try run(job, buffer)
                } catch {
                    lock.locked { if failure == nil { failure = error } }
                    queue.cancel()
                }
            }
        }

        private func run(_ job: Job, _ buffer: Buffer) throws {
            guard let writer = lock.locked({ self.writer }) else { return }
            if let constant = job.constant {
                try constant.withUnsafeBufferPointer { try writer.write(job.slot, at: 0, $0) }
                let done = lock.locked { () -> Int in written += constant.count * elementSize; return written }
                progress?(done, total)
                return
            }
            let entry = checkpoint.entries[job.entry]
            let plan = job.plan
            let run = job.channels.count * plan.outer
            let values = buffer.floats(plan.inner * run)
            try checkpoint.withFloats(entry) { source in
                plan.fill(from: source.baseAddress!, channels: job.channels, into: values)
            }
            for k in 0..<plan.inner {
                try writer.write(job.slot, at: plan.runStart(k, channelsFrom: job.channels.lowerBound),
                                 UnsafeBufferPointer(start: values + k * run, count: run))
            }
            let (done, last) = lock.locked { () -> (Int, Bool) in
                written += plan.inner * run * elementSize
                slabsLeft[job.entry] -= 1
                return (written, slabsLeft[job.entry] == 0)
            }
            if last { checkpoint.release(entry) }
            progress?(done, total)
        }
    }

    /// Checks the CRC-32 of every zip record the conversion reads, on a thread of its own, so
    /// it runs while the output file is being laid out.
    final class RecordCheck: @unchecked Sendable {
        private var thread: WorkerThread?
        private var failure: Error?

        init(checkpoint: Checkpoint, graph: Graph, report: MatchReport) {
            let entries = graph.torchEntries.compactMap { report.sourceKey[$0.name].flatMap(checkpoint.entry(named:)) }
            thread = WorkerThread { [self] in
                do { for entry in entries { try checkpoint.verifyRecord(of: entry) } } catch { failure = error }
            }
        }

        /// Waits for the check; rethrows what it found.
        func wait() throws {
            thread?.join()
            thread = nil
            if let failure { throw failure }
        }
    }

    /// A worker's scratch space, grown to the largest slab it meets.
    final class Buffer: @unchecked Sendable {
        private var pointer: UnsafeMutablePointer<Float>?
        private var capacity = 0
        func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
            if count > capacity {
                pointer?.deallocate()
                pointer = .allocate(capacity: count)
                capacity = count
            }
            return pointer!
        }
        deinit { pointer?.deallocate() }
    }

    /// A PyTorch-layout executor over the checkpoint's tensors, each read from the mapped file
    /// into the executor and its pages released at once (one copy of the model in memory).
    public static func torchExecutor(checkpoint: Checkpoint, graph: Graph, report: MatchReport) throws -> TorchExecutor {
        try TorchExecutor(graph: graph) { name, shape, dtype in
            guard let source = report.sourceKey[name], let entry = checkpoint.entry(named: source) else {
                throw ZooError(.mismatch, "\(graph.name): expected a tensor '\(name)' of shape \(shape), found none")
            }
            guard entry.shape == shape, dtype.isFloatingPoint ? entry.dtype.isFloatingPoint : entry.dtype == dtype else {
                throw ZooError(.mismatch, "\(graph.name): '\(name)': expected \(dtype.isFloatingPoint ? "a floating-point" : "an \(dtype.rawValue)") tensor of shape \(shape), found \(entry.dtype.rawValue) \(entry.shape)")
            }
            defer { checkpoint.release(entry) }
            return try checkpoint.withFloats(entry) { Array($0) }
        }
    }

    /// A Keras-layout executor over the weights of a written file, each read from the file as
    /// the executor takes it (one copy of the model in memory).
    public static func kerasExecutor(model: KerasModel, file: KerasWeightReader) throws -> KerasExecutor {
        try KerasExecutor(model: model, counts: { file.count($0.name) }) { layer, i in try file.floats(layer.name, i) }
    }

    /// The checkpoint's tensors keyed by descriptor (PyTorch) name, widened to float32, for the
    /// NCHW executor. Counters (`num_batches_tracked`) are left out; index buffers are kept as
    /// they are.
    public static func torchWeights(checkpoint: Checkpoint, graph: Graph, report: MatchReport) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for spec in graph.parameters where spec.role != .counter && out[spec.torchName] == nil {
            guard let source = report.sourceKey[spec.torchName] else { continue }
            let tensor = try checkpoint.tensor(named: source)
            out[spec.torchName] = tensor.dtype == .float32 || !tensor.dtype.isFloatingPoint ? tensor : Tensor(shape: tensor.shape, floats: try tensor.floats())
        }
        return out
    }

    /// Each computed Keras weight, keyed "layer/weight".
    static func kerasDerived(_ graph: Graph) -> [String: KerasDerived] {
        Dictionary(graph.derived.map { ("\($0.layer)/\($0.weight)", $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// A computed weight's values from the checkpoint tensors it is made of.
    static func derivedValues(_ d: KerasDerived, checkpoint: Checkpoint, report: MatchReport) throws -> [Float] {
        let sources = try d.sources.map { name -> [Float] in
            guard let source = report.sourceKey[name] else { throw ZooError(.internal, "no PyTorch tensor '\(name)' feeds Keras weight \(d.layer)/\(d.weight)") }
            return try checkpoint.tensor(named: source).floats()
        }
        do {
            return try d.values(sources)
        } catch let error as ZooError where error.kind != .internal {
            throw error.prefixed(checkpoint.path)
        }
    }
}
