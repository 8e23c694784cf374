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
//
// DeiT (transformers/models/deit/modeling_deit.py; model_type deit, prefix `deit.`) is the same
// network with a distillation token after the class token ((size/patch)² + 2 position rows;
// DeiTEmbeddings registers it after the position table): DeiTModel, DeiTForImageClassification
// (`classifier` on the class token), DeiTForImageClassificationWithTeacher (`cls_classifier` on
// the class token and `distillation_classifier` on the distillation token, averaged).
import ZooCore
import ZooGraph

enum HuggingFaceViT {
    /// What tells ViT and DeiT apart.
    struct Variant: Sendable {
        var name: String
        var modelType: String
        var prefix: String
        var stem: String
        var distillation: Bool
    }

    static let vit = Variant(name: "vit_hf", modelType: "vit", prefix: "vit.", stem: "ViT", distillation: false)
    static let deit = Variant(name: "deit", modelType: "deit", prefix: "deit.", stem: "DeiT", distillation: true)

    /// google/vit-base-patch16-224 (facebook/deit-base-distilled-patch16-224 with the token).
    static func base(_ v: Variant) -> TransformerConfig {
        var c = TransformerConfig(vocabularySize: 1, hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072, maxPositions: v.distillation ? 198 : 197,
                                  typeVocabularySize: 1, layerNormEps: 1e-12, activation: .gelu, pooler: true)
        c.patchSize = 16
        c.distillationToken = v.distillation
        return c
    }

    static let architectures = [architecture(vit), architecture(deit)]

    static func architecture(_ v: Variant) -> Architecture {
        Architecture(
            name: v.name, family: v.name,
            summary: v.distillation
                ? "Hugging Face DeiT (DeiTModel, DeiTForImageClassification, …WithTeacher; model_type deit), sized by config.json or the weights"
                : "Hugging Face ViT (ViTModel, ViTForImageClassification; model_type vit), sized by config.json or the weights",
            defaults: ArchitectureOptions(imageSize: 224, transformer: base(v)),
            make: { options in try build(v, options.transformer!, image: options.image!) },
            infer: { infer($0, v) },
            normalizeKey: { normalize($0, v) },
            huggingFace: HuggingFaceConfig(
                modelTypes: [v.modelType],
                read: { json, fromWeights in
                    var c = try config(fromHuggingFace: json, v, pooler: fromWeights.transformer?.pooler ?? true)
                    (c.task, c.distillationHead) = try task(fromHuggingFace: json, v, fromWeights: fromWeights.transformer)
                    let size = try HuggingFaceFields(json).int("image_size", default: 224)
                    if let trained = fromWeights.imageSize, trained != size {
                        throw ZooError(.mismatch, "config.json says image_size \(size), but the position table has rows for \(trained)×\(trained) images")
                    }
                    if let patch = fromWeights.transformer?.patchSize, patch != c.patchSize {
                        throw ZooError(.mismatch, "config.json says patch_size \(c.patchSize), but the patch projection is \(patch)×\(patch)")
                    }
                    return ArchitectureOptions(imageSize: size, transformer: c)
                }),
            // two patches a side: four patch tokens and the class (and distillation) token
            smallOptions: ArchitectureOptions(imageSize: 16, transformer: {
                var c = TransformerConfig(vocabularySize: 1, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 37, maxPositions: v.distillation ? 6 : 5,
                                          typeVocabularySize: 1, layerNormEps: 1e-12, activation: .gelu, pooler: true)
                c.patchSize = 8
                c.distillationToken = v.distillation
                return c
            }()),
            imageSizeFromWeights: true
        )
    }

    /// transformers 4's names (files) → transformers 5's (the module), without `vit.` / `deit.`.
    static func normalize(_ key: String, _ v: Variant) -> String {
        var k = key.hasPrefix(v.prefix) ? String(key.dropFirst(v.prefix.count)) : key
        guard k.hasPrefix("encoder.layer.") else { return k }
        k = "layers." + k.dropFirst(14)
        for (old, new) in [("attention.attention.query.", "attention.q_proj."), ("attention.attention.key.", "attention.k_proj."),
                           ("attention.attention.value.", "attention.v_proj."), ("attention.output.dense.", "attention.o_proj."),
                           ("intermediate.dense.", "mlp.fc1."), ("output.dense.", "mlp.fc2.")] where k.contains(old) {
            return k.replacingAll(old, new)
        }
        return k
    }

    static func infer(_ shapes: TensorShapes, _ v: Variant) -> ArchitectureOptions {
        var byName: [String: [Int]] = [:]
        for e in shapes.entries { byName[normalize(e.name, v)] = e.shape }
        guard let projection = byName["embeddings.patch_embeddings.projection.weight"], projection.count == 4,
              projection[1] == 3, projection[2] == projection[3], let table = byName["embeddings.position_embeddings"], table.count == 3 else {
            return ArchitectureOptions()
        }
        var c = base(v)
        (c.hiddenSize, c.patchSize, c.maxPositions) = (projection[0], projection[2], table[1])
        c.layers = 0
        while byName["layers.\(c.layers).attention.q_proj.weight"] != nil { c.layers += 1 }
        c.heads = 0 // not recorded in the weights
        c.intermediateSize = byName["layers.0.mlp.fc1.weight"]?.first ?? 4 * c.hiddenSize
        c.pooler = byName["pooler.dense.weight"] != nil
        if let classifier = byName["classifier.weight"], classifier.count == 2 {
            c.task = .sequenceClassification(labels: classifier[0])
        } else if v.distillation, let classifier = byName["cls_classifier.weight"], classifier.count == 2 {
            (c.task, c.distillationHead) = (.sequenceClassification(labels: classifier[0]), true)
        }
        var options = ArchitectureOptions(transformer: c)
        let special = v.distillation ? 2 : 1
        let side = Int(Double(max(table[1] - special, 0)).squareRoot().rounded())
        if side > 0, side * side == table[1] - special { options.imageSize = side * c.patchSize }
        return options
    }

