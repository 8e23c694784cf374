// CLIP's vision tower (transformers/models/clip/modeling_clip.py, CLIPVisionModel; model_type
// clip_vision_model): a patch-sized stride-patch conv without bias (`embeddings.patch_embedding`)
// read as tokens, the class token first (`embeddings.class_embedding`, [C]), the position table
// added (`embeddings.position_embedding`, an nn.Embedding of (size/patch)² + 1 rows: it fixes the
// image size), `pre_layrnorm` (sic), N pre-LayerNorm layers (layer_norm1 → self-attention with
// separate q/k/v/out projections → residual; layer_norm2 → fc1, quick_gelu (x·sigmoid(1.702x)),
// fc2 → residual), and the pooled output: `post_layernorm` of the class token's state. The last
// hidden state is the encoder's, before post_layernorm. CLIPVisionModelWithProjection adds
// `visual_projection` (no bias) on the pooled output: image_embeds, not normalised. Input
// `pixel_values`, NCHW in PyTorch, NHWC in Keras.
//
// Names: transformers 5 builds CLIPVisionModel without the `vision_model.` level that files
// (save_pretrained, the hub) and CLIPVisionModelWithProjection hold; both read. A CLIPModel
// (model_type clip: both towers, projections, logit scale) is not this model and is refused.
import ZooCore
import ZooGraph

enum CLIPVision {
    /// openai/clip-vit-base-patch32's vision tower.
    static let base: TransformerConfig = {
        var c = TransformerConfig(vocabularySize: 1, hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072, maxPositions: 50,
                                  typeVocabularySize: 1, layerNormEps: 1e-5, activation: .quickGelu, pooler: true)
        c.patchSize = 32
        return c
    }()

    static let architecture = Architecture(
        name: "clip_vision", family: "clip_vision",
        summary: "CLIP's vision tower (CLIPVisionModel, CLIPVisionModelWithProjection; model_type clip_vision_model), sized by config.json or the weights",
        defaults: ArchitectureOptions(imageSize: 224, transformer: base),
        make: { options in try build(options.transformer!, image: options.image!) },
        infer: { infer($0) },
        normalizeKey: { $0.hasPrefix("vision_model.") ? String($0.dropFirst(13)) : $0 },
        huggingFace: HuggingFaceConfig(
            modelTypes: ["clip_vision_model"],
            read: { json, fromWeights in
                var c = try config(fromHuggingFace: json)
                c.task = try towerTask(fromHuggingFace: json, fromWeights: fromWeights.transformer?.task ?? .encoder, stem: "CLIPVision", tower: "vision")
                let size = try HuggingFaceFields(json).int("image_size", default: 224)
                if let trained = fromWeights.imageSize, trained != size {
                    throw ZooError(.mismatch, "config.json says image_size \(size), but the position table has rows for \(trained)×\(trained) images")
                }
                return ArchitectureOptions(imageSize: size, transformer: c)
            }),
        // two patches a side: four patch tokens and the class token
        smallOptions: ArchitectureOptions(imageSize: 16, transformer: {
            var c = TransformerConfig(vocabularySize: 1, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 37, maxPositions: 5,
                                      typeVocabularySize: 1, layerNormEps: 1e-5, activation: .quickGelu, pooler: true)
            c.patchSize = 8
            return c
        }()),
        imageSizeFromWeights: true
    )

    static func infer(_ shapes: TensorShapes) -> ArchitectureOptions {
        var byName: [String: [Int]] = [:]
        for e in shapes.entries { byName[e.name.hasPrefix("vision_model.") ? String(e.name.dropFirst(13)) : e.name] = e.shape }
        guard let projection = byName["embeddings.patch_embedding.weight"], projection.count == 4, projection[1] == 3,
              projection[2] == projection[3], let table = byName["embeddings.position_embedding.weight"], table.count == 2 else {
            return ArchitectureOptions()
        }
        var c = base
        (c.hiddenSize, c.patchSize, c.maxPositions) = (projection[0], projection[2], table[0])
        c.layers = 0
        while byName["encoder.layers.\(c.layers).self_attn.q_proj.weight"] != nil { c.layers += 1 }
        c.heads = 0 // not recorded in the weights
        c.intermediateSize = byName["encoder.layers.0.mlp.fc1.weight"]?.first ?? 4 * c.hiddenSize
        if let projection = byName["visual_projection.weight"], projection.count == 2 { c.task = .sequenceClassification(labels: projection[0]) }
        var options = ArchitectureOptions(transformer: c)
        let side = Int(Double(max(table[0] - 1, 0)).squareRoot().rounded())
        if side > 0, side * side == table[0] - 1 { options.imageSize = side * c.patchSize }
        return options
    }

    static func config(fromHuggingFace json: JSONValue) throws -> TransformerConfig {
        let f = HuggingFaceFields(json)
        var c = base
        c.hiddenSize = try f.int("hidden_size")
        c.layers = try f.int("num_hidden_layers")
        c.heads = try f.int("num_attention_heads")
        c.intermediateSize = try f.int("intermediate_size")
        c.patchSize = try f.int("patch_size", default: 32)
        c.activation = try f.activation("hidden_act")
        c.layerNormEps = try f.epsilon("layer_norm_eps", default: c.layerNormEps)
        if try f.int("num_channels", default: 3) != 3 {
            throw ZooError(.mismatch, "config.json says num_channels \(json["num_channels"]!.serialized); zoo converts CLIP vision towers of RGB images (3 channels)")
        }
        return c
    }

