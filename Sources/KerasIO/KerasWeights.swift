import ZooCore
import ZooGraph

/// The weights of a Keras model: for each layer name, its weights in Keras order (the order of
/// `KerasLayer.weights`, which is Keras's `layer.weights`: trainable, then non-trainable), as
/// float32 tensors in Keras layout. Layers without weights may be absent. The same shape the
/// weight builder produces and the NHWC executor consumes.
public typealias KerasWeights = [String: [Tensor]]

extension Dictionary where Key == String, Value == [Tensor] {
    /// Checks that these weights are exactly what `model` declares: every layer with weights
    /// present with the right count and shapes, no weights for unknown or weightless layers, and
    /// floating-point values. Returns them as float32.
    func validated(for model: KerasModel) throws -> KerasWeights {
        let known = Set(model.layers.map(\.name))
        if let stray = keys.sorted().first(where: { !known.contains($0) && !(self[$0]?.isEmpty ?? true) }) {
            throw ZooError(.mismatch, "expected weights only for layers of the model '\(model.name)', found weights for '\(stray)', which it does not have")
        }
        var out: KerasWeights = [:]
        for layer in model.layers {
            let given = self[layer.name] ?? []
            guard given.count == layer.weights.count else {
                let expected = layer.weights.map { "\($0.name) \($0.shape)" }.joined(separator: ", ")
                throw ZooError(.mismatch, "expected \(layer.weights.count) weights for the layer '\(layer.name)'\(expected.isEmpty ? "" : " (\(expected))"), found \(given.count)")
            }
            var converted: [Tensor] = []
            for (spec, tensor) in zip(layer.weights, given) {
                guard tensor.shape == spec.shape else {
                    throw ZooError(.mismatch, "expected shape \(spec.shape) for '\(layer.name)/\(spec.name)', found \(tensor.shape)")
                }
                guard tensor.dtype.isFloatingPoint else {
                    throw ZooError(.mismatch, "expected floating-point values for '\(layer.name)/\(spec.name)', found \(tensor.dtype.rawValue)")
                }
                converted.append(tensor.dtype == .float32 ? tensor : Tensor(shape: tensor.shape, floats: try tensor.floats()))
            }
            if !converted.isEmpty { out[layer.name] = converted }
        }
        return out
    }
}
