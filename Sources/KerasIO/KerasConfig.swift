import ZooCore
import ZooGraph

/// `config.json` of a `.keras` archive: a Keras 3 Functional config written the way Keras 3.15
/// writes it (Tests/Fixtures/reference/keras/tiny_layout.txt and transformer_layout.txt show the
/// originals), so that `keras.saving.load_model` rebuilds the model from core layers alone.
public enum KerasConfig {
    private static func initializer(_ className: String, _ config: [(String, JSONValue)] = []) -> JSONValue {
        .object([("module", .string("keras.initializers")), ("class_name", .string(className)),
                 ("config", .object(config)), ("registered_name", .null)])
    }

    private static let glorotUniform = initializer("GlorotUniform", [("seed", .null), ("input_axes", .null), ("output_axes", .null)])
    private static let zeros = initializer("Zeros")
    private static let ones = initializer("Ones")
    private static let embeddingUniform = initializer("RandomUniform", [("seed", .null), ("minval", .number("-0.05")), ("maxval", .number("0.05"))])

    /// Marks a key Keras requires from the KerasLayer's own config.
    private static let required = JSONValue.string("\u{0}required")

    /// Every key of each class's config after name/trainable/dtype, in Keras's order, with the
    /// value Keras writes by default. A `KerasLayer` overrides values; a key not listed is an
    /// error, because Keras would refuse the file.
    private static let templates: [String: [(String, JSONValue)]] = [
        "InputLayer": [("batch_shape", required)],
        "ZeroPadding2D": [("padding", required), ("data_format", .string("channels_last"))],
        "Conv2D": [("filters", required), ("kernel_size", required), ("strides", .array([.int(1), .int(1)])),
                   ("padding", .string("valid")), ("data_format", .string("channels_last")),
                   ("dilation_rate", .array([.int(1), .int(1)])), ("groups", .int(1)), ("activation", .string("linear")),
                   ("use_bias", .bool(true)), ("kernel_initializer", glorotUniform), ("bias_initializer", zeros),
                   ("kernel_regularizer", .null), ("bias_regularizer", .null), ("activity_regularizer", .null),
                   ("kernel_constraint", .null), ("bias_constraint", .null)],
        "DepthwiseConv2D": [("depth_multiplier", .int(1)), ("kernel_size", required), ("strides", .array([.int(1), .int(1)])),
                            ("padding", .string("valid")), ("data_format", .string("channels_last")),
                            ("dilation_rate", .array([.int(1), .int(1)])), ("activation", .string("linear")), ("use_bias", .bool(true)),
                            ("depthwise_initializer", glorotUniform), ("bias_initializer", zeros), ("depthwise_regularizer", .null),
                            ("bias_regularizer", .null), ("activity_regularizer", .null), ("depthwise_constraint", .null),
                            ("bias_constraint", .null)],
        "Conv1D": [("filters", required), ("kernel_size", required), ("strides", .array([.int(1)])), ("padding", .string("valid")),
                   ("data_format", .string("channels_last")), ("dilation_rate", .array([.int(1)])), ("groups", .int(1)),
                   ("activation", .string("linear")), ("use_bias", .bool(true)), ("kernel_initializer", glorotUniform),
                   ("bias_initializer", zeros), ("kernel_regularizer", .null), ("bias_regularizer", .null),
                   ("activity_regularizer", .null), ("kernel_constraint", .null), ("bias_constraint", .null)],
        "Multiply": [],
        "Maximum": [],
        "Dot": [("axes", required), ("normalize", .bool(false))],
        "ZeroPadding1D": [("padding", required), ("data_format", .string("channels_last"))],
        "Concatenate": [("axis", .int(-1))],
        "Permute": [("dims", required)],
        "Cropping2D": [("cropping", required), ("data_format", .string("channels_last"))],
        "Cropping1D": [("cropping", required)],
        "EinsumDense": [("output_shape", required), ("equation", required), ("activation", .string("linear")), ("bias_axes", .null),
                        ("kernel_initializer", glorotUniform), ("bias_initializer", zeros), ("kernel_regularizer", .null),
                        ("bias_regularizer", .null), ("activity_regularizer", .null), ("kernel_constraint", .null),
                        ("bias_constraint", .null), ("quantization_config", .null)],
        "Rescaling": [("scale", required), ("offset", .number("0.0"))],
        "BatchNormalization": [("axis", .int(-1)), ("momentum", .number("0.99")), ("epsilon", .number("0.001")),
                               ("center", .bool(true)), ("scale", .bool(true)), ("beta_initializer", zeros),
                               ("gamma_initializer", ones), ("moving_mean_initializer", zeros),
                               ("moving_variance_initializer", ones), ("beta_regularizer", .null),
                               ("gamma_regularizer", .null), ("beta_constraint", .null), ("gamma_constraint", .null),
                               ("synchronized", .bool(false)), ("renorm", .bool(false)), ("renorm_clipping", .null),
                               ("renorm_momentum", .number("0.99"))],
        "Activation": [("activation", required)],
        "MaxPooling2D": pooling,
        "AveragePooling2D": pooling,
        "MaxPooling1D": pooling,
        "GlobalAveragePooling2D": [("data_format", .string("channels_last")), ("keepdims", .bool(false))],
        "GlobalMaxPooling1D": [("data_format", .string("channels_last")), ("keepdims", .bool(false))],
        "Add": [],
        "Average": [],
        "Flatten": [("data_format", .string("channels_last"))],
        "Reshape": [("target_shape", required)],
        "Dense": [("units", required), ("activation", .string("linear")), ("use_bias", .bool(true)),
                  ("kernel_initializer", glorotUniform), ("bias_initializer", zeros), ("kernel_regularizer", .null),
                  ("bias_regularizer", .null), ("kernel_constraint", .null), ("bias_constraint", .null),
                  ("quantization_config", .null)],
        "Dropout": [("rate", required), ("seed", .null), ("noise_shape", .null)],
        "Embedding": [("input_dim", required), ("output_dim", required), ("embeddings_initializer", embeddingUniform),
                      ("embeddings_regularizer", .null), ("activity_regularizer", .null), ("embeddings_constraint", .null),
                      ("mask_zero", .bool(false)), ("quantization_config", .null)],
        "LayerNormalization": [("axis", .array([.int(-1)])), ("epsilon", .number("0.001")), ("center", .bool(true)),
                               ("scale", .bool(true)), ("rms_scaling", .bool(false)), ("beta_initializer", zeros),
                               ("gamma_initializer", ones), ("beta_regularizer", .null), ("gamma_regularizer", .null),
                               ("beta_constraint", .null), ("gamma_constraint", .null)],
        "MultiHeadAttention": [("num_heads", required), ("key_dim", required), ("value_dim", .null), ("dropout", .number("0.0")),
                               ("use_bias", .bool(true)), ("use_gate", .bool(false)), ("output_shape", .null),
                               ("attention_axes", .array([.int(1)])), ("sliding_window", .null),
                               ("kernel_initializer", glorotUniform), ("bias_initializer", zeros),
                               ("kernel_regularizer", .null), ("bias_regularizer", .null), ("activity_regularizer", .null),
                               ("kernel_constraint", .null), ("bias_constraint", .null), ("seed", .null)],
    ]