    /// `CLIPEncoder`'s layers, shared by both towers: layer_norm1 → self-attention (the text
    /// tower's causal, under its padding mask) → residual; layer_norm2 → fc1, activation, fc2 → residual.
    static func encoder(_ g: GraphBuilder, _ input: Value, _ c: TransformerConfig, heads: Int, mask: Value?, causal: Bool) -> Value {
        var x = input
        for i in 0..<c.layers {
            let torch = "encoder.layers.\(i)", keras = "layer_\(i)"
            // CLIPEncoderLayer registers self_attn, layer_norm1, mlp, layer_norm2; CLIPAttention k, v, q, out
            g.declareModules(["self_attn", "layer_norm1", "mlp", "layer_norm2"].map { "\(torch).\($0)" }
                             + ["k_proj", "v_proj", "q_proj", "out_proj"].map { "\(torch).self_attn.\($0)" })
            let projections = AttentionOp.Projections(query: "\(torch).self_attn.q_proj", key: "\(torch).self_attn.k_proj",
                                                      value: "\(torch).self_attn.v_proj", output: "\(torch).self_attn.out_proj")
            let normed = g.layerNorm(x, torch: "\(torch).layer_norm1", keras: "\(keras)_layer_norm1", eps: c.layerNormEps)
            x = g.add(x, g.attention(normed, mask: mask, torch: "\(torch).self_attn", keras: "\(keras)_self_attn", heads: heads,
                                     projections: projections, causal: causal), keras: "\(keras)_attention_add")
            var y = g.layerNorm(x, torch: "\(torch).layer_norm2", keras: "\(keras)_layer_norm2", eps: c.layerNormEps)
            y = g.linear(y, torch: "\(torch).mlp.fc1", keras: "\(keras)_mlp_fc1", out: c.intermediateSize, activation: c.activation)
            x = g.add(x, g.linear(y, torch: "\(torch).mlp.fc2", keras: "\(keras)_mlp_fc2", out: c.hiddenSize), keras: "\(keras)_mlp_add")
        }
        return x
    }

    /// The task config.json's `architectures` names for a tower (`stem` "CLIPVision" or
    /// "CLIPText"); `.sequenceClassification(labels: projection_dim)` stands for the projection of
    /// the …WithProjection class (a Linear without bias on the pooled output).
    static func towerTask(fromHuggingFace json: JSONValue, fromWeights: EncoderTask, stem: String, tower: String) throws -> EncoderTask {
        guard let named = json["architectures"]?.array?.first?.string else { return fromWeights }
        switch named {
        case "\(stem)Model": return .encoder
        case "\(stem)ModelWithProjection":
            if case .sequenceClassification = fromWeights { return fromWeights }
            return .sequenceClassification(labels: try HuggingFaceFields(json).int("projection_dim", default: 512))
        default:
            throw ZooError(.mismatch, "config.json: architectures names '\(shown: named)'; zoo converts \(stem)Model and \(stem)ModelWithProjection of CLIP's \(tower) tower")
        }
    }

    static func build(_ c: TransformerConfig, image: ImageSize) throws -> Graph {
        let p = c.patchSize
        guard p > 0, image.isSquare, image.height % p == 0, image.height >= p else {
            throw ZooError(.usage, "clip_vision: expected a square image whose size is a multiple of the patch size \(p) (the position table has a row per patch), found \(image)")
        }
        let g = GraphBuilder(name: "clip_vision")
        let heads = c.heads > 0 ? c.heads : 1 // unknown heads change no shape; conversion insists on knowing them
        var x = g.input("pixel_values", kind: .image, shape: [3, image.height, image.width])
        x = g.conv2d(x, torch: "embeddings.patch_embedding", keras: "patch_embedding", out: c.hiddenSize, kernel: p, stride: p, bias: false)
        x = g.patchTokens(x, keras: "patch_tokens")
        x = g.classToken(x, parameter: "embeddings.class_embedding", keras: "class_embedding", squeezed: true)
        x = g.positionTable(x, parameter: "embeddings.position_embedding.weight", keras: "position_embedding", squeezed: true)
        let tokens = g.shape(x)[0]
        x = g.layerNorm(x, torch: "pre_layrnorm", keras: "pre_layrnorm", eps: c.layerNormEps)
        x = encoder(g, x, c, heads: heads, mask: nil, causal: false)
        let first = g.firstToken(x, keras: "class_token_state", maxLength: tokens)
        let pooled = g.layerNorm(first, torch: "post_layernorm", keras: "post_layernorm", eps: c.layerNormEps)
        switch c.task {
        case .encoder:
            return try g.build(outputs: [x, pooled])
        case .sequenceClassification(let dimension):
            // CLIPVisionModelWithProjection returns image_embeds, then the last hidden state
            return try g.build(outputs: [g.linear(pooled, torch: "visual_projection", keras: "visual_projection", out: dimension, bias: false), x])
        case .tokenClassification, .questionAnswering, .maskedLM, .causalLM:
            throw ZooError(.mismatch, "CLIP's vision tower has no \(c.task.className("CLIPVision")) head (zoo converts CLIPVisionModel and CLIPVisionModelWithProjection)")
        }
    }
}
