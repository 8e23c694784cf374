// The forward pass with Keras 3 semantics, channels last, on weights keyed by Keras layer name in
// Keras order, as they are read back from a written Keras file: HWIO Conv2D kernels, (in, out)
// Dense kernels, MultiHeadAttention kernels (d, heads, key_dim) and attention_output
// (heads, value_dim, d). It reads only the layer classes and configs, never the graph the model
// was lowered from.
import ZooCore
import ZooKernels
import ZooGraph

/// Runs a `KerasModel` the way Keras would run the functional model it describes.
///
/// Inputs are batches keyed by input layer name: images [N, H, W, C] (float), token sequences
/// [N, T] (int64, int32 or float holding integers). A `MultiHeadAttention` layer with three
/// inbound layers takes the third as its attention mask: [N, S] (a key padding mask,
/// 1 = attend) or [N, T, S]. Intermediates are keyed by layer name.
public struct KerasExecutor: Sendable {
    public let model: KerasModel
    private let steps: [Step]

    /// The layers Keras semantics are implemented for.
    public static let supportedClasses = ["InputLayer", "ZeroPadding2D", "Conv2D", "DepthwiseConv2D", "BatchNormalization", "Activation", "ReLU",
                                          "Multiply", "Concatenate", "Permute", "Cropping2D", "Rescaling", "Conv1D",
                                          "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "Add", "Flatten", "Dense",
                                          "Dropout", "Embedding", "LayerNormalization", "MultiHeadAttention", "MaxPooling1D", "Reshape",
                                          "Cropping1D", "EinsumDense", "Average", "ZeroPadding1D", "Maximum", "Dot", "GlobalMaxPooling1D"]

    /// - Parameters:
    ///   - model: the functional model (layers in an order where inbound layers come first).
    ///   - weights: each layer's weights in the layer's declared order (`KerasLayer.weights`).
    /// - Throws: `ZooError` for an unsupported class or config, a missing weight, or another shape.
    public init(model: KerasModel, weights: [String: [Tensor]]) throws {
        try self.init(model: model, counts: { weights[$0.name]?.count ?? 0 }) { layer, i in
            let (declared, tensor) = (layer.weights[i], weights[layer.name]![i])
            guard declared.shape == tensor.shape else {
                throw ZooError(.mismatch, "Keras layer '\(layer.name)' weight '\(declared.name)': expected shape \(shapeText(declared.shape)), found \(shapeText(tensor.shape))")
            }
            return try tensor.floats()
        }
    }

    /// - Parameters:
    ///   - model: the functional model (layers in an order where inbound layers come first).
    ///   - counts: how many weights the source holds for a layer (checked against the model).
    ///   - load: the values (row-major float32) of weight i of a layer; called once per weight,
    ///     so a caller can read each from a file without holding a second copy of the model.
    public init(model: KerasModel, counts: (KerasLayer) -> Int, load: (KerasLayer, Int) throws -> [Float]) throws {
        try NativeLibraries.requireBLAS()
        self.model = model
        var steps: [Step] = []
        var index: [String: Int] = [:]
        for layer in model.layers {
            let inbound = try layer.inbound.map { name -> Int in
                guard let i = index[name] else {
                    throw ZooError(.format, "Keras layer '\(layer.name)': expected inbound layer '\(name)' to come earlier, found it \(model.layer(name) == nil ? "missing" : "later")")
                }
                return i
            }
            guard layer.className == "InputLayer" || !inbound.isEmpty else {
                throw ZooError(.format, "Keras layer '\(layer.name)' (\(layer.className)): expected it to be called on at least one tensor, found none")
            }
            let given = counts(layer)
            guard given == layer.weights.count else {
                throw ZooError(.mismatch, "Keras layer '\(layer.name)': expected \(layer.weights.count) weights (\(layer.weights.map(\.name).joined(separator: ", "))), found \(given)")
            }
            var values: [[Float]] = []
            for (i, declared) in layer.weights.enumerated() {
                let v = try load(layer, i)
                guard v.count == declared.shape.reduce(1, *) else {
                    throw ZooError(.mismatch, "Keras layer '\(layer.name)' weight '\(declared.name)': expected \(declared.shape.reduce(1, *)) values (shape \(shapeText(declared.shape))), found \(v.count)")
                }
                values.append(v)
            }
            do {
                var plain = layer
                let softmax = layer.configValue("activation")?.string == "softmax"
                if softmax, let i = plain.config.firstIndex(where: { $0.0 == "activation" }) { plain.config[i].1 = .string("linear") }
                steps.append(Step(name: layer.name, op: try Op(plain), inbound: inbound, weights: values, softmax: softmax))
            } catch let error as ZooError {
                throw error.prefixed("Keras layer '\(layer.name)' (\(layer.className))")
            }
            index[layer.name] = steps.count - 1
        }
        for name in model.inputs + model.outputs where index[name] == nil {
            throw ZooError(.format, "Keras model \(model.name): expected a layer named '\(name)', found none")
        }
        self.steps = steps
    }

    /// One forward pass.
    /// - Parameters:
    ///   - inputs: batches by input layer name (see the type's documentation).
    ///   - recordIntermediates: keep every layer's output (costs memory; needed by `compareLayers`).
    ///   - observe: hears every layer's output as it is computed (instead of keeping them all).
    public func run(_ inputs: [String: Tensor], recordIntermediates: Bool = true,
                    observe: ((String, Tensor) -> Void)? = nil) throws -> ExecutionResult {
        let position = Dictionary(uniqueKeysWithValues: steps.enumerated().map { ($1.name, $0) })
        var consumers = [[Int]](repeating: [], count: steps.count)
        for (i, s) in steps.enumerated() { for j in s.inbound { consumers[j].append(i) } }
        let outputs = model.outputs.map { position[$0]! }
        var store = ValueStore(count: steps.count, consumers: consumers, keep: Set(outputs))
        var recorded: [(String, FloatTensor)] = []
        var batch: Int?
        var observing = Duration.zero
        let start = ContinuousClock.now
        for (i, step) in steps.enumerated() {
            var value: FloatTensor
            do {
                value = try evaluate(step, &store, inputs: inputs, batch: &batch)
                if step.softmax, let width = value.shape.last, width > 0 {
                    value.data.withUnsafeMutableBufferPointer { v in
                        for row in 0..<(v.count / width) { Elementwise.softmax(v.baseAddress! + row * width, count: width) }
                    }
                }
            } catch let error as ZooError {
                throw error.prefixed("Keras layer '\(step.name)'")
            }
            store.release(step.inbound)
            store.set(i, value)
            if recordIntermediates, !step.inbound.isEmpty { recorded.append((step.name, value)) }
            if let observe, !step.inbound.isEmpty { // not part of the forward time
                let before = ContinuousClock.now
                observe(step.name, value.tensor)
                observing += ContinuousClock.now - before
            }
        }
        let ms = elapsedMilliseconds(since: start) - milliseconds(observing)
        return ExecutionResult(outputs: outputs.map { store[$0].tensor }, intermediates: tensors(draining: &recorded), milliseconds: ms)
    }

    // MARK: - Layers

    struct Step: Sendable {
        var name: String
        var op: Op
        var inbound: [Int]
        var weights: [[Float]]
        /// The layer's `activation` is softmax (over the last axis): applied after the op.
        var softmax = false
    }

