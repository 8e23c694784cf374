// GPT-2 (transformers/models/gpt2/modeling_gpt2.py, GPT2Model): word + position embeddings
// (positions 0…T−1 whatever the padding, as GPT2Model numbers them when no position_ids are
// passed), then N pre-LayerNorm blocks
//
//   x = x + attn.c_proj(causal_attention(attn.c_attn(ln_1(x))))
//   x = x + mlp.c_proj(gelu_new(mlp.c_fc(ln_2(x))))
//
// and a final ln_f. Every projection is a `Conv1D`, whose weight is stored (in, out) — Keras's
// Dense kernel as it is, no transpose — and `c_attn` packs query, key and value along its
// output: the three MultiHeadAttention kernels are its column blocks. Attention is causal
// (Keras: MultiHeadAttention called with `use_causal_mask=True`) and masks padded keys
// (`attention_mask`). LayerNorm eps `layer_norm_epsilon` (1e-5), activation
// `activation_function` (gelu_new: tanh-GELU, spelled in core Keras layers).
// config.json says n_embd, n_layer, n_head, n_inner (null: 4·n_embd), n_positions.
// Older checkpoints also hold each block's causal-mask buffers (`attn.bias`, `attn.masked_bias`):
// constants GPT-2 rebuilds, ignored.
//
// Task heads (logits out, as the Hugging Face models return them):
//   GPT2LMHeadModel             every token → lm_head (no bias), tied to wte unless stored
//   GPT2ForTokenClassification  classifier (Linear) on every token
//   GPT2ForSequenceClassification  score (Linear, no bias) on every token, the logits taken at
//                               each row's last token that is not padding (config.json's
//                               pad_token_id; none: the last position) — `LastTokenOp`
import ZooCore
import ZooGraph

enum GPT2 {
    /// openai-community/gpt2 (124M).
    static let base = TransformerConfig(vocabularySize: 50257, hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072,
                                        maxPositions: 1024, typeVocabularySize: 1, layerNormEps: 1e-5, activation: .geluTanh, pooler: false)

    static let architecture = Architecture(
        name: "gpt2", family: "gpt2",
        summary: "GPT-2 decoder (Hugging Face GPT2Model naming; causal attention, Conv1D weights), sized by config.json or the weights",
        defaults: ArchitectureOptions(transformer: base),
        make: { options in try build(options.transformer!) },
        infer: { infer($0) },
        normalizeKey: { normalize($0) },
        tolerated: { key in
            // the causal-mask buffers older transformers saved with every block
            key.hasPrefix("h.") && (key.hasSuffix(".attn.bias") || key.hasSuffix(".attn.masked_bias"))
        },
        huggingFace: HuggingFaceConfig(
            modelTypes: ["gpt2"],
            read: { json, fromWeights in
                var c = try config(fromHuggingFace: json)
                c.storedDecoder = fromWeights.transformer?.storedDecoder ?? false
                c.task = try task(fromHuggingFace: json, fromWeights: fromWeights.transformer?.task ?? .encoder)
                if c.task == .causalLM, !c.storedDecoder, json["tie_word_embeddings"]?.bool == false {
                    throw ZooError(.mismatch, "config.json says tie_word_embeddings false, so lm_head has weights of its own, but the checkpoint holds no 'lm_head.weight'")
                }
                return ArchitectureOptions(transformer: c)
            }),
        smallOptions: ArchitectureOptions(transformer: TransformerConfig(
            vocabularySize: 99, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 37, maxPositions: 64,
            typeVocabularySize: 1, layerNormEps: 1e-5, activation: .geluTanh, pooler: false)),
        unknown: { options in
            guard let c = options.transformer, case .sequenceClassification = c.task, !c.padTokenFromConfig else { return nil }
            return "GPT2ForSequenceClassification takes its logits at each row's last token that is not padding, and only config.json's pad_token_id says which token pads: convert the model's folder, or pass --config"
        }
    )

