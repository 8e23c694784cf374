import TorchIO
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
        var specs: [String: ParameterSpec] = [:]
        for p in graph.parameters {
            if let layer = p.kerasLayer, let weight = p.kerasWeight { specs["\(layer)/\(weight)"] = p }
        }
        var out: [String: [Tensor]] = [:]
        // A fused in_proj feeds three Keras weights; keep it until its layer is done.
        var cache: [String: [Float]] = [:]
        let weighted = model.layers.filter { !$0.weights.isEmpty }
        for (index, layer) in weighted.enumerated() {
            var tensors: [Tensor] = []
            for weight in layer.weights {
                guard let spec = specs["\(layer.name)/\(weight.name)"], let source = report.sourceKey[spec.torchName] else {
                    throw ZooError(.mismatch, "internal: no PyTorch tensor feeds Keras weight \(layer.name)/\(weight.name)")
                }
                let floats: [Float]
                if let cached = cache[source] {
                    floats = cached
                } else {
                    let tensor = try checkpoint.tensor(named: source)
                    guard tensor.dtype.isFloatingPoint else {
                        throw ZooError(.mismatch, "\(checkpoint.path): expected a floating-point tensor for '\(source)', found \(tensor.dtype.rawValue)")
                    }
                    floats = try tensor.floats()
                    if case .slice = spec.transform { cache[source] = floats }
                }
                let transformed = spec.transform.apply(floats, shape: spec.torchShape)
                guard let shape = spec.kerasShape, shape == weight.shape, transformed.count == shape.reduce(1, *) else {
                    throw ZooError(.mismatch, "internal: \(layer.name)/\(weight.name) expected shape \(weight.shape), transform gave \(spec.kerasShape ?? [])")
                }
                tensors.append(Tensor(shape: shape, floats: transformed))
            }
            out[layer.name] = tensors
            cache.removeAll(keepingCapacity: true)
            progress?(index + 1, weighted.count)
        }
        return out
    }

    /// The checkpoint's tensors keyed by descriptor (PyTorch) name, widened to float32, for the
    /// NCHW executor. Integer buffers (`num_batches_tracked`) are left out.
    public static func torchWeights(checkpoint: Checkpoint, graph: Graph, report: MatchReport) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for entry in graph.torchEntries where entry.dtype.isFloatingPoint {
            guard let source = report.sourceKey[entry.name] else { continue }
            let tensor = try checkpoint.tensor(named: source)
            out[entry.name] = tensor.dtype == .float32 ? tensor : Tensor(shape: tensor.shape, floats: try tensor.floats())
        }
        return out
    }
}