    /// Layers whose activation is a softmax (a classifier as keras.applications builds it by
    /// default): no PyTorch classifier zoo converts ends in one, so verification names them.
    public var softmaxLayers: [String] { steps.filter(\.softmax).map(\.name) }

    enum Padding: String, Sendable { case valid, same }

    enum Op: Sendable {
        case input(name: String, perSample: [Int])
        case zeroPadding(top: Int, bottom: Int, left: Int, right: Int)
        /// Of axis 1 of [N, T, C].
        case zeroPadding1D(start: Int, end: Int)
        /// Element-wise maximum of inbound values of one shape.
        case maximum
        /// Keras's `Dot(axes=1)` of [N, T, A] and [N, T, B]: Σ_t a[t, i]·b[t, j] → [N, A, B].
        case dotSteps
        case conv(filters: Int, kernel: (Int, Int), strides: (Int, Int), padding: Padding, dilation: (Int, Int), groups: Int,
                  activation: ActivationKind, useBias: Bool)
        /// Kernel (kh, kw, C, multiplier); output channel c·multiplier + j.
        case depthwise(kernel: (Int, Int), strides: (Int, Int), padding: Padding, dilation: (Int, Int), multiplier: Int,
                       activation: ActivationKind, useBias: Bool)
        case batchNorm(eps: Double, center: Bool, scale: Bool)
        case activation(ActivationKind)
        case pool(max: Bool, size: (Int, Int), strides: (Int, Int), padding: Padding)
        case globalAveragePool(keepDims: Bool)
        /// The maximum over axis 1 of [N, T, C] → [N, C] (or [N, 1, C]).
        case globalMaxPool1D(keepDims: Bool)
        case add
        case average
        case flatten
        case dense(units: Int, activation: ActivationKind, useBias: Bool)
        case identity
        case embedding(inputDim: Int, outputDim: Int)
        case layerNorm(eps: Double, center: Bool, scale: Bool)
        /// Over axis `axis` of [N, T, D] (1) or [N, W, T, D] (2, each of the W sequences on its
        /// own); `outputDim` nil: the query's size.
        case attention(heads: Int, keyDim: Int, valueDim: Int, useBias: Bool, causal: Bool, axis: Int, outputDim: Int?)
        /// `EinsumDense("abcd,de->abce", bias_axes)`: x · kernel (C, E) + bias over the trailing
        /// `biasAxes` axes of the output ([E], [T, E] or [W, T, E]); any rank of leading axes.
        case einsumLast(units: Int, biasAxes: Int?)
        case maxPool1D(size: Int, stride: Int, padding: Padding)
        /// Per-sample target shape; one entry may be −1.
        case reshape([Int])
        /// Element-wise product of the inbound values (broadcasting axes of size 1).
        case multiply
        /// Along `axis` (of the batched value: 1 is the first axis after the batch).
        case concatenate(axis: Int)
        /// Of axis 1 of [N, T, C]: `start` steps from the front, `end` from the back.
        case cropping1D(start: Int, end: Int)
        /// `EinsumDense("abc,c->abc", bias_axes="bc" or none)`: x · kernel[c] (+ bias[t, c]).
        case scaleAndTable(useBias: Bool)
        /// Keras's `dims`: output axis i (1-based, batch excluded) is input axis dims[i-1].
        case permute([Int])
        /// Of axes 1 and 2 (channels_last), or of axes 2 and 3 (channels_first).
        case cropping(top: Int, bottom: Int, left: Int, right: Int, channelsFirst: Bool)
        /// x · scale + offset, each a scalar or one value per channel (last axis).
        case rescaling(scale: [Float], offset: [Float])
        /// Over [N, T, C] with a kernel (k, C, filters); `causal` pads (k − 1)·dilation on the left.
        case conv1d(filters: Int, kernel: Int, stride: Int, causal: Bool, padding: Padding, dilation: Int, activation: ActivationKind, useBias: Bool)

