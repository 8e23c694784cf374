import ZooCore
import ZooGraph

/// The functional model exactly as the files describe it: the `KerasModel`'s layers, plus the
/// core layers real Keras needs to load and run it, in Keras's own `model.layers` order.
///
/// Two adjustments, both invisible to the function computed:
/// - a MultiHeadAttention whose third inbound is a `[T]` padding mask gets it through a
///   `Reshape((1, -1))` layer as its `attention_mask` keyword (`[batch, 1, T]` broadcasts over
///   queries and masks keys, as BERT does); Keras serializes keyword tensors and `load_model`
///   restores them (checked against NumPy in transformer_layout.txt);
/// - a Flatten whose input has a dynamic axis (BERT's first-token pool) becomes a Reshape to its
///   static output shape: Keras infers `(None, None)` for such a Flatten and the Dense after it
///   then cannot be built on load.
struct SavedModel {
    /// A positional argument of a layer call: one tensor, or a list of them (Add).
    enum Argument {
        case tensor(String)
        case list([String])
    }

    /// A keyword argument: a tensor, or a constant Keras recorded in the call.
    enum Keyword {
        case tensor(String)
        case constant(JSONValue)
    }

    struct Layer {
        var layer: KerasLayer
        var args: [Argument]
        var kwargs: [(String, Keyword)] = []
        /// dtype of the output tensor (`int32` for token inputs and what passes them through).
        var outputDType: String = "float32"
        /// The output shape as Keras infers it when building the model (per sample, -1 where
        /// Keras has None): ZooGraph's shape, except that an axis Keras cannot know stays dynamic
        /// (a pool over a dynamic sequence axis has a dynamic length, even of 1).
        var kerasShape: [Int] = []

        var name: String { layer.name }
        var className: String { layer.className }

        /// Producers of this call's tensors in Keras's flattening order (args, then kwargs).
        var sources: [String] {
            args.flatMap { a -> [String] in
                switch a {
                case .tensor(let t): return [t]
                case .list(let ts): return ts
                }
            } + kwargs.compactMap { if case .tensor(let t) = $0.1 { return t } else { return nil } }
        }
    }

    var name: String
    var layers: [Layer]
    var inputs: [String]
    var outputs: [String]

    func layer(_ name: String) -> Layer? { layers.first { $0.name == name } }

    /// Classes whose output keeps the input's dtype (an int mask stays int through a Reshape).
    private static let dtypePreserving: Set<String> = ["Reshape", "Flatten", "Dropout", "ZeroPadding2D", "MaxPooling1D", "MaxPooling2D"]

    init(_ model: KerasModel) throws {
        name = model.name
        inputs = model.inputs
        outputs = model.outputs
        var byName: [String: KerasLayer] = [:]
        for layer in model.layers {
            guard byName.updateValue(layer, forKey: layer.name) == nil else {
                throw ZooError(.mismatch, "\(model.name): expected unique Keras layer names, found '\(layer.name)' twice")
            }
        }
        for name in model.inputs + model.outputs + model.layers.flatMap(\.inbound) where byName[name] == nil {
            throw ZooError(.mismatch, "\(model.name): expected a layer named '\(name)', found none")
        }
        var taken = Set(byName.keys)
        func unique(_ base: String) -> String {
            var candidate = base, n = 1
            while taken.contains(candidate) { candidate = "\(base)_\(n)"; n += 1 }
            taken.insert(candidate)
            return candidate
        }

        var out: [Layer] = []
        var maskReshape: [String: String] = [:] // mask producer → its Reshape((1, -1))
        for layer in model.layers {
            var saved = Layer(layer: layer, args: layer.inbound.map { .tensor($0) })
            switch layer.className {
            case "Add", "Average", "Multiply", "Concatenate", "Maximum", "Dot":
                saved.args = [.list(layer.inbound)] // merge layers are called on a list
            case "Dropout":
                saved.kwargs = [("training", .constant(.bool(false)))]
            case "BatchNormalization":
                saved.kwargs = [("mask", .constant(.null))]
            case "MultiHeadAttention":
                // ZooGraph's inbound is [query, value] or [query, value, padding mask].
                guard (2...3).contains(layer.inbound.count) else {
                    throw ZooError(.mismatch, "\(layer.name): expected 2 or 3 inbound layers for MultiHeadAttention (query, value, mask), found \(layer.inbound.count)")
                }
                saved.args = layer.inbound.prefix(2).map { .tensor($0) }
                if layer.inbound.count == 3 {
                    let source = layer.inbound[2]
                    var mask = source
                    if byName[source]!.outputShape.count == 1 {
                        if let existing = maskReshape[source] {
                            mask = existing
                        } else {
                            mask = unique(source + "_reshape")
                            maskReshape[source] = mask
                            // KerasLayer has no public initializer: start from the mask's own layer.
                            var reshape = byName[source]!
                            reshape.name = mask
                            reshape.className = "Reshape"
                            reshape.config = [("target_shape", .array([.int(1), .int(-1)]))]
                            reshape.inbound = [source]
                            reshape.weights = []
                            reshape.callOptions = []
                            reshape.outputShape = [1] + byName[source]!.outputShape
                            reshape.dtype = "float32"
                            out.append(Layer(layer: reshape, args: [.tensor(source)]))
                        }
                    }
                    saved.kwargs = [("attention_mask", .tensor(mask))]
                }
            default:
                break
            }
            for (key, value) in layer.callOptions where !saved.kwargs.contains(where: { $0.0 == key }) {
                saved.kwargs.append((key, .constant(value)))
            }
            out.append(saved)
        }

        // dtypes flow from inputs (declared) through dtype-preserving layers; the rest compute
        // in float32, the model's dtype policy. Shapes flow the way Keras infers them.
        var index: [String: Int] = [:]
        for i in out.indices {
            let l = out[i]
            let input = l.sources.first.flatMap { index[$0] }.map { out[$0] }
            if l.className == "InputLayer" {
                out[i].outputDType = l.layer.dtype
            } else if Self.dtypePreserving.contains(l.className), let input {
                out[i].outputDType = input.outputDType
            }
            out[i].kerasShape = l.layer.outputShape
            if let input, input.kerasShape.contains(-1) {
                switch l.className {
                case "Flatten":
                    // Keras gives (None, None) here and the Dense after it cannot be built; a
                    // Reshape to the (static) per-sample size computes the same and keeps it known.
                    guard l.layer.outputShape.allSatisfy({ $0 >= 0 }) else {
                        throw ZooError(.mismatch, "\(l.name): expected a static output shape for a Flatten of a dynamic input \(input.kerasShape), found \(l.layer.outputShape)")
                    }
                    out[i].layer.className = "Reshape"
                    out[i].layer.config = [("target_shape", .array(l.layer.outputShape.map { .int($0) }))]
                case "Reshape":
                    if case .array(let target)? = l.layer.configValue("target_shape") { out[i].kerasShape = target.map { $0.int ?? -1 } }
                case "Embedding":
                    out[i].kerasShape = input.kerasShape + l.layer.outputShape.suffix(1)
                case "GlobalAveragePooling2D", "GlobalMaxPooling1D":
                    break
                default:
                    if input.kerasShape.count == l.layer.outputShape.count {
                        for (axis, size) in input.kerasShape.enumerated() where size < 0 { out[i].kerasShape[axis] = -1 }
                    }
                }
            }
            index[l.name] = i
        }
        layers = try Self.kerasOrder(out, inputs: inputs, outputs: outputs, model: model.name)
    }