    /// The task models' `transformer.` prefix.
    static func normalize(_ key: String) -> String { key.hasPrefix("transformer.") ? String(key.dropFirst(12)) : key }

    static func infer(_ shapes: TensorShapes) -> ArchitectureOptions {
        var byName: [String: [Int]] = [:]
        for e in shapes.entries { byName[normalize(e.name)] = e.shape }
        guard let word = byName["wte.weight"], word.count == 2, let positions = byName["wpe.weight"], positions.count == 2 else {
            return ArchitectureOptions()
        }
        var c = base
        (c.vocabularySize, c.hiddenSize, c.maxPositions) = (word[0], word[1], positions[0])
        c.layers = 0
        while byName["h.\(c.layers).attn.c_attn.weight"] != nil { c.layers += 1 }
        c.heads = 0 // not recorded in the weights
        c.intermediateSize = byName["h.0.mlp.c_fc.weight"]?.last ?? 4 * word[1]
        if byName["lm_head.weight"] != nil {
            (c.task, c.storedDecoder) = (.causalLM, true)
        } else if let classifier = byName["classifier.weight"], classifier.count == 2 {
            c.task = .tokenClassification(labels: classifier[0])
        } else if let score = byName["score.weight"], score.count == 2 {
            c.task = .sequenceClassification(labels: score[0])
        }
        return ArchitectureOptions(transformer: c)
    }

    static func config(fromHuggingFace json: JSONValue) throws -> TransformerConfig {
        let f = HuggingFaceFields(json)
        var c = base
        c.vocabularySize = try f.int("vocab_size")
        c.hiddenSize = try f.int("n_embd")
        c.layers = try f.int("n_layer", limit: 4096)
        c.heads = try f.int("n_head")
        c.maxPositions = try f.int("n_positions")
        if let inner = json["n_inner"], inner != .null { c.intermediateSize = try f.int("n_inner") } else { c.intermediateSize = 4 * c.hiddenSize }
        c.activation = try f.activation("activation_function")
        c.layerNormEps = try f.epsilon("layer_norm_epsilon", default: c.layerNormEps)
        switch json["pad_token_id"] {
        case nil, .null?: c.padTokenID = -1
        case let v?:
            guard let id = v.int else { throw ZooError(.mismatch, "config.json: expected pad_token_id to be an integer or null, found \(v.serialized.prefix(40))") }
            c.padTokenID = id
        }
        c.padTokenFromConfig = true
        // attention scaled otherwise than by 1/√head_dim has no MultiHeadAttention spelling yet
        if json["scale_attn_weights"]?.bool == false {
            throw ZooError(.mismatch, "config.json says scale_attn_weights false; zoo's Keras attention scales by 1/√head_dim, as GPT-2 does by default")
        }
        if json["scale_attn_by_inverse_layer_idx"]?.bool == true {
            throw ZooError(.mismatch, "config.json says scale_attn_by_inverse_layer_idx true; zoo converts GPT-2 attention scaled by 1/√head_dim only")
        }
        if json["add_cross_attention"]?.bool == true {
            throw ZooError(.mismatch, "config.json says add_cross_attention true; zoo converts GPT-2 as a decoder on its own, without cross-attention")
        }
        return c
    }

    /// The task config.json's `architectures` names; the weights' task when it names none.
    static func task(fromHuggingFace json: JSONValue, fromWeights: EncoderTask) throws -> EncoderTask {
        guard let named = json["architectures"]?.array?.first?.string else { return fromWeights }
        switch named {
        case "GPT2Model": return .encoder
        case "GPT2LMHeadModel": return .causalLM
        case "GPT2ForTokenClassification":
            if case .tokenClassification = fromWeights { return fromWeights }
            return .tokenClassification(labels: try HuggingFaceFields(json).labels())
        case "GPT2ForSequenceClassification":
            if case .sequenceClassification = fromWeights { return fromWeights }
            return .sequenceClassification(labels: try HuggingFaceFields(json).labels())
        default:
            throw ZooError(.mismatch, "config.json: architectures names '\(shown: named)'; zoo converts GPT2Model, GPT2LMHeadModel, GPT2ForTokenClassification and GPT2ForSequenceClassification of the GPT-2 family")
        }
    }