        init(_ layer: KerasLayer) throws {
            let c = Config(layer)
            switch layer.className {
            case "InputLayer":
                guard let shape = (layer.configValue("batch_shape") ?? layer.configValue("batch_input_shape"))?.array, !shape.isEmpty else {
                    throw ZooError(.format, "expected config 'batch_shape', found none")
                }
                self = .input(name: layer.name, perSample: shape.dropFirst().map { $0.int ?? -1 })
            case "ZeroPadding1D":
                try c.channelsLast()
                let (start, end) = try c.pair("padding", default: (1, 1))
                guard start >= 0, end >= 0 else { throw ZooError(.format, "expected a non-negative padding, found (\(start), \(end))") }
                self = .zeroPadding1D(start: start, end: end)
            case "Maximum": self = .maximum
            case "Dot":
                if try c.bool("normalize", default: false) { throw ZooError(.mismatch, "expected Dot without normalize, found normalize true") }
                guard let axes = c.value("axes"), axes.int == 1 || axes.array?.compactMap(\.int) == [1, 1] else {
                    throw ZooError(.mismatch, "expected Dot over axis 1 of both inputs (axes 1), found \(c.value("axes")?.serialized ?? "none")")
                }
                self = .dotSteps
            case "ZeroPadding2D":
                try c.channelsLast()
                let p = try c.padding2D("padding")
                self = .zeroPadding(top: p.0, bottom: p.1, left: p.2, right: p.3)
            case "Conv2D":
                try c.channelsLast()
                self = .conv(filters: try c.int("filters"), kernel: try c.pair("kernel_size"), strides: try c.pair("strides", default: (1, 1)),
                             padding: try c.padding(), dilation: try c.pair("dilation_rate", default: (1, 1)), groups: try c.int("groups", default: 1),
                             activation: try c.activation(), useBias: try c.bool("use_bias", default: true))
            case "DepthwiseConv2D":
                try c.channelsLast()
                self = .depthwise(kernel: try c.pair("kernel_size"), strides: try c.pair("strides", default: (1, 1)), padding: try c.padding(),
                                  dilation: try c.pair("dilation_rate", default: (1, 1)), multiplier: try c.int("depth_multiplier", default: 1),
                                  activation: try c.activation(), useBias: try c.bool("use_bias", default: true))
            case "BatchNormalization":
                try c.lastAxis()
                self = .batchNorm(eps: try c.double("epsilon", default: 1e-3), center: try c.bool("center", default: true), scale: try c.bool("scale", default: true))
            case "Activation":
                self = .activation(try c.activation())
            case "ReLU":
                for key in ["negative_slope", "threshold"] {
                    if let v = layer.configValue(key), v != .null, v.double != 0 {
                        throw ZooError(.mismatch, "expected a ReLU without \(key), found \(key) = \(v.serialized)")
                    }
                }
                switch layer.configValue("max_value") {
                case nil, .null?: self = .activation(.relu)
                case let v? where v.double == 6: self = .activation(.relu6) // keras.applications' ReLU(6.)
                case let v?: throw ZooError(.mismatch, "expected a ReLU with max_value none or 6, found \(v.serialized)")
                }
            case "Conv1D":
                try c.channelsLast()
                guard try c.int("groups", default: 1) == 1 else { throw ZooError(.mismatch, "expected an ungrouped Conv1D, found groups \(try c.int("groups"))") }
                let causal = c.value("padding")?.string == "causal"
                self = .conv1d(filters: try c.int("filters"), kernel: try c.single("kernel_size"), stride: try c.single("strides", default: 1),
                               causal: causal, padding: causal ? .valid : try c.padding(), dilation: try c.single("dilation_rate", default: 1),
                               activation: try c.activation(), useBias: try c.bool("use_bias", default: true))
            case "Multiply": self = .multiply
            case "Concatenate":
                let axis = try c.int("axis", default: -1), rank = layer.outputShape.count
                guard axis == -1 || (1...max(1, rank)).contains(axis) else {
                    throw ZooError(.mismatch, "expected concatenation along an axis from 1 to \(rank) (or -1), found axis \(axis)")
                }
                self = .concatenate(axis: axis == -1 ? rank : axis)
            case "Cropping1D":
                let (start, end) = try c.pair("cropping", default: (1, 1))
                guard start >= 0, end >= 0 else { throw ZooError(.format, "expected a non-negative cropping, found (\(start), \(end))") }
                self = .cropping1D(start: start, end: end)
            case "EinsumDense":
                guard try c.activation() == .linear else { throw ZooError(.mismatch, "expected a linear EinsumDense, found activation \(c.value("activation")?.serialized ?? "")") }
                // the forms zoo writes: a scale (and table) along the last axis, or a product
                // with a (C, E) kernel on the last axis of [N, W, T, C]
                if c.value("equation")?.string == "abcd,de->abce" {
                    let axes = c.value("bias_axes")?.string ?? ""
                    guard ["", "e", "ce", "bce"].contains(axes) else { throw ZooError(.mismatch, "expected bias_axes 'e', 'ce', 'bce' or none, found '\(axes)'") }
                    guard let shape = c.value("output_shape")?.array?.compactMap(\.int), shape.count == 3, shape.allSatisfy({ $0 > 0 && $0 <= 1 << 24 }) else {
                        throw ZooError(.mismatch, "expected output_shape of three sizes, found \(c.value("output_shape")?.serialized ?? "none")")
                    }
                    self = .einsumLast(units: shape[2], biasAxes: axes.isEmpty ? nil : axes.count)
                    return
                }
                guard c.value("equation")?.string == "abc,c->abc" else {
                    throw ZooError(.mismatch, "expected EinsumDense equation 'abc,c->abc' or 'abcd,de->abce', found \(c.value("equation")?.serialized ?? "none")")
                }
                let axes = c.value("bias_axes")?.string ?? ""
                guard axes == "bc" || axes.isEmpty else { throw ZooError(.mismatch, "expected bias_axes 'bc' or none, found '\(axes)'") }
                self = .scaleAndTable(useBias: axes == "bc")
            case "Permute":
                guard let dims = layer.configValue("dims")?.array?.compactMap(\.int), dims.sorted() == Array(1...max(1, dims.count)) else {
                    throw ZooError(.format, "expected config 'dims' to be a permutation of 1…rank, found \(layer.configValue("dims")?.serialized ?? "none")")
                }
                self = .permute(dims)
            case "Cropping2D":
                let p = try c.padding2D("cropping")
                let channelsFirst = c.value("data_format")?.string == "channels_first"
                self = .cropping(top: p.0, bottom: p.1, left: p.2, right: p.3, channelsFirst: channelsFirst)
            case "Rescaling":
                func values(_ key: String, _ d: Double) throws -> [Float] {
                    guard let v = c.value(key) else { return [Float(d)] }
                    if let x = v.double { return [Float(x)] }
                    guard let a = v.array, let xs = Optional(a.compactMap(\.double)), xs.count == a.count, !xs.isEmpty else {
                        throw ZooError(.format, "expected config '\(key)' to be a number or a list of numbers, found \(v.serialized)")
                    }
                    return xs.map(Float.init)
                }
                self = .rescaling(scale: try values("scale", 1), offset: try values("offset", 0))
            case "MaxPooling2D", "AveragePooling2D":
                try c.channelsLast()
                let size = try c.pair("pool_size")
                self = .pool(max: layer.className == "MaxPooling2D", size: size, strides: try c.pair("strides", default: size), padding: try c.padding())
            case "GlobalMaxPooling1D":
                try c.channelsLast()
                self = .globalMaxPool1D(keepDims: try c.bool("keepdims", default: false))
            case "GlobalAveragePooling2D":
                try c.channelsLast()
                self = .globalAveragePool(keepDims: try c.bool("keepdims", default: false))
            case "Add": self = .add
            case "Average": self = .average
            case "Flatten":
                try c.channelsLast()
                self = .flatten
            case "Dense":
                self = .dense(units: try c.int("units"), activation: try c.activation(), useBias: try c.bool("use_bias", default: true))
            case "Dropout": self = .identity
            case "Embedding":
                // a zero mask would travel to later layers as a Keras mask and change attention
                if try c.bool("mask_zero", default: false) { throw ZooError(.mismatch, "expected mask_zero false, found true") }
                self = .embedding(inputDim: try c.int("input_dim"), outputDim: try c.int("output_dim"))
            case "LayerNormalization":
                try c.lastAxis()
                self = .layerNorm(eps: try c.double("epsilon", default: 1e-3), center: try c.bool("center", default: true), scale: try c.bool("scale", default: true))
            case "MultiHeadAttention":
                // one attention axis, the one before the features: 1 of [N, T, D] (null or [1]), or 2 of [N, W, T, D]
                var axis = 1
                if let axes = layer.configValue("attention_axes"), axes != .null {
                    guard let list = axes.array.map({ $0.compactMap(\.int) }) ?? axes.int.map({ [$0] }), list.count == 1, (1...2).contains(list[0]) else {
                        throw ZooError(.mismatch, "expected attention over one axis (attention_axes null, [1] or [2]), found \(axes.serialized)")
                    }
                    axis = list[0]
                }
                var outputDim: Int?
                if let shape = layer.configValue("output_shape"), shape != .null {
                    guard let size = shape.int ?? (shape.array?.count == 1 ? shape.array?[0].int : nil), size > 0, size <= 1 << 24 else {
                        throw ZooError(.mismatch, "expected output_shape to be one positive size, found \(shape.serialized)")
                    }
                    outputDim = size
                }
                let keyDim = try c.int("key_dim")
                let valueDim = layer.configValue("value_dim").flatMap(\.int) ?? keyDim
                let causal = layer.callOption("use_causal_mask")
                guard causal == nil || causal == .null || causal?.bool != nil else {
                    throw ZooError(.format, "expected the call's use_causal_mask to be true or false, found \(causal!.serialized.prefix(40))")
                }
                self = .attention(heads: try c.int("num_heads"), keyDim: keyDim, valueDim: valueDim, useBias: try c.bool("use_bias", default: true),
                                  causal: causal?.bool ?? false, axis: axis, outputDim: outputDim)
            case "MaxPooling1D":
                try c.channelsLast()
                let size = try c.single("pool_size")
                self = .maxPool1D(size: size, stride: try c.single("strides", default: size), padding: try c.padding())
            case "Reshape":
                guard let target = layer.configValue("target_shape")?.array, let dims = Optional(target.compactMap(\.int)), dims.count == target.count,
                      dims.filter({ $0 == -1 }).count <= 1, dims.allSatisfy({ $0 > 0 || $0 == -1 }) else {
                    throw ZooError(.format, "expected config 'target_shape' of positive integers and at most one -1, found \(layer.configValue("target_shape")?.serialized ?? "none")")
                }
                self = .reshape(dims)
            default:
                throw ZooError(.mismatch, "the layer '\(shown: layer.name)' of class '\(shown: layer.className)' is not one zoo can run (it runs \(KerasExecutor.supportedClasses.joined(separator: ", ")))")
            }
        }
    }

