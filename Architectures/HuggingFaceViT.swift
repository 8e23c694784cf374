// Hugging Face ViT (transformers/models/vit/modeling_vit.py, ViTModel; model_type vit): a
// patch-sized stride-patch conv (`embeddings.patch_embeddings.projection`) read as tokens, the
// class token put first (`embeddings.cls_token`), the position table added
// (`embeddings.position_embeddings`, (size/patch)² + 1 rows: it fixes the image size), N
// pre-LayerNorm layers (layernorm_before → self-attention with separate query/key/value and
// output projections → residual; layernorm_after → Linear, GELU, Linear → residual), a final
// `layernorm`, and with ViTModel's default pooler a tanh Dense on the class token's state.
// LayerNorm eps `layer_norm_eps` (1e-12). Input `pixel_values`, NCHW in PyTorch, NHWC in Keras.
//
// Names: files (save_pretrained, the hub) hold transformers 4's names — `vit.encoder.layer.N.
// attention.attention.query`, `attention.output.dense`, `intermediate.dense`, `output.dense`;
// transformers 5 builds the module as `layers.N.attention.q_proj … o_proj`, `mlp.fc1/fc2` and
// renames on load. zoo's descriptor states transformers 5's tree (its state_dict(), in order) and
// reads either spelling (the renaming of transformers' conversion_mapping.py for ViTModel).
//
// Task heads (logits out): ViTForImageClassification — no pooler; `classifier` on the class
// token's state.
import ZooCore
import ZooGraph

enum HuggingFaceViT {
    /// google/vit-base-patch16-224.
    static let base: TransformerConfig = {
        var c = TransformerConfig(vocabularySize: 1, hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072, maxPositions: 197,
                                  typeVocabularySize: 1, layerNormEps: 1e-12, activation: .gelu, pooler: true)
        c.patchSize = 16
        return c
    }()

    static let architecture = Architecture(
        name: "vit_hf", family: "vit_hf",
        summary: "Hugging Face ViT (ViTModel, ViTForImageClassification; model_type vit), sized by config.json or the weights",
        defaults: ArchitectureOptions(imageSize: 224, transformer: base),
        make: { options in try build(options.transformer!, imageSize: options.imageSize!) },
        infer: { infer($0) },
        normalizeKey: { normalize($0) },
        huggingFace: HuggingFaceConfig(
            modelTypes: ["vit"],
            read: { json, fromWeights in
                var c = try config(fromHuggingFace: json, pooler: fromWeights.transformer?.pooler ?? base.pooler)
                c.task = try task(fromHuggingFace: json, fromWeights: fromWeights.transformer?.task ?? .encoder)
                let size = try HuggingFaceFields(json).int("image_size", default: 224)
                if let trained = fromWeights.imageSize, trained != size {
                    throw ZooError(.mismatch, "config.json says image_size \(size), but the position table has rows for \(trained)×\(trained) images")
                }
                if let patch = fromWeights.transformer?.patchSize, patch != c.patchSize {
                    throw ZooError(.mismatch, "config.json says patch_size \(c.patchSize), but the patch projection is \(patch)×\(patch)")
                }
                return ArchitectureOptions(imageSize: size, transformer: c)
            }),
        // two patches a side: four patch tokens and the class token
        smallOptions: ArchitectureOptions(imageSize: 16, transformer: {
            var c = TransformerConfig(vocabularySize: 1, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 37, maxPositions: 5,
                                      typeVocabularySize: 1, layerNormEps: 1e-12, activation: .gelu, pooler: true)
            c.patchSize = 8
            return c
        }()),
        imageSizeFromWeights: true
    )

    /// transformers 4's names (files) → transformers 5's (the module), without `vit.`.
    static func normalize(_ key: String) -> String {
        var k = key.hasPrefix("vit.") ? String(key.dropFirst(4)) : key
        guard k.hasPrefix("encoder.layer.") else { return k }
        k = "layers." + k.dropFirst(14)
        for (old, new) in [("attention.attention.query.", "attention.q_proj."), ("attention.attention.key.", "attention.k_proj."),
                           ("attention.attention.value.", "attention.v_proj."), ("attention.output.dense.", "attention.o_proj."),
                           ("intermediate.dense.", "mlp.fc1."), ("output.dense.", "mlp.fc2.")] where k.contains(old) {
            return k.replacingAll(old, new)
        }
        return k
    }

    static func infer(_ shapes: TensorShapes) -> ArchitectureOptions {
        var byName: [String: [Int]] = [:]
        for e in shapes.entries { byName[normalize(e.name)] = e.shape }
        guard let projection = byName["embeddings.patch_embeddings.projection.weight"], projection.count == 4,
              projection[1] == 3, projection[2] == projection[3], let table = byName["embeddings.position_embeddings"], table.count == 3 else {
            return ArchitectureOptions()
        }
        var c = base
        (c.hiddenSize, c.patchSize, c.maxPositions) = (projection[0], projection[2], table[1])
        c.layers = 0
        while byName["layers.\(c.layers).attention.q_proj.weight"] != nil { c.layers += 1 }
        c.heads = 0 // not recorded in the weights
        c.intermediateSize = byName["layers.0.mlp.fc1.weight"]?.first ?? 4 * c.hiddenSize
        c.pooler = byName["pooler.dense.weight"] != nil
        if let classifier = byName["classifier.weight"], classifier.count == 2 { c.task = .sequenceClassification(labels: classifier[0]) }
        var options = ArchitectureOptions(transformer: c)
        let side = Int(Double(max(table[1] - 1, 0)).squareRoot().rounded())
        if side > 0, side * side == table[1] - 1 { options.imageSize = side * c.patchSize }
        return options
    }