    static func build(_ c: TransformerConfig) throws -> Graph {
        let g = GraphBuilder(name: "gpt2")
        let heads = c.heads > 0 ? c.heads : 1 // unknown heads change no shape; conversion insists on knowing them
        let d = c.hiddenSize
        let ids = g.input("input_ids", kind: .tokens, shape: [-1], fill: .tokenIDs(vocabulary: c.vocabularySize))
        let mask = g.input("attention_mask", kind: .tokens, shape: [-1], fill: .attentionMask)
        let positions = g.positions(of: ids, .sequential(offset: 0), vocabulary: c.vocabularySize, maxLength: c.maxPositions, keras: "position_ids")
        let word = g.embedding(ids, torch: "wte", keras: "wte", count: c.vocabularySize, dimension: d)
        let position = g.embedding(positions, torch: "wpe", keras: "wpe", count: c.maxPositions, dimension: d)
        var x = g.add(word, position, keras: "embeddings_add")
        for i in 0..<c.layers {
            let torch = "h.\(i)", keras = "h_\(i)"
            let attention = g.attention(g.layerNorm(x, torch: "\(torch).ln_1", keras: "\(keras)_ln_1", eps: c.layerNormEps), mask: mask,
                                        torch: "\(torch).attn", keras: "\(keras)_attn", heads: heads, projections: nil,
                                        conv1D: AttentionOp.Conv1DProjections(packed: "\(torch).attn.c_attn", output: "\(torch).attn.c_proj"), causal: true)
            x = g.add(x, attention, keras: "\(keras)_attention_add")
            let normed = g.layerNorm(x, torch: "\(torch).ln_2", keras: "\(keras)_ln_2", eps: c.layerNormEps)
            let hidden = g.conv1DLinear(normed, torch: "\(torch).mlp.c_fc", keras: "\(keras)_mlp_c_fc", out: c.intermediateSize, activation: c.activation)
            x = g.add(x, g.conv1DLinear(hidden, torch: "\(torch).mlp.c_proj", keras: "\(keras)_mlp_c_proj", out: d), keras: "\(keras)_mlp_add")
        }
        x = g.layerNorm(x, torch: "ln_f", keras: "ln_f", eps: c.layerNormEps)
        var outputs = [x]
        switch c.task {
        case .encoder: break
        case .causalLM:
            outputs = [c.storedDecoder ? g.linear(x, torch: "lm_head", keras: "lm_head", out: c.vocabularySize, bias: false)
                                       : g.tiedLinear(x, weight: "wte.weight", bias: nil, keras: "lm_head", out: c.vocabularySize)]
        case .tokenClassification(let labels):
            outputs = [g.linear(x, torch: "classifier", keras: "classifier", out: labels)]
        case .sequenceClassification(let labels):
            // without config.json (`unknown` refuses conversion) the graph still builds, for detection
            let logits = g.linear(x, torch: "score", keras: "score", out: labels, bias: false)
            outputs = [g.lastToken(logits, ids: ids, paddingIndex: c.padTokenID >= 0 ? c.padTokenID : nil, vocabulary: c.vocabularySize,
                                   maxLength: c.maxPositions, keras: "pooled_logits")]
        case .questionAnswering, .maskedLM:
            throw ZooError(.mismatch, "GPT-2's \(c.task.className("GPT2")) head is not one zoo converts yet (it converts GPT2Model, GPT2LMHeadModel, GPT2ForTokenClassification and GPT2ForSequenceClassification)")
        }
        return try g.build(outputs: outputs)
    }
}
