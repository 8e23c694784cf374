// A module PyTorch runs only in training: GoogLeNet's `aux1`/`aux2` and Inception v3's
// `AuxLogits` classifiers, which torchvision calls only `if self.training` and whose outputs an
// eval-mode forward never returns. Its state-dict entries are matched strictly (present, with
// their exact shapes, exactly when the graph has the module) but have no Keras counterpart: the
// Keras model is the inference model, so they map to nothing (`drop`), and at inference the
// module computes nothing in either layout.
//
// - Parameters: the module's own entries, in `state_dict()` order, as its body states them.
// - PyTorch forward (eval): not called; the node has no inputs and an empty output.
// - Keras lowering: no layer.
import ZooCore
import ZooKernels

public struct TrainingOnlyOp: GraphOp, Equatable {
    public struct Entry: Equatable, Sendable {
        /// The name under the module (`conv.bn.running_mean`).
        public var suffix: String
        public var shape: [Int]
        public var dtype: DType
        public var role: ParameterRole
    }

    public var entries: [Entry]

    public var opName: String { "training_only" }

    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] {
        entries.map { node.parameter($0.suffix, $0.shape, keras: nil, .drop, role: $0.role, dtype: $0.dtype) }
    }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        FloatTensor(shape: [0], data: [])
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {}
}

extension GraphBuilder {
    /// A module that runs only in training, stated as it is written: `body` builds it on its own
    /// builder from an input of `shape` (the size the module was designed for: its entries'
    /// shapes do not depend on the input size, and it never runs here). Its entries become the
    /// state-dict entries of the module `torch`, dropped from the Keras model.
    public func trainingOnly(torch: String, input shape: [Int], _ body: (GraphBuilder, Value) -> Value) {
        let module = GraphBuilder(name: "\(name).\(torch)")
        let output = body(module, module.input("input", kind: .image, shape: shape))
        let graph: Graph
        do { graph = try module.build(outputs: [output]) } catch let error as ZooError {
            fail("training-only module '\(torch)': \(error.message)")
            return
        } catch {
            fail("training-only module '\(torch)': \(error)")
            return
        }
        let entries = graph.torchEntries.map { e in
            TrainingOnlyOp.Entry(suffix: e.name, shape: e.shape, dtype: e.dtype,
                                 role: graph.parameters.first { $0.torchName == e.name }!.role)
        }
        add(TrainingOnlyOp(entries: entries), [], module: true, torch: torch, keras: nil, shape: [0], layout: .same)
    }
}
