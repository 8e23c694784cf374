// CLIP's text tower (transformers/models/clip/modeling_clip.py, CLIPTextModel; model_type
// clip_text_model): token and position embeddings (positions 0…T−1), N pre-LayerNorm layers with
// causal attention under the padding mask (layer_norm1 → self-attention with separate q/k/v/out
// projections → residual; layer_norm2 → fc1, quick_gelu, fc2 → residual), `final_layer_norm`,
// and the pooled output: the state at the end-of-text token — the first position of the greatest
// id when config.json's eos_token_id is the legacy 2 (the original OpenAI checkpoints', whose end
// token is the vocabulary's last), else the first position of eos_token_id (`EndTokenOp`).
// CLIPTextModelWithProjection adds `text_projection` (no bias) on the pooled output: text_embeds,
// not normalised. Inputs `input_ids`, `attention_mask`.
//
// Names: transformers 5 builds CLIPTextModel without the `text_model.` level that files and
// CLIPTextModelWithProjection hold; both read. Without config.json the end token is unknown and
// conversion is refused.
import ZooCore
import ZooGraph

enum CLIPText {
    /// openai/clip-vit-base-patch32's text tower.
    static let base: TransformerConfig = {
        var c = TransformerConfig(vocabularySize: 49408, hiddenSize: 512, layers: 12, heads: 8, intermediateSize: 2048, maxPositions: 77,
                                  typeVocabularySize: 1, layerNormEps: 1e-5, activation: .quickGelu, pooler: true)
        c.padTokenID = 2 // the end-of-text token (eos_token_id); 2: the greatest id
        return c
    }()

    static let architecture = Architecture(
        name: "clip_text", family: "clip_text",
        summary: "CLIP's text tower (CLIPTextModel, CLIPTextModelWithProjection; model_type clip_text_model), sized by config.json or the weights",
        defaults: ArchitectureOptions(transformer: base),
        make: { options in try build(options.transformer!) },
        infer: { infer($0) },
        normalizeKey: { $0.hasPrefix("text_model.") ? String($0.dropFirst(11)) : $0 },
        huggingFace: HuggingFaceConfig(
            modelTypes: ["clip_text_model"],
            read: { json, fromWeights in
                var c = try config(fromHuggingFace: json)
                c.task = try CLIPVision.towerTask(fromHuggingFace: json, fromWeights: fromWeights.transformer?.task ?? .encoder, stem: "CLIPText", tower: "text")
                return ArchitectureOptions(transformer: c)
            }),
        smallOptions: ArchitectureOptions(transformer: {
            var c = TransformerConfig(vocabularySize: 99, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 37, maxPositions: 64,
                                      typeVocabularySize: 1, layerNormEps: 1e-5, activation: .quickGelu, pooler: true)
            (c.padTokenID, c.padTokenFromConfig) = (2, true)
            return c
        }()),
        unknown: { options in
            guard let c = options.transformer, !c.padTokenFromConfig else { return nil }
            return "CLIP's text tower pools at its end-of-text token, and only config.json's eos_token_id says which it is: convert the model's folder, or pass --config"
        }
    )

    static func infer(_ shapes: TensorShapes) -> ArchitectureOptions {
        var byName: [String: [Int]] = [:]
        for e in shapes.entries { byName[e.name.hasPrefix("text_model.") ? String(e.name.dropFirst(11)) : e.name] = e.shape }
        guard let word = byName["embeddings.token_embedding.weight"], word.count == 2,
              let positions = byName["embeddings.position_embedding.weight"], positions.count == 2 else { return ArchitectureOptions() }
        var c = base
        (c.vocabularySize, c.hiddenSize, c.maxPositions) = (word[0], word[1], positions[0])
        c.layers = 0
        while byName["encoder.layers.\(c.layers).self_attn.q_proj.weight"] != nil { c.layers += 1 }
        c.heads = 0 // not recorded in the weights
        c.intermediateSize = byName["encoder.layers.0.mlp.fc1.weight"]?.first ?? 4 * word[1]
        if let projection = byName["text_projection.weight"], projection.count == 2 { c.task = .sequenceClassification(labels: projection[0]) }
        return ArchitectureOptions(transformer: c)
    }

    static func config(fromHuggingFace json: JSONValue) throws -> TransformerConfig {
        let f = HuggingFaceFields(json)
        var c = base
        c.vocabularySize = try f.int("vocab_size")
        c.hiddenSize = try f.int("hidden_size")
        c.layers = try f.int("num_hidden_layers")
        c.heads = try f.int("num_attention_heads")
        c.intermediateSize = try f.int("intermediate_size")
        c.maxPositions = try f.int("max_position_embeddings", default: 77)
        c.activation = try f.activation("hidden_act")
        c.layerNormEps = try f.epsilon("layer_norm_eps", default: c.layerNormEps)
        c.padTokenID = try f.int("eos_token_id", default: 2, minimum: 0)
        c.padTokenFromConfig = true
        return c
    }

    static func build(_ c: TransformerConfig) throws -> Graph {
        let g = GraphBuilder(name: "clip_text")
        let heads = c.heads > 0 ? c.heads : 1 // unknown heads change no shape; conversion insists on knowing them
        let d = c.hiddenSize
        let ids = g.input("input_ids", kind: .tokens, shape: [-1], fill: .tokenIDs(vocabulary: c.vocabularySize))
        let mask = g.input("attention_mask", kind: .tokens, shape: [-1], fill: .attentionMask)
        let positions = g.positions(of: ids, .sequential(offset: 0), vocabulary: c.vocabularySize, maxLength: c.maxPositions, keras: "position_ids")
        let word = g.embedding(ids, torch: "embeddings.token_embedding", keras: "token_embedding", count: c.vocabularySize, dimension: d)
        let position = g.embedding(positions, torch: "embeddings.position_embedding", keras: "position_embedding", count: c.maxPositions, dimension: d)
        var x = g.add(word, position, keras: "embeddings_add")
        x = CLIPVision.encoder(g, x, c, heads: heads, mask: mask, causal: true)
        x = g.layerNorm(x, torch: "final_layer_norm", keras: "final_layer_norm", eps: c.layerNormEps)
        let pooled = g.endToken(x, ids: ids, eos: c.padTokenID == 2 ? nil : c.padTokenID, vocabulary: c.vocabularySize,
                                maxLength: c.maxPositions, keras: "pooler_output")
        switch c.task {
        case .encoder:
            return try g.build(outputs: [x, pooled])
        case .sequenceClassification(let dimension):
            // CLIPTextModelWithProjection returns text_embeds, then the last hidden state
            return try g.build(outputs: [g.linear(pooled, torch: "text_projection", keras: "text_projection", out: dimension, bias: false), x])
        case .tokenClassification, .questionAnswering, .maskedLM, .causalLM:
            throw ZooError(.mismatch, "CLIP's text tower has no \(c.task.className("CLIPText")) head (zoo converts CLIPTextModel and CLIPTextModelWithProjection)")
        }
    }
}