    private static let pooling: [(String, JSONValue)] = [("pool_size", required), ("padding", .string("valid")),
                                                          ("strides", .null), ("data_format", .string("channels_last"))]

    /// Keys recent Keras 3 releases added with these default values. Left out when they hold
    /// them: earlier Keras 3 constructors reject keywords they do not know, and leaving a default
    /// out changes nothing for the release that knows it.
    private static let recentDefaults: [String: JSONValue] = [
        "use_gate": .bool(false), "sliding_window": .null, "quantization_config": .null,
    ]

    /// Classes whose Keras implementation records the input shape it was built on.
    private static let recordsBuildShape: Set<String> = [
        "ZeroPadding2D", "Conv2D", "DepthwiseConv2D", "BatchNormalization", "GlobalAveragePooling2D", "Add", "Average", "Multiply",
        "Concatenate", "Cropping2D", "Cropping1D", "EinsumDense", "Permute", "Rescaling", "Conv1D", "Flatten", "Dense",
        "Embedding", "LayerNormalization", "ZeroPadding1D", "Maximum", "Dot", "GlobalMaxPooling1D",
    ]

    private static let dtypePolicy = JSONValue.object([
        ("module", .string("keras")), ("class_name", .string("DTypePolicy")),
        ("config", .object([("name", .string("float32"))])), ("registered_name", .null),
    ])