    static func config(fromHuggingFace json: JSONValue, pooler: Bool) throws -> TransformerConfig {
        let f = HuggingFaceFields(json)
        var c = base
        c.hiddenSize = try f.int("hidden_size")
        c.layers = try f.int("num_hidden_layers")
        c.heads = try f.int("num_attention_heads")
        c.intermediateSize = try f.int("intermediate_size")
        c.patchSize = try f.int("patch_size", default: 16)
        c.activation = try f.activation("hidden_act")
        c.pooler = pooler
        if let eps = json["layer_norm_eps"] {
            guard let e = eps.double, e > 0, e < 1 else {
                throw ZooError(.format, "config.json: expected 'layer_norm_eps' to be a number between 0 and 1, found \(eps.serialized.prefix(40))")
            }
            c.layerNormEps = e
        }
        if try f.int("num_channels", default: 3) != 3 {
            throw ZooError(.mismatch, "config.json says num_channels \(json["num_channels"]!.serialized); zoo converts ViTs of RGB images (3 channels)")
        }
        if json["qkv_bias"]?.bool == false {
            throw ZooError(.mismatch, "config.json says qkv_bias false; zoo converts ViT attention with query/key/value biases")
        }
        if let act = json["pooler_act"]?.string, act != "tanh" {
            throw ZooError(.mismatch, "config.json says pooler_act '\(shown: act)'; zoo converts ViT's tanh pooler")
        }
        return c
    }

    static func task(fromHuggingFace json: JSONValue, fromWeights: EncoderTask) throws -> EncoderTask {
        guard let named = json["architectures"]?.array?.first?.string else { return fromWeights }
        switch named {
        case "ViTModel": return .encoder
        case "ViTForImageClassification":
            if case .sequenceClassification = fromWeights { return fromWeights }
            return .sequenceClassification(labels: json["num_labels"]?.int ?? json["id2label"]?.object?.count ?? 2)
        default:
            throw ZooError(.mismatch, "config.json: architectures names '\(shown: named)'; zoo converts ViTModel and ViTForImageClassification of the Hugging Face ViT family")
        }
    }

    static func build(_ c: TransformerConfig, imageSize: Int) throws -> Graph {
        let p = c.patchSize
        guard p > 0, imageSize % p == 0, imageSize >= p else {
            throw ZooError(.usage, "vit_hf: expected an image size that is a multiple of the patch size \(p), found \(imageSize)")
        }
        let g = GraphBuilder(name: "vit_hf")
        g.declareModules(["embeddings"]) // first, before the layers' declared modules
        let heads = c.heads > 0 ? c.heads : 1 // unknown heads change no shape; conversion insists on knowing them
        var x = g.input("pixel_values", kind: .image, shape: [3, imageSize, imageSize])
        x = g.conv2d(x, torch: "embeddings.patch_embeddings.projection", keras: "patch_embeddings", out: c.hiddenSize, kernel: p, stride: p, bias: true)
        x = g.patchTokens(x, keras: "patch_tokens")
        x = g.classToken(x, parameter: "embeddings.cls_token", keras: "cls_token")
        x = g.positionTable(x, parameter: "embeddings.position_embeddings", keras: "position_embeddings")
        let tokens = g.shape(x)[0]
        for i in 0..<c.layers {
            let torch = "layers.\(i)", keras = "layer_\(i)"
            // ViTLayer registers attention, layernorm_before, layernorm_after, mlp
            g.declareModules(["attention", "layernorm_before", "layernorm_after", "mlp"].map { "\(torch).\($0)" })
            let projections = AttentionOp.Projections(query: "\(torch).attention.q_proj", key: "\(torch).attention.k_proj",
                                                      value: "\(torch).attention.v_proj", output: "\(torch).attention.o_proj")
            let normed = g.layerNorm(x, torch: "\(torch).layernorm_before", keras: "\(keras)_layernorm_before", eps: c.layerNormEps)
            x = g.add(x, g.attention(normed, mask: nil, torch: "\(torch).attention", keras: "\(keras)_attention", heads: heads, projections: projections),
                      keras: "\(keras)_attention_add")
            var y = g.layerNorm(x, torch: "\(torch).layernorm_after", keras: "\(keras)_layernorm_after", eps: c.layerNormEps)
            y = g.linear(y, torch: "\(torch).mlp.fc1", keras: "\(keras)_mlp_fc1", out: c.intermediateSize, activation: c.activation)
            x = g.add(x, g.linear(y, torch: "\(torch).mlp.fc2", keras: "\(keras)_mlp_fc2", out: c.hiddenSize), keras: "\(keras)_mlp_add")
        }
        x = g.layerNorm(x, torch: "layernorm", keras: "layernorm", eps: c.layerNormEps)
        var outputs = [x]
        switch c.task {
        case .encoder:
            if c.pooler {
                let first = g.firstToken(x, keras: "pooler_first_token", maxLength: tokens)
                outputs.append(g.linear(first, torch: "pooler.dense", keras: "pooler", out: c.hiddenSize, activation: .tanh))
            }
        case .sequenceClassification(let labels):
            if c.pooler { throw ZooError(.mismatch, "ViTForImageClassification is built without a pooler; expected no 'pooler.dense.weight', found one") }
            let first = g.firstToken(x, keras: "class_token_state", maxLength: tokens)
            outputs = [g.linear(first, torch: "classifier", keras: "classifier", out: labels)]
        case .tokenClassification, .questionAnswering, .maskedLM, .causalLM:
            throw ZooError(.mismatch, "the Hugging Face ViT family has no \(c.task.className("ViT")) head (zoo converts ViTModel and ViTForImageClassification)")
        }
        return try g.build(outputs: outputs)
    }
}