    /// Typed reads of a layer's config with sentences for what is wrong.
    struct Config {
        let layer: KerasLayer
        init(_ layer: KerasLayer) { self.layer = layer }

        func value(_ key: String) -> JSONValue? {
            guard let v = layer.configValue(key), v != .null else { return nil }
            return v
        }
        /// Sizes, counts and paddings from a stranger's file: far beyond any model's, and small
        /// enough that no product or sum of them overflows.
        func bounded(_ i: Int, _ key: String, _ v: JSONValue) throws -> Int {
            guard i.magnitude <= 1 << 24 else { throw wrong(key, "an integer of magnitude at most 2^24", v) }
            return i
        }
        func int(_ key: String, default d: Int? = nil) throws -> Int {
            if let v = value(key) { guard let i = v.int else { throw wrong(key, "an integer", v) }; return try bounded(i, key, v) }
            guard let d else { throw ZooError(.format, "expected config '\(key)', found none") }
            return d
        }
        func double(_ key: String, default d: Double) throws -> Double {
            guard let v = value(key) else { return d }
            guard let x = v.double else { throw wrong(key, "a number", v) }
            return x
        }
        func bool(_ key: String, default d: Bool) throws -> Bool {
            guard let v = value(key) else { return d }
            guard let b = v.bool else { throw wrong(key, "true or false", v) }
            return b
        }
        func pair(_ key: String, default d: (Int, Int)? = nil) throws -> (Int, Int) {
            guard let v = value(key) else {
                guard let d else { throw ZooError(.format, "expected config '\(key)', found none") }
                return d
            }
            if let i = v.int { let b = try bounded(i, key, v); return (b, b) }
            guard let a = v.array, a.count == 2, let x = a[0].int, let y = a[1].int else { throw wrong(key, "two integers", v) }
            return (try bounded(x, key, v), try bounded(y, key, v))
        }
        func single(_ key: String, default d: Int? = nil) throws -> Int {
            guard let v = value(key) else {
                guard let d else { throw ZooError(.format, "expected config '\(key)', found none") }
                return d
            }
            if let i = v.int { return try bounded(i, key, v) }
            guard let a = v.array, a.count == 1, let x = a[0].int else { throw wrong(key, "one integer", v) }
            return try bounded(x, key, v)
        }
        /// ZeroPadding2D's padding: an int, (h, w), or ((top, bottom), (left, right)).
        func padding2D(_ key: String) throws -> (Int, Int, Int, Int) {
            guard let v = value(key) else { return (1, 1, 1, 1) }
            if let i = v.int { let b = try bounded(i, key, v); return (b, b, b, b) }
            if let a = v.array, a.count == 2 {
                if let h = a[0].int, let w = a[1].int { let (bh, bw) = (try bounded(h, key, v), try bounded(w, key, v)); return (bh, bh, bw, bw) }
                if let h = a[0].array, let w = a[1].array, h.count == 2, w.count == 2,
                   let t = h[0].int, let b = h[1].int, let l = w[0].int, let r = w[1].int {
                    return (try bounded(t, key, v), try bounded(b, key, v), try bounded(l, key, v), try bounded(r, key, v))
                }
            }
            throw wrong(key, "an integer, two integers or two pairs", v)
        }
        func padding() throws -> Padding {
            guard let v = value("padding") else { return .valid }
            guard let s = v.string, let p = Padding(rawValue: s.lowercased()) else { throw wrong("padding", "'valid' or 'same'", v) }
            return p
        }
        func activation() throws -> ActivationKind {
            guard let v = value("activation") else { return .linear }
            guard let name = v.string, let kind = ActivationKind(kerasName: name) else {
                let known = ActivationKind.allCases.compactMap(\.kerasName).map { "'\($0)'" }.joined(separator: ", ")
                throw wrong("activation", "one of \(known)", v)
            }
            return kind
        }
        func channelsLast() throws {
            if let v = value("data_format"), v.string != "channels_last" { throw wrong("data_format", "'channels_last'", v) }
        }
        func lastAxis() throws {
            guard let v = value("axis") else { return }
            if v.int == -1 { return }
            if let a = v.array, a.count == 1, a[0].int == -1 { return }
            // a positive axis is the last one exactly when it equals the rank minus one
            let rank = layer.outputShape.count + 1
            if v.int == rank - 1 || (v.array?.count == 1 && v.array?[0].int == rank - 1) { return }
            throw wrong("axis", "the last axis (-1)", v)
        }
        private func wrong(_ key: String, _ expected: String, _ found: JSONValue) -> ZooError {
            ZooError(.format, "expected config '\(key)' to be \(expected), found \(found.serialized)")
        }
    }

    // MARK: - Evaluation