    /// Keras shape with the batch axis: per-sample dims, dynamic (-1) as null.
    private static func batchShape(_ shape: [Int]) -> JSONValue {
        .array([.null] + shape.map { $0 < 0 ? .null : .int($0) })
    }

    /// The class config: template defaults overridden by the layer's own values.
    static func layerConfig(_ saved: SavedModel.Layer) throws -> JSONValue {
        let layer = saved.layer
        guard let template = templates[layer.className] else {
            throw ZooError(.mismatch, "\(layer.name): expected a core Keras layer class zoo can save (\(templates.keys.sorted().joined(separator: ", "))), found \(layer.className)")
        }
        var values = template
        for (key, value) in layer.config where key != "name" && key != "dtype" && key != "trainable" {
            guard let i = values.firstIndex(where: { $0.0 == key }) else {
                throw ZooError(.mismatch, "\(layer.name): expected \(layer.className) config keys among \(template.map(\.0).joined(separator: ", ")), found '\(shown: key)'")
            }
            var v = value
            // Keras stores LayerNormalization's axis as a list.
            if layer.className == "LayerNormalization", key == "axis", case .number = value { v = .array([value]) }
            values[i].1 = v
        }
        if let missing = values.first(where: { $0.1 == required }) {
            throw ZooError(.mismatch, "\(layer.name): expected a value for the \(layer.className) config key '\(missing.0)', found none")
        }
        values.removeAll { recentDefaults[$0.0] == $0.1 }
        if layer.className.hasSuffix("Pooling2D") || layer.className == "MaxPooling1D",
           let i = values.firstIndex(where: { $0.0 == "strides" }), values[i].1 == .null {
            values[i].1 = values.first { $0.0 == "pool_size" }!.1 // Keras's default: strides = pool_size
        }
        if layer.className == "InputLayer" {
            return .object(values + [("dtype", .string(layer.dtype)), ("sparse", .bool(false)), ("ragged", .bool(false)),
                                     ("name", .string(layer.name)), ("optional", .bool(false))])
        }
        return .object([("name", .string(layer.name)), ("trainable", .bool(true)), ("dtype", dtypePolicy)] + values)
    }

