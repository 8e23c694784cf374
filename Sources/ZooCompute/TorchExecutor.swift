// The forward pass with PyTorch semantics, NCHW, on weights keyed by state-dict name exactly as a
// checkpoint holds them (OIHW convs, (out, in) Linear, BatchNorm running statistics, separate
// q/k/v Linears or nn.MultiheadAttention's packed in_proj). It names its own parameters from the
// module paths and never looks at the Keras side of the mapping.
import ZooCore
import ZooKernels
import ZooGraph

/// Runs a `Graph` the way PyTorch would run the module it describes.
///
/// Inputs are batches keyed by the graph's input names: images [N, C, H, W] (float), token
/// sequences [N, T] (int64, int32 or float holding integers; an attention mask is 1 = attend,
/// 0 = padding). Intermediates are keyed by each node's Keras name.
public struct TorchExecutor: Sendable {
    public let graph: Graph
    private let weights: TorchWeights

    /// - Parameters:
    ///   - graph: the network.
    ///   - weights: state-dict tensors by name, any floating dtype (widened to float32). Extra
    ///     entries are ignored; missing ones and other shapes are errors.
    /// - Throws: `ZooError` naming the first missing tensor or shape that differs.
    public init(graph: Graph, weights: [String: Tensor]) throws {
        try self.init(graph: graph) { name, shape, dtype in
            guard let tensor = weights[name] else {
                throw ZooError(.mismatch, "\(graph.name): expected a tensor '\(name)' of shape \(shapeText(shape)), found none")
            }
            guard tensor.shape == shape else {
                throw ZooError(.mismatch, "\(graph.name): '\(name)': expected shape \(shapeText(shape)), found \(shapeText(tensor.shape))")
            }
            guard dtype.isFloatingPoint ? tensor.dtype.isFloatingPoint : tensor.dtype == dtype else {
                throw ZooError(.mismatch, "\(graph.name): '\(name)': expected \(dtype.isFloatingPoint ? "a floating-point tensor" : "an \(dtype.rawValue) tensor"), found \(tensor.dtype.rawValue)")
            }
            return try tensor.floats()
        }
    }

    /// - Parameters:
    ///   - graph: the network.
    ///   - load: the values of one state-dict tensor (row-major float32), given its name and the
    ///     shape and dtype the graph expects (an integer buffer such as Swin's position index is
    ///     read as floats too); called once per tensor, so a caller can read each straight
    ///     from a checkpoint without holding a second copy of the model.
    public init(graph: Graph, load: (String, [Int], DType) throws -> [Float]) throws {
        try NativeLibraries.requireBLAS()
        self.graph = graph
        var loaded: [String: [Float]] = [:]
        for spec in graph.parameters where spec.role != .counter && loaded[spec.torchName] == nil {
            let values = try load(spec.torchName, spec.torchShape, spec.torchDType)
            guard values.count == spec.torchShape.reduce(1, *) else {
                throw ZooError(.mismatch, "\(graph.name): '\(spec.torchName)': expected \(spec.torchShape.reduce(1, *)) values (shape \(shapeText(spec.torchShape))), found \(values.count)")
            }
            loaded[spec.torchName] = values
        }
        self.weights = TorchWeights(loaded)
    }

    /// One forward pass.
    /// - Parameters:
    ///   - inputs: batches by input name (see the type's documentation).
    ///   - recordIntermediates: keep every node's output (costs memory; needed by `compareLayers`).
    public func run(_ inputs: [String: Tensor], recordIntermediates: Bool = true) throws -> ExecutionResult {
        var consumers = [[Int]](repeating: [], count: graph.nodes.count)
        for node in graph.nodes { for i in node.inputs { consumers[i].append(node.id) } }
        var store = ValueStore(count: graph.nodes.count, consumers: consumers, keep: Set(graph.outputs))
        var recorded: [(String, FloatTensor)] = []
        var batch: Int?
        let start = ContinuousClock.now
        for node in graph.nodes {
            let value: FloatTensor
            do {
                if let spec = node.as(InputSpec.self) {
                    value = try checkedInput(inputs, name: spec.name, perSample: spec.shape, batch: &batch)
                } else {
                    var values = TorchInputs(node.inputs.map { store.take($0) })
                    value = try node.op.torchForward(&values, weights, node)
                }
            } catch let error as ZooError {
                throw error.prefixed("\(graph.name), node '\(node.torchPath.isEmpty ? node.kerasName : node.torchPath)'")
            }
            store.release(node.inputs)
            store.set(node.id, value)
            if recordIntermediates && !node.inputs.isEmpty { recorded.append((node.kerasName, value)) }
        }
        let ms = elapsedMilliseconds(since: start)
        let layouts = Dictionary(graph.nodes.map { ($0.kerasName, $0.layout) }, uniquingKeysWith: { a, _ in a })
        return ExecutionResult(outputs: graph.outputs.map { store[$0].tensor }, intermediates: tensors(draining: &recorded),
                               milliseconds: ms, layouts: layouts)
    }
}