    static func config(fromHuggingFace json: JSONValue, _ v: Variant, pooler: Bool) throws -> TransformerConfig {
        let f = HuggingFaceFields(json)
        var c = base(v)
        c.hiddenSize = try f.int("hidden_size")
        c.layers = try f.int("num_hidden_layers")
        c.heads = try f.int("num_attention_heads")
        c.intermediateSize = try f.int("intermediate_size")
        c.patchSize = try f.int("patch_size", default: 16)
        c.activation = try f.activation("hidden_act")
        c.pooler = pooler
        c.layerNormEps = try f.epsilon("layer_norm_eps", default: c.layerNormEps)
        if try f.int("num_channels", default: 3) != 3 {
            throw ZooError(.mismatch, "config.json says num_channels \(json["num_channels"]!.serialized); zoo converts \(v.stem)s of RGB images (3 channels)")
        }
        if json["qkv_bias"]?.bool == false {
            throw ZooError(.mismatch, "config.json says qkv_bias false; zoo converts \(v.stem) attention with query/key/value biases")
        }
        if let act = json["pooler_act"]?.string, act != "tanh" {
            throw ZooError(.mismatch, "config.json says pooler_act '\(shown: act)'; zoo converts \(v.stem)'s tanh pooler")
        }
        return c
    }

    /// The task (and whether it is DeiT's two-headed classifier) config.json's `architectures`
    /// names; the weights' when it names none.
    static func task(fromHuggingFace json: JSONValue, _ v: Variant, fromWeights: TransformerConfig?) throws -> (EncoderTask, Bool) {
        let weights = (fromWeights?.task ?? .encoder, fromWeights?.distillationHead ?? false)
        guard let named = json["architectures"]?.array?.first?.string else { return weights }
        let labels = try HuggingFaceFields(json).labels()
        func classifier(teacher: Bool) -> (EncoderTask, Bool) {
            if case .sequenceClassification = weights.0, weights.1 == teacher { return weights }
            return (.sequenceClassification(labels: labels), teacher)
        }
        switch named {
        case "\(v.stem)Model": return (.encoder, false)
        case "\(v.stem)ForImageClassification": return classifier(teacher: false)
        case "DeiTForImageClassificationWithTeacher" where v.distillation: return classifier(teacher: true)
        default:
            let known = ["\(v.stem)Model", "\(v.stem)ForImageClassification"] + (v.distillation ? ["DeiTForImageClassificationWithTeacher"] : [])
            throw ZooError(.mismatch, "config.json: architectures names '\(shown: named)'; zoo converts \(known.joined(separator: ", ")) of the Hugging Face \(v.stem) family")
        }
    }

    static func build(_ v: Variant, _ c: TransformerConfig, image: ImageSize) throws -> Graph {
        let p = c.patchSize
        guard p > 0, image.isSquare, image.height % p == 0, image.height >= p else {
            throw ZooError(.usage, "\(v.name): expected a square image whose size is a multiple of the patch size \(p) (the position table has a row per patch), found \(image)")
        }
        let g = GraphBuilder(name: v.name)
        // first, before the layers' declared modules; DeiT registers its distillation token last
        g.declareModules(["embeddings"] + (c.distillationToken ? ["embeddings.cls_token", "embeddings.position_embeddings", "embeddings.distillation_token"] : []))
        let heads = c.heads > 0 ? c.heads : 1 // unknown heads change no shape; conversion insists on knowing them
        var x = g.input("pixel_values", kind: .image, shape: [3, image.height, image.width])
        x = g.conv2d(x, torch: "embeddings.patch_embeddings.projection", keras: "patch_embeddings", out: c.hiddenSize, kernel: p, stride: p, bias: true)
        x = g.patchTokens(x, keras: "patch_tokens")
        if c.distillationToken { x = g.classToken(x, parameter: "embeddings.distillation_token", keras: "distillation_token") }
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
            if c.pooler { throw ZooError(.mismatch, "\(v.stem)ForImageClassification is built without a pooler; expected no 'pooler.dense.weight', found one") }
            let first = g.firstToken(x, keras: "class_token_state", maxLength: tokens)
            if c.distillationHead {
                let cls = g.linear(first, torch: "cls_classifier", keras: "cls_classifier", out: labels)
                let distilled = g.linear(g.token(x, at: 1, keras: "distillation_token_state"), torch: "distillation_classifier",
                                         keras: "distillation_classifier", out: labels)
                outputs = [g.average(cls, distilled, keras: "logits")]
            } else {
                outputs = [g.linear(first, torch: "classifier", keras: "classifier", out: labels)]
            }
        case .tokenClassification, .questionAnswering, .maskedLM, .causalLM:
            throw ZooError(.mismatch, "the Hugging Face \(v.stem) family has no \(c.task.className(v.stem)) head (zoo converts \(v.stem)Model and \(v.stem)ForImageClassification)")
        }
        return try g.build(outputs: outputs)
    }
}