    /// The whole Functional config of `model`.
    static func functional(_ model: SavedModel) throws -> JSONValue {
        var byName: [String: SavedModel.Layer] = [:]
        for l in model.layers { byName[l.name] = l }
        func tensor(_ name: String) -> JSONValue {
            let source = byName[name]!
            return .object([("class_name", .string("__keras_tensor__")),
                            ("config", .object([("shape", batchShape(source.kerasShape)),
                                                ("dtype", .string(source.outputDType)),
                                                ("keras_history", .array([.string(name), .int(0), .int(0)]))]))])
        }
        func inputShape(_ name: String) -> JSONValue { batchShape(byName[name]!.kerasShape) }

        var layers: [JSONValue] = []
        for saved in model.layers {
            var entry: [(String, JSONValue)] = [("module", .string("keras.layers")), ("class_name", .string(saved.className)),
                                                ("config", try layerConfig(saved)), ("registered_name", .null)]
            if saved.className == "MultiHeadAttention", case .tensor(let q) = saved.args[0], case .tensor(let v) = saved.args[1] {
                entry.append(("build_config", .object([("shapes_dict", .object([("query_shape", inputShape(q)), ("value_shape", inputShape(v))]))])))
            } else if recordsBuildShape.contains(saved.className), let first = saved.args.first {
                switch first {
                case .tensor(let t): entry.append(("build_config", .object([("input_shape", inputShape(t))])))
                case .list(let ts): entry.append(("build_config", .object([("input_shape", .array(ts.map(inputShape)))])))
                }
            }
            entry.append(("name", .string(saved.name)))
            if saved.className == "InputLayer" {
                entry.append(("inbound_nodes", .array([])))
            } else {
                let args: [JSONValue] = saved.args.map {
                    switch $0 {
                    case .tensor(let t): return tensor(t)
                    case .list(let ts): return .array(ts.map(tensor))
                    }
                }
                let kwargs: [(String, JSONValue)] = saved.kwargs.map { key, value in
                    switch value {
                    case .tensor(let t): return (key, tensor(t))
                    case .constant(let c): return (key, c)
                    }
                }
                entry.append(("inbound_nodes", .array([.object([("args", .array(args)), ("kwargs", .object(kwargs))])])))
            }
            layers.append(.object(entry))
        }
        func endpoints(_ names: [String]) -> JSONValue {
            let refs = names.map { JSONValue.array([.string($0), .int(0), .int(0)]) }
            return refs.count == 1 ? refs[0] : .array(refs)
        }
        return .object([
            ("module", .string("keras.src.models.functional")),
            ("class_name", .string("Functional")),
            ("config", .object([("name", .string(model.name)), ("trainable", .bool(true)), ("layers", .array(layers)),
                                ("input_layers", endpoints(model.inputs)), ("output_layers", endpoints(model.outputs))])),
            ("registered_name", .string("Functional")),
            ("build_config", .object([("input_shape", .null)])),
            ("compile_config", .object([])),
        ])
    }

    /// Layer names and classes of a `config.json` (any Functional or Sequential config).
    public static func layers(of config: JSONValue, file: String) throws -> [(name: String, className: String)] {
        guard let list = config["config"]?["layers"]?.array else {
            throw ZooError(.format, "expected config.json in \(file) to hold a model with a 'layers' list, found \(config["class_name"]?.string.map { "a \($0) without one" } ?? "something else")")
        }
        return try list.map { entry in
            guard let className = entry["class_name"]?.string,
                  let name = entry["config"]?["name"]?.string ?? entry["name"]?.string else {
                throw ZooError(.format, "expected every layer in the config.json of \(file) to have a class_name and a name, found \(entry.serialized.prefix(80))")
            }
            return (name, className)
        }
    }
}