    /// The order of `model.layers` in Keras 3 (and tf.keras 2): by decreasing depth (longest path
    /// to an output), ties broken by first visit in a depth-first walk from the outputs, visiting
    /// a call's tensors in order. Mirrors `keras.src.ops.function.map_graph`. This order fixes the
    /// per-class counters of `.weights.h5` and the pairing of legacy `.h5` layers, so it must be
    /// Keras's exactly.
    static func kerasOrder(_ layers: [Layer], inputs: [String], outputs: [String], model: String) throws -> [Layer] {
        let byName = Dictionary(uniqueKeysWithValues: layers.map { ($0.name, $0) })
        var firstVisit: [String: Int] = [:]
        var finished = Set<String>()
        var postOrder: [String] = []

        func visit(_ name: String) {
            if finished.contains(name) { return }
            if firstVisit[name] == nil { firstVisit[name] = firstVisit.count }
            let layer = byName[name]!
            if layer.className != "InputLayer" { layer.sources.forEach(visit) }
            finished.insert(name)
            postOrder.append(name)
        }
        outputs.forEach(visit)

        var depth: [String: Int] = [:]
        var base: [String] = []
        for name in postOrder.reversed() {
            let d = depth[name, default: 0]
            depth[name] = d
            base.append(name)
            for parent in byName[name]!.sources {
                depth[parent] = max(depth[parent, default: 0], d + 1)
            }
        }
        for input in inputs where depth[input] == nil { // declared but unused inputs
            depth[input] = 0
            firstVisit[input] = -1
            base.append(input)
        }
        if let dropped = layers.first(where: { depth[$0.name] == nil }) {
            throw ZooError(.mismatch, "\(model): expected every layer to lead to an output, found '\(dropped.name)', which Keras would drop")
        }
        let position = Dictionary(uniqueKeysWithValues: base.enumerated().map { ($1, $0) })
        return base.sorted { a, b in
            let (da, db) = (depth[a]!, depth[b]!)
            if da != db { return da > db }
            let (va, vb) = (firstVisit[a]!, firstVisit[b]!)
            if va != vb { return va < vb }
            return position[a]! < position[b]!
        }.map { byName[$0]! }
    }
}

/// Keras's `to_snake_case` for class names (`GlobalAveragePooling2D` → `global_average_pooling2d`,
/// `ReLU` → `re_lu`): the group names of `.weights.h5`. Same three substitutions as
/// `keras.src.utils.naming.to_snake_case`, with the same left-to-right, non-overlapping matching.
func kerasSnakeCase(_ name: String) -> String {
    func upper(_ c: Unicode.Scalar) -> Bool { ("A"..."Z").contains(c) }
    func lower(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) }
    // \W+ → ""
    var s = Array(name.unicodeScalars.filter { $0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "_" })
    // (.)([A-Z][a-z]+) → \1_\2
    var out: [Unicode.Scalar] = []
    var i = 0
    while i < s.count {
        if i + 2 < s.count, upper(s[i + 1]), lower(s[i + 2]) {
            var j = i + 3
            while j < s.count, lower(s[j]) { j += 1 }
            out.append(s[i]); out.append("_"); out += s[(i + 1)..<j]
            i = j
        } else {
            out.append(s[i]); i += 1
        }
    }
    // ([a-z])([A-Z]) → \1_\2
    s = out
    out = []
    i = 0
    while i < s.count {
        if i + 1 < s.count, lower(s[i]), upper(s[i + 1]) {
            out += [s[i], "_", s[i + 1]]; i += 2
        } else {
            out.append(s[i]); i += 1
        }
    }
    var text = String.UnicodeScalarView()
    text.append(contentsOf: out)
    return String(text).lowercased()
}