    private func evaluate(_ step: Step, _ store: inout ValueStore, inputs: [String: Tensor], batch: inout Int?) throws -> FloatTensor {
        func source(_ i: Int = 0) -> FloatTensor { store[step.inbound[i]] }
        func owned(_ i: Int = 0) -> FloatTensor { store.take(step.inbound[i]) }
        func map(_ x: FloatTensor) throws -> (n: Int, h: Int, w: Int, c: Int) {
            guard x.shape.count == 4 else { throw ZooError(.mismatch, "expected an [N, H, W, C] input, found \(shapeText(x.shape))") }
            return (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        }
        /// TensorFlow's output size and leading pad for one spatial axis.
        func spatial(_ size: Int, kernel: Int, stride: Int, dilation: Int = 1, _ padding: Padding) throws -> (out: Int, pad: Int) {
            let extent = dilation * (kernel - 1) + 1
            switch padding {
            case .valid:
                guard size >= extent else { throw ZooError(.mismatch, "expected a spatial size of at least \(extent), found \(size)") }
                return ((size - extent) / stride + 1, 0)
            case .same:
                let out = (size + stride - 1) / stride
                return (out, max((out - 1) * stride + extent - size, 0) / 2)
            }
        }
        let wt = step.weights
        switch step.op {
        case .input(let name, let perSample):
            return try checkedInput(inputs, name: name, perSample: perSample, batch: &batch)

        case .zeroPadding1D(let start, let end):
            let x = source()
            guard x.shape.count == 3 else { throw ZooError(.mismatch, "expected [N, T, C] to pad, found \(shapeText(x.shape))") }
            let (n, t, c) = (x.shape[0], x.shape[1], x.shape[2]), padded = t + start + end
            var y = FloatTensor(zeros: [n, padded, c])
            for i in 0..<n {
                for r in 0..<(t * c) { y.data[(i * padded + start) * c + r] = x.data[i * t * c + r] }
            }
            return y

        case .maximum:
            var a = owned(0)
            for i in 1..<step.inbound.count {
                let b = source(i)
                guard a.shape == b.shape else { throw ZooError(.mismatch, "expected values of one shape for Maximum, found \(shapeText(a.shape)) and \(shapeText(b.shape))") }
                for j in 0..<a.count { a.data[j] = max(a.data[j], b.data[j]) }
            }
            return a

        case .dotSteps:
            let (a, b) = (source(0), source(1))
            guard step.inbound.count == 2, a.shape.count == 3, b.shape.count == 3, a.shape[0] == b.shape[0], a.shape[1] == b.shape[1] else {
                throw ZooError(.mismatch, "expected two values [N, T, A] and [N, T, B] for Dot over axis 1, found \(shapeText(a.shape)) and \(shapeText(b.shape))")
            }
            let (n, t, p, q) = (a.shape[0], a.shape[1], a.shape[2], b.shape[2])
            var y = FloatTensor(zeros: [n, p, q])
            for i in 0..<n {
                for r in 0..<t {
                    for u in 0..<p {
                        let w = a.data[(i * t + r) * p + u]
                        for v in 0..<q { y.data[(i * p + u) * q + v] += w * b.data[(i * t + r) * q + v] }
                    }
                }
            }
            return y

        case .zeroPadding(let top, let bottom, let left, let right):
            let x = source()
            let (n, h, w, c) = try map(x)
            let oh = h + top + bottom, ow = w + left + right
            var y = FloatTensor(zeros: [n, oh, ow, c])
            x.data.withUnsafeBufferPointer { xb in
                y.data.withUnsafeMutableBufferPointer { yb in
                    Parallel.forEach(n * h, work: x.count) { row in
                        let i = row / h, r = row % h
                        (yb.baseAddress! + ((i * oh + r + top) * ow + left) * c).update(from: xb.baseAddress! + row * w * c, count: w * c)
                    }
                }
            }
            return y

        case .conv(let filters, let kernel, let strides, let padding, let dilation, let groups, let activation, let useBias):
            let x = source()
            let (n, h, w, c) = try map(x)
            guard groups > 0, c % groups == 0, filters % groups == 0 else {
                throw ZooError(.mismatch, "expected input channels and filters divisible by groups \(groups), found \(c) and \(filters)")
            }
            guard wt[0].count == kernel.0 * kernel.1 * (c / groups) * filters else {
                throw ZooError(.mismatch, "expected a kernel for \(c) input channels, found \(wt[0].count) values")
            }
            let (oh, top) = try spatial(h, kernel: kernel.0, stride: strides.0, dilation: dilation.0, padding)
            let (ow, left) = try spatial(w, kernel: kernel.1, stride: strides.1, dilation: dilation.1, padding)
            let g = ConvGeometry(batch: n, inChannels: c, inHeight: h, inWidth: w, outChannels: filters, outHeight: oh, outWidth: ow,
                                 kernelHeight: kernel.0, kernelWidth: kernel.1, strideHeight: strides.0, strideWidth: strides.1,
                                 dilationHeight: dilation.0, dilationWidth: dilation.1, padTop: top, padLeft: left, groups: groups)
            var y = FloatTensor(uninitialized: [n, oh, ow, filters])
            x.data.withUnsafeBufferPointer { xb in
                wt[0].withUnsafeBufferPointer { kb in
                    y.data.withUnsafeMutableBufferPointer { yb in
                        if useBias {
                            wt[1].withUnsafeBufferPointer { Convolution.nhwc(xb.baseAddress!, kernel: kb.baseAddress!, bias: $0.baseAddress!, g, out: yb.baseAddress!) }
                        } else {
                            Convolution.nhwc(xb.baseAddress!, kernel: kb.baseAddress!, bias: nil, g, out: yb.baseAddress!)
                        }
                    }
                }
            }
            activation.apply(&y.data)
            return y

        case .depthwise(let kernel, let strides, let padding, let dilation, let multiplier, let activation, let useBias):
            let x = source()
            let (n, h, w, c) = try map(x)
            let filters = c * multiplier
            guard multiplier > 0, wt[0].count == kernel.0 * kernel.1 * filters else {
                throw ZooError(.mismatch, "expected a depthwise kernel for \(c) channels × \(multiplier), found \(wt[0].count) values")
            }
            let (oh, top) = try spatial(h, kernel: kernel.0, stride: strides.0, dilation: dilation.0, padding)
            let (ow, left) = try spatial(w, kernel: kernel.1, stride: strides.1, dilation: dilation.1, padding)
            // (kh, kw, C, m) is the memory of a grouped HWIO kernel (kh, kw, 1, C·m) with C groups
            let g = ConvGeometry(batch: n, inChannels: c, inHeight: h, inWidth: w, outChannels: filters, outHeight: oh, outWidth: ow,
                                 kernelHeight: kernel.0, kernelWidth: kernel.1, strideHeight: strides.0, strideWidth: strides.1,
                                 dilationHeight: dilation.0, dilationWidth: dilation.1, padTop: top, padLeft: left, groups: c)
            var y = FloatTensor(uninitialized: [n, oh, ow, filters])
            x.data.withUnsafeBufferPointer { xb in
                wt[0].withUnsafeBufferPointer { kb in
                    y.data.withUnsafeMutableBufferPointer { yb in
                        if useBias {
                            wt[1].withUnsafeBufferPointer { Convolution.nhwc(xb.baseAddress!, kernel: kb.baseAddress!, bias: $0.baseAddress!, g, out: yb.baseAddress!) }
                        } else {
                            Convolution.nhwc(xb.baseAddress!, kernel: kb.baseAddress!, bias: nil, g, out: yb.baseAddress!)
                        }
                    }
                }
            }
            activation.apply(&y.data)
            return y

        case .batchNorm(let eps, let center, let scale):
            var x = owned()
            var i = 0
            let gamma = scale ? wt[i] : nil; if scale { i += 1 }
            let beta = center ? wt[i] : nil; if center { i += 1 }
            let mean = wt[i], variance = wt[i + 1]
            guard x.shape.last == mean.count else { throw ZooError(.mismatch, "expected \(mean.count) channels last, found \(shapeText(x.shape))") }
            let t = Elementwise.batchNormTerms(gamma: gamma, beta: beta, mean: mean, variance: variance, eps: eps)
            Elementwise.scaleShift(&x.data, scale: t.scale, shift: t.shift, inner: 1)
            return x

        case .activation(let a):
            var x = owned()
            a.apply(&x.data)
            return x

        case .pool(let isMax, let size, let strides, let padding):
            let x = source()
            let (n, h, w, c) = try map(x)
            let (oh, top) = try spatial(h, kernel: size.0, stride: strides.0, padding)
            let (ow, left) = try spatial(w, kernel: size.1, stride: strides.1, padding)
            let g = PoolGeometry(batch: n, channels: c, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, kernelHeight: size.0,
                                 kernelWidth: size.1, strideHeight: strides.0, strideWidth: strides.1, padTop: top, padLeft: left)
            var y = FloatTensor(uninitialized: [n, oh, ow, c])
            x.data.withUnsafeBufferPointer { xb in
                y.data.withUnsafeMutableBufferPointer { Pooling.nhwc(xb.baseAddress!, g, isMax ? .max : .average(countPadding: false), out: $0.baseAddress!) }
            }
            return y

        case .globalAveragePool(let keepDims):
            let x = source()
            let (n, h, w, c) = try map(x)
            var y = FloatTensor(uninitialized: keepDims ? [n, 1, 1, c] : [n, c])
            x.data.withUnsafeBufferPointer { xb in
                y.data.withUnsafeMutableBufferPointer { Pooling.globalAverageNHWC(xb.baseAddress!, batch: n, channels: c, plane: h * w, out: $0.baseAddress!) }
            }
            return y

        case .globalMaxPool1D(let keepDims):
            let x = source()
            guard x.shape.count == 3, x.shape[1] > 0 else { throw ZooError(.mismatch, "expected [N, T, C] with T ≥ 1 to pool, found \(shapeText(x.shape))") }
            let (n, t, c) = (x.shape[0], x.shape[1], x.shape[2])
            var y = FloatTensor(uninitialized: keepDims ? [n, 1, c] : [n, c])
            for i in 0..<n {
                for j in 0..<c {
                    var m = x.data[i * t * c + j]
                    for r in 1..<max(t, 1) { let v = x.data[(i * t + r) * c + j]; if v > m || v.isNaN { m = v } }
                    y.data[i * c + j] = m
                }
            }
            return y

        case .add, .average:
            // Keras's Average: the sum in order, then divided by the count
            let others = (1..<step.inbound.count).map { source($0) }
            var a = owned(0)
            for b in others {
                if a.shape == b.shape { Elementwise.add(&a.data, b.data) } else { a = try broadcasting(a, b, "add", +) }
            }
            if case .average = step.op {
                let n = Float(step.inbound.count)
                for i in a.data.indices { a.data[i] /= n }
            }
            return a

        case .flatten:
            var x = owned()
            x.shape = [x.shape[0], x.shape.dropFirst().reduce(1, *)]
            return x

        case .dense(let units, let activation, let useBias):
            let x = source()
            guard let inFeatures = x.shape.last, x.shape.count >= 2, wt[0].count == inFeatures * units else {
                throw ZooError(.mismatch, "expected inputs whose last axis fits the kernel (\(wt[0].count / max(units, 1)) features), found \(shapeText(x.shape))")
            }
            var y = FloatTensor(shape: Array(x.shape.dropLast()) + [units],
                                data: Dense.dense(x.data, rows: x.count / inFeatures, kernel: wt[0], bias: useBias ? wt[1] : nil,
                                                  inFeatures: inFeatures, outFeatures: units))
            activation.apply(&y.data)
            return y

        case .identity:
            return owned()

        case .reshape(let target):
            var x = owned()
            let perSample = x.shape.dropFirst().reduce(1, *)
            // a stranger's target may multiply past Int: anything above the sample's size is wrong anyway
            var known = 1
            for d in target where d > 0 {
                let (p, overflow) = known.multipliedReportingOverflow(by: d)
                guard !overflow, p <= max(perSample, 1) else {
                    throw ZooError(.mismatch, "expected \(perSample) values per sample to fit target shape \(shapeText(target)), found they do not")
                }
                known = p
            }
            let resolved = target.map { $0 == -1 ? (known > 0 ? perSample / known : 0) : $0 }
            guard resolved.reduce(1, *) == perSample else {
                throw ZooError(.mismatch, "expected \(perSample) values per sample to fit target shape \(shapeText(target)), found they do not")
            }
            x.shape = [x.shape[0]] + resolved
            return x

        case .embedding(let inputDim, let outputDim):
            let ids = source()
            return FloatTensor(shape: ids.shape + [outputDim],
                               data: try Dense.embedding(ids.data, table: wt[0], count: inputDim, width: outputDim, layer: step.name))

        case .layerNorm(let eps, let center, let scale):
            var x = owned()
            var i = 0
            let gamma = scale ? wt[i] : nil; if scale { i += 1 }
            let beta = center ? wt[i] : nil
            let width = x.shape.last ?? 0
            if let g = gamma, g.count != width { throw ZooError(.mismatch, "expected a last axis of \(g.count), found \(shapeText(x.shape))") }
            Elementwise.layerNorm(&x.data, width: width, gamma: gamma, beta: beta, eps: eps)
            return x

        case .attention(let heads, let keyDim, let valueDim, let useBias, let causal, let axis, let outputDim):
            var query = source(0), value = step.inbound.count > 1 ? source(1) : source(0)
            let outer = query.shape.dropLast(2)
            if axis == 2 {
                // [N, W, T, D]: each of the N·W sequences attends on its own
                guard query.shape.count == 4, value.shape.count == 4, query.shape.prefix(2) == value.shape.prefix(2) else {
                    throw ZooError(.mismatch, "expected query and value [N, W, T, D] for attention over axis 2, found \(shapeText(query.shape)) and \(shapeText(value.shape))")
                }
                guard step.inbound.count == 2, !causal else { throw ZooError(.mismatch, "expected no mask for attention over axis 2, found one") }
                query.shape = [query.shape[0] * query.shape[1]] + query.shape.suffix(2)
                value.shape = [value.shape[0] * value.shape[1]] + value.shape.suffix(2)
            }
            guard query.shape.count == 3, value.shape.count == 3, query.shape[0] == value.shape[0] else {
                throw ZooError(.mismatch, "expected query and value [N, T, D], found \(shapeText(query.shape)) and \(shapeText(value.shape))")
            }
            let (n, t) = (query.shape[0], query.shape[1]), d = outputDim ?? query.shape[2], dq = query.shape[2]
            let (s, dv) = (value.shape[1], value.shape[2])
            guard s == t else { throw ZooError(.mismatch, "expected self-attention (query and value of equal length), found \(t) and \(s)") }
            // weights: query/kernel (d, H, k), query/bias (H, k), key/…, value/kernel (dv, H, v), value/bias, attention_output/kernel (H, v, d), bias (d)
            let stride = useBias ? 2 : 1
            let qk = wt[0], kk = wt[stride], vk = wt[2 * stride], ok = wt[3 * stride]
            guard qk.count == dq * heads * keyDim, kk.count == dv * heads * keyDim, vk.count == dv * heads * valueDim, ok.count == heads * valueDim * d else {
                throw ZooError(.mismatch, "expected kernels for hidden size \(dq), \(heads) heads of \(keyDim), found other sizes")
            }
            var keep: [Bool]?
            if step.inbound.count > 2 {
                let mask = source(2)
                if mask.shape == [n, s] || mask.shape == [n, 1, s] {
                    keep = mask.data.map { $0 > 0.5 }
                } else if mask.shape == [n, t, s] {
                    // a full mask: attend per (query, key); run row by row through a [N·T] key mask
                    return try fullMaskAttention(query: query, value: value, mask: mask, heads: heads, keyDim: keyDim, valueDim: valueDim, useBias: useBias,
                                                 causal: causal, outputDim: d, wt: wt)
                } else {
                    throw ZooError(.mismatch, "expected an attention mask [\(n), \(s)], [\(n), 1, \(s)] or [\(n), \(t), \(s)], found \(shapeText(mask.shape))")
                }
            }
            let (q, k, v) = projections(query: query, value: value, heads: heads, keyDim: keyDim, valueDim: valueDim, useBias: useBias, wt: wt)
            let context = Attention.scaledDotProduct(q: q, k: k, v: v, batch: n, steps: t, heads: heads, keyDim: keyDim, valueDim: valueDim,
                                                     keep: keep, maskedScore: -0.7 * Float.greatestFiniteMagnitude, causal: causal)
            return FloatTensor(shape: Array(outer) + [t, d], data: Dense.dense(context, rows: n * t, kernel: ok, bias: useBias ? wt[3 * stride + 1] : nil,
                                                                               inFeatures: heads * valueDim, outFeatures: d))

        case .einsumLast(let units, let biasAxes):
            let x = source()
            guard let c = x.shape.last, x.shape.count >= 2, wt[0].count == c * units else {
                throw ZooError(.mismatch, "expected a value whose last axis fits the kernel (\(wt[0].count / max(units, 1)) features), found \(shapeText(x.shape))")
            }
            let shape = Array(x.shape.dropLast()) + [units]
            var y = FloatTensor(shape: shape, data: Dense.dense(x.data, rows: x.count / c, kernel: wt[0], bias: nil, inFeatures: c, outFeatures: units))
            if let axes = biasAxes {
                // the bias spans the output's last `axes` axes and repeats over the ones before
                let span = shape.suffix(axes).reduce(1, *)
                guard axes < shape.count, wt[1].count == span else {
                    throw ZooError(.mismatch, "expected a bias of \(span) values over the last \(axes) axes of \(shapeText(shape)), found \(wt[1].count)")
                }
                let bias = wt[1]
                y.data.withUnsafeMutableBufferPointer { yb in for i in 0..<yb.count { yb[i] += bias[i % span] } }
            }
            return y

        case .multiply:
            let others = (1..<step.inbound.count).map { source($0) }
            var a = owned(0)
            for b in others {
                if a.shape == b.shape {
                    Elementwise.multiply(&a.data, b.data)
                } else if a.shape.count == 4, b.shape == [a.shape[0], 1, 1, a.shape[3]] {
                    // a gate per sample and channel, broadcast over H·W (channels last)
                    let (n, plane, c) = (a.shape[0], a.shape[1] * a.shape[2], a.shape[3])
                    let total = a.count
                    a.data.withUnsafeMutableBufferPointer { ab in
                        b.data.withUnsafeBufferPointer { bb in
                            Parallel.forEach(n * plane, work: total) { p in
                                let row = ab.baseAddress! + p * c, gate = bb.baseAddress! + (p / plane) * c
                                for j in 0..<c { row[j] *= gate[j] }
                            }
                        }
                    }
                } else {
                    a = try broadcasting(a, b, "multiply", *)
                }
            }
            return a

        case .concatenate(let axis):
            let parts = (0..<step.inbound.count).map { source($0) }
            let first = parts[0].shape
            guard axis < first.count else { throw ZooError(.mismatch, "expected values of rank above \(axis) to concatenate along axis \(axis), found \(shapeText(first))") }
            func others(_ s: [Int]) -> [Int] { Array(s[..<axis]) + Array(s[(axis + 1)...]) }
            for p in parts where p.shape.count != first.count || others(p.shape) != others(first) {
                throw ZooError(.mismatch, "expected values that differ only in axis \(axis) to concatenate, found \(shapeText(first)) and \(shapeText(p.shape))")
            }
            // each part is `rows` blocks, one per index of the axes before `axis`
            let rows = first[..<axis].reduce(1, *)
            let widths = parts.map { $0.shape[axis...].reduce(1, *) }, total = widths.reduce(0, +)
            var shape = first
            shape[axis] = parts.map { $0.shape[axis] }.reduce(0, +)
            var y = FloatTensor(uninitialized: shape)
            y.data.withUnsafeMutableBufferPointer { yb in
                var offset = 0
                for (p, width) in zip(parts, widths) {
                    p.data.withUnsafeBufferPointer { pb in
                        let from = pb.baseAddress!, to = yb.baseAddress! + offset
                        Parallel.forEach(rows, work: rows * width) { r in (to + r * total).update(from: from + r * width, count: width) }
                    }
                    offset += width
                }
            }
            return y

        case .cropping1D(let start, let end):
            let x = source()
            guard x.shape.count == 3, start + end < x.shape[1] else {
                throw ZooError(.mismatch, "expected a value [N, T, C] longer than the cropping (\(start), \(end)), found \(shapeText(x.shape))")
            }
            let (n, t, c) = (x.shape[0], x.shape[1], x.shape[2]), kept = t - start - end
            var y = FloatTensor(uninitialized: [n, kept, c])
            x.data.withUnsafeBufferPointer { xb in
                y.data.withUnsafeMutableBufferPointer { yb in
                    for i in 0..<n { (yb.baseAddress! + i * kept * c).update(from: xb.baseAddress! + (i * t + start) * c, count: kept * c) }
                }
            }
            return y

        case .scaleAndTable(let useBias):
            var x = owned()
            let c = x.shape.last ?? 0, perSample = x.shape.dropFirst().reduce(1, *)
            guard x.shape.count >= 2, wt[0].count == c, !useBias || wt[1].count == perSample else {
                throw ZooError(.mismatch, "expected a value whose last axis fits the kernel (\(wt[0].count)) and whose sample fits the bias (\(useBias ? wt[1].count : 0) values), found \(shapeText(x.shape))")
            }
            let kernel = wt[0], bias = useBias ? wt[1] : []
            x.data.withUnsafeMutableBufferPointer { xb in
                for i in 0..<xb.count {
                    let v = xb[i] * kernel[i % c]
                    xb[i] = useBias ? v + bias[i % perSample] : v
                }
            }
            return x

        case .permute(let dims):
            let x = source()
            guard dims.count == x.shape.count - 1 else { throw ZooError(.mismatch, "expected a value of rank \(dims.count + 1) to permute, found \(shapeText(x.shape))") }
            let order = [0] + dims
            let shape = order.map { x.shape[$0] }
            return FloatTensor(shape: shape, data: ZooGraph.permute(x.data, shape: x.shape, order: order))

        case .cropping(let top, let bottom, let left, let right, let channelsFirst):
            let x = source()
            guard x.shape.count == 4 else { throw ZooError(.mismatch, "expected a 4-D value to crop, found \(shapeText(x.shape))") }
            // the two cropped axes, and the one kept whole beside them
            let (a1, a2) = channelsFirst ? (2, 3) : (1, 2)
            let s = x.shape
            guard top + bottom < s[a1], left + right < s[a2] else {
                throw ZooError(.mismatch, "expected a value larger than the cropping, found \(shapeText(s))")
            }
            var out = s
            out[a1] -= top + bottom
            out[a2] -= left + right
            var y = FloatTensor(uninitialized: out)
            let inner = channelsFirst ? 1 : s[3] // elements per step of axis a2
            let rowsOut = out[0] * (channelsFirst ? s[1] : 1)
            let total = y.count
            x.data.withUnsafeBufferPointer { xb in
                y.data.withUnsafeMutableBufferPointer { yb in
                    Parallel.forEach(rowsOut * out[a1], work: total) { r in
                        let outer = r / out[a1], i = r % out[a1] + top
                        let from = xb.baseAddress! + ((outer * s[a1] + i) * s[a2] + left) * inner
                        let to = yb.baseAddress! + r * out[a2] * inner
                        to.update(from: from, count: out[a2] * inner)
                    }
                }
            }
            return y

        case .conv1d(let filters, let kernel, let stride, let causal, let padding, let dilation, let activation, let useBias):
            let x = source()
            guard x.shape.count == 3 else { throw ZooError(.mismatch, "expected [N, T, C] for Conv1D, found \(shapeText(x.shape))") }
            let (n, t, c) = (x.shape[0], x.shape[1], x.shape[2])
            guard wt[0].count == kernel * c * filters else { throw ZooError(.mismatch, "expected a Conv1D kernel for \(c) channels, found \(wt[0].count) values") }
            let left: Int, out: Int
            if causal {
                (left, out) = ((kernel - 1) * dilation, (t - 1) / stride + 1)
            } else {
                let (o, p) = try spatial(t, kernel: kernel, stride: stride, dilation: dilation, padding)
                (left, out) = (p, o)
            }
            var y = [Float](repeating: 0, count: n * out * filters)
            let k = wt[0], b = useBias ? wt[1] : nil
            for i in 0..<n {
                for o in 0..<out {
                    for f in 0..<filters {
                        var sum: Float = b?[f] ?? 0
                        for tap in 0..<kernel {
                            let s = o * stride - left + tap * dilation
                            guard s >= 0 && s < t else { continue }
                            for ch in 0..<c { sum += k[(tap * c + ch) * filters + f] * x.data[(i * t + s) * c + ch] }
                        }
                        y[(i * out + o) * filters + f] = sum
                    }
                }
            }
            activation.apply(&y)
            return FloatTensor(shape: [n, out, filters], data: y)

        case .rescaling(let scale, let offset):
            var x = owned()
            let c = x.shape.last ?? 1
            guard (scale.count == 1 || scale.count == c), (offset.count == 1 || offset.count == c) else {
                throw ZooError(.mismatch, "expected a scale and offset per channel (\(c)) or one each, found \(scale.count) and \(offset.count)")
            }
            let a = scale.count == 1 ? [Float](repeating: scale[0], count: c) : scale
            let b = offset.count == 1 ? [Float](repeating: offset[0], count: c) : offset
            Elementwise.scaleShift(&x.data, scale: a, shift: b, inner: 1)
            return x

        case .maxPool1D(let size, let stride, let padding):
            let x = source()
            guard x.shape.count == 3 else { throw ZooError(.mismatch, "expected [N, T, C], found \(shapeText(x.shape))") }
            let (n, t, c) = (x.shape[0], x.shape[1], x.shape[2])
            let (out, left) = try spatial(t, kernel: size, stride: stride, padding)
            var y = FloatTensor(uninitialized: [n, out, c])
            x.data.withUnsafeBufferPointer { xb in
                y.data.withUnsafeMutableBufferPointer {
                    Pooling.max1D(xb.baseAddress!, batch: n, steps: t, channels: c, outSteps: out, pool: size, stride: stride, padLeft: left, out: $0.baseAddress!)
                }
            }
            return y
        }
    }

    /// Query from `query`, key and value from `value`, each [N·T, heads·dim].
    private func projections(query: FloatTensor, value: FloatTensor, heads: Int, keyDim: Int, valueDim: Int, useBias: Bool,
                             wt: [[Float]]) -> ([Float], [Float], [Float]) {
        let stride = useBias ? 2 : 1
        let (d, dv) = (query.shape[2], value.shape[2])
        let rows = query.shape[0] * query.shape[1], valueRows = value.shape[0] * value.shape[1]
        let q = Dense.dense(query.data, rows: rows, kernel: wt[0], bias: useBias ? wt[1] : nil, inFeatures: d, outFeatures: heads * keyDim)
        let k = Dense.dense(value.data, rows: valueRows, kernel: wt[stride], bias: useBias ? wt[stride + 1] : nil, inFeatures: dv, outFeatures: heads * keyDim)
        let v = Dense.dense(value.data, rows: valueRows, kernel: wt[2 * stride], bias: useBias ? wt[2 * stride + 1] : nil, inFeatures: dv, outFeatures: heads * valueDim)
        return (q, k, v)
    }

    /// `a ∘ b` with Keras's broadcasting of merge layers: equal ranks, each axis equal or 1 in one.
    private func broadcasting(_ a: FloatTensor, _ b: FloatTensor, _ what: String, _ f: (Float, Float) -> Float) throws -> FloatTensor {
        guard a.shape.count == b.shape.count, zip(a.shape, b.shape).allSatisfy({ $0 == $1 || $0 == 1 || $1 == 1 }) else {
            throw ZooError(.mismatch, "expected shapes that broadcast to \(what), found \(shapeText(a.shape)) and \(shapeText(b.shape))")
        }
        let shape = zip(a.shape, b.shape).map { max($0, $1) }, rank = shape.count
        func strides(_ s: [Int]) -> [Int] {
            var out = [Int](repeating: 0, count: rank), step = 1
            for d in stride(from: rank - 1, through: 0, by: -1) { out[d] = s[d] == 1 ? 0 : step; step *= s[d] }
            return out
        }
        let (sa, sb) = (strides(a.shape), strides(b.shape))
        var y = FloatTensor(uninitialized: shape)
        var index = [Int](repeating: 0, count: rank)
        for i in 0..<y.count {
            var (ia, ib) = (0, 0)
            for d in 0..<rank { ia += index[d] * sa[d]; ib += index[d] * sb[d] }
            y.data[i] = f(a.data[ia], b.data[ib])
            var d = rank - 1
            while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
        }
        return y
    }

    /// Attention under a [N, T, S] mask: each query row is its own batch of one step whose keys
    /// are masked by that row.
    private func fullMaskAttention(query: FloatTensor, value: FloatTensor, mask: FloatTensor, heads: Int, keyDim: Int, valueDim: Int,
                                   useBias: Bool, causal: Bool, outputDim d: Int, wt: [[Float]]) throws -> FloatTensor {
        let (n, t) = (query.shape[0], query.shape[1])
        let (q, k, v) = projections(query: query, value: value, heads: heads, keyDim: keyDim, valueDim: valueDim, useBias: useBias, wt: wt)
        var context = [Float](repeating: 0, count: n * t * heads * valueDim)
        let scale = 1 / Float(keyDim).squareRoot()
        for i in 0..<n {
            for h in 0..<heads {
                for r in 0..<t {
                    var scores = [Float](repeating: 0, count: t)
                    for u in 0..<t {
                        var dot: Float = 0
                        for j in 0..<keyDim { dot += q[(i * t + r) * heads * keyDim + h * keyDim + j] * k[(i * t + u) * heads * keyDim + h * keyDim + j] }
                        scores[u] = mask.data[(i * t + r) * t + u] > 0.5 && (!causal || u <= r) ? dot * scale : -0.7 * Float.greatestFiniteMagnitude
                    }
                    scores.withUnsafeMutableBufferPointer { Elementwise.softmax($0.baseAddress!, count: t) }
                    for j in 0..<valueDim {
                        var acc: Float = 0
                        for u in 0..<t { acc += scores[u] * v[(i * t + u) * heads * valueDim + h * valueDim + j] }
                        context[(i * t + r) * heads * valueDim + h * valueDim + j] = acc
                    }
                }
            }
        }
        let stride = useBias ? 2 : 1
        return FloatTensor(shape: [n, t, d], data: Dense.dense(context, rows: n * t, kernel: wt[3 * stride], bias: useBias ? wt[3 * stride + 1] : nil,
                                                              inFeatures: heads * valueDim, outFeatures: d))
    }
}