extension KerasConfig {
    /// The model a `.keras` file's `config.json` describes, as Keras will build it: each layer's
    /// class, its config as written, the layers its call reads (positional tensors, then the
    /// `attention_mask` keyword of MultiHeadAttention), and the output shapes the file records on
    /// the tensors between layers. `weights` gives each layer's weight shapes as the file stores
    /// them. Flat Functional and Sequential models only; a nested model, a layer called more than
    /// once or a keyword tensor zoo cannot place is refused by name.
    public static func model(from config: JSONValue, weights: [String: [[Int]]], file: String) throws -> KerasModel {
        let className = config["class_name"]?.string ?? "?"
        guard className == "Functional" || className == "Sequential" || className == "Model" else {
            throw ZooError(.mismatch, "expected config.json of \(file) to hold a Functional or Sequential model, found a \(shown: className)")
        }
        guard let entries = config["config"]?["layers"]?.array else {
            throw ZooError(.format, "expected config.json of \(file) to list the model's layers, found none")
        }
        var layers: [KerasLayer] = []
        var shapes: [String: [Int]] = [:] // producer → output shape per sample, as the file records it
        func tensorName(_ t: JSONValue, of layer: String) throws -> String {
            guard t["class_name"]?.string == "__keras_tensor__", let history = t["config"]?["keras_history"]?.array,
                  history.count == 3, let name = history[0].string else {
                throw ZooError(.format, "expected the layer '\(shown: layer)' in \(file) to be called on Keras tensors, found \(t.serialized.prefix(80))")
            }
            guard history[1].int == 0, history[2].int == 0 else {
                throw ZooError(.mismatch, "expected the layer '\(shown: layer)' in \(file) to read the first output of '\(shown: name)', found a call that reads node \(history[1].serialized), output \(history[2].serialized): zoo runs each layer once")
            }
            if let shape = t["config"]?["shape"]?.array { shapes[name] = shape.dropFirst().map { $0.int ?? -1 } }
            return name
        }
        for (position, entry) in entries.enumerated() {
            guard let cls = entry["class_name"]?.string, let name = entry["name"]?.string ?? entry["config"]?["name"]?.string,
                  let fields = entry["config"]?.object else {
                throw ZooError(.format, "expected every layer in the config.json of \(file) to have a class_name, a name and a config, found \(entry.serialized.prefix(80))")
            }
            if ["Functional", "Sequential", "Model"].contains(cls) {
                throw ZooError(.mismatch, "the layer '\(shown: name)' in \(file) is a nested model (\(shown: cls)); zoo runs flat models only")
            }
            var inbound: [String] = []
            var callOptions: [(String, JSONValue)] = []
            if className == "Sequential" {
                if cls != "InputLayer", let previous = layers.last { inbound = [previous.name] }
            } else {
                let nodes = entry["inbound_nodes"]?.array ?? []
                guard nodes.count <= 1 else {
                    throw ZooError(.mismatch, "the layer '\(shown: name)' in \(file) is called \(nodes.count) times; zoo runs each layer once")
                }
                if let node = nodes.first {
                    for arg in node["args"]?.array ?? [] {
                        if let list = arg.array { inbound += try list.map { try tensorName($0, of: name) } } else { inbound.append(try tensorName(arg, of: name)) }
                    }
                    callOptions = (node["kwargs"]?.object ?? []).filter { $0.1["class_name"]?.string != "__keras_tensor__" }
                    for (key, value) in node["kwargs"]?.object ?? [] where value["class_name"]?.string == "__keras_tensor__" {
                        guard cls == "MultiHeadAttention", key == "attention_mask" else {
                            throw ZooError(.mismatch, "the layer '\(shown: name)' (\(shown: cls)) in \(file) takes the tensor keyword '\(shown: key)', which zoo cannot run")
                        }
                        if inbound.count == 1 { inbound.append(inbound[0]) } // query only: value = query
                        inbound.append(try tensorName(value, of: name))
                    }
                }
            }
            let own = fields.filter { !["name", "trainable", "dtype"].contains($0.0) }
            var layer = KerasLayer(name: name, className: cls, config: own, inbound: inbound,
                                   weights: (weights[name] ?? []).enumerated().map { (String($0.offset), $0.element) }, outputShape: [])
            layer.callOptions = callOptions
            if cls == "InputLayer" {
                layer.dtype = fields.first { $0.0 == "dtype" }?.1.string ?? "float32"
                if let shape = (fields.first { $0.0 == "batch_shape" || $0.0 == "batch_input_shape" })?.1.array {
                    shapes[name] = shape.dropFirst().map { $0.int ?? -1 }
                }
            }
            _ = position
            layers.append(layer)
        }
        for i in layers.indices { layers[i].outputShape = shapes[layers[i].name] ?? [] }
        func endpoints(_ v: JSONValue?) throws -> [String] {
            guard let v else { return [] }
            if let a = v.array, let first = a.first, first.string != nil { return [first.string!] } // [name, 0, 0]
            return try (v.array ?? []).map { e in
                guard let n = e.array?.first?.string else { throw ZooError(.format, "expected model endpoints [name, 0, 0] in \(file), found \(e.serialized.prefix(40))") }
                return n
            }
        }
        var inputs = try endpoints(config["config"]?["input_layers"])
        var outputs = try endpoints(config["config"]?["output_layers"])
        if className == "Sequential" {
            inputs = layers.first.map { [$0.name] } ?? []
            outputs = layers.last.map { [$0.name] } ?? []
        }
        return KerasModel(name: config["config"]?["name"]?.string ?? "model", layers: layers, inputs: inputs, outputs: outputs)
    }
}
