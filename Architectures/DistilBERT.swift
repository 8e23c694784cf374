// DistilBERT (transformers/models/distilbert/modeling_distilbert.py, DistilBertModel): word +
// position embeddings (positions 0…T−1, no token types) and LayerNorm, then N post-LayerNorm
// layers named its own way — attention.q_lin/k_lin/v_lin/out_lin, sa_layer_norm, ffn.lin1/lin2,
// output_layer_norm — under `transformer.layer.N`; no pooler; every LayerNorm eps 1e-12 (fixed
// in the module, not in config.json). config.json says dim, n_layers, n_heads, hidden_dim.
// Sinusoidal position tables (`sinusoidal_pos_embds`) are only how the table is initialised:
// the state dict holds it like a learned one.
//
// Task heads (logits out):
//   DistilBertForSequenceClassification  first token → pre_classifier → ReLU → classifier
//   DistilBertForTokenClassification     classifier on every token
//   DistilBertForQuestionAnswering       qa_outputs on every token → start, end logits
//   DistilBertForMaskedLM                vocab_transform → activation → vocab_layer_norm → vocab_projector
//                                        (tied to the word embeddings)
import ZooCore
import ZooGraph

enum DistilBERT {
    /// distilbert-base-uncased.
    static let base = TransformerConfig(vocabularySize: 30522, hiddenSize: 768, layers: 6, heads: 12, intermediateSize: 3072,
                                        maxPositions: 512, typeVocabularySize: 1, layerNormEps: 1e-12, activation: .gelu, pooler: false)

    static let architecture = Architecture(
        name: "distilbert", family: "distilbert",
        summary: "DistilBERT encoder (Hugging Face DistilBertModel naming), sized by config.json or the weights",
        defaults: ArchitectureOptions(transformer: base),
        make: { options in try build(options.transformer!) },
        infer: { infer($0) },
        normalizeKey: { normalize($0) },
        tolerated: { $0 == "embeddings.position_ids" },
        huggingFace: HuggingFaceConfig(
            modelTypes: ["distilbert"],
            read: { json, fromWeights in
                var c = try config(fromHuggingFace: json)
                c.task = try BERTStyle.task(fromHuggingFace: json, fromWeights: fromWeights.transformer?.task ?? .encoder,
                                            classPrefixes: ["DistilBert"], family: "DistilBERT")
                c.storedDecoder = fromWeights.transformer?.storedDecoder ?? false
                try BERTStyle.checkDecoder(json, c, decoder: "vocab_projector.weight")
                return ArchitectureOptions(transformer: c)
            }),
        smallOptions: ArchitectureOptions(transformer: TransformerConfig(
            vocabularySize: 99, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 37, maxPositions: 64,
            typeVocabularySize: 1, layerNormEps: 1e-12, activation: .gelu, pooler: false))
    )

    /// The task models' `distilbert.` prefix.
    static func normalize(_ key: String) -> String { key.hasPrefix("distilbert.") ? String(key.dropFirst(11)) : key }

    static func infer(_ shapes: TensorShapes) -> ArchitectureOptions {
        var byName: [String: [Int]] = [:]
        for e in shapes.entries { byName[normalize(e.name)] = e.shape }
        guard let word = byName["embeddings.word_embeddings.weight"], word.count == 2 else { return ArchitectureOptions() }
        var layers = 0
        while byName["transformer.layer.\(layers).attention.q_lin.weight"] != nil { layers += 1 }
        var c = base
        c.vocabularySize = word[0]
        c.hiddenSize = word[1]
        c.layers = layers
        c.heads = 0 // not recorded in the weights
        c.intermediateSize = byName["transformer.layer.0.ffn.lin1.weight"]?.first ?? 4 * word[1]
        c.maxPositions = byName["embeddings.position_embeddings.weight"]?.first ?? base.maxPositions
        if let classifier = byName["classifier.weight"], classifier.count == 2 {
            c.task = byName["pre_classifier.weight"] != nil ? .sequenceClassification(labels: classifier[0]) : .tokenClassification(labels: classifier[0])
        } else if byName["qa_outputs.weight"] != nil {
            c.task = .questionAnswering
        } else if byName["vocab_projector.bias"] != nil {
            c.task = .maskedLM
            c.storedDecoder = byName["vocab_projector.weight"] != nil
        }
        return ArchitectureOptions(transformer: c)
    }

    static func config(fromHuggingFace json: JSONValue) throws -> TransformerConfig {
        let f = HuggingFaceFields(json)
        var c = base
        c.vocabularySize = try f.int("vocab_size")
        c.hiddenSize = try f.int("dim")
        c.layers = try f.int("n_layers")
        c.heads = try f.int("n_heads")
        c.intermediateSize = try f.int("hidden_dim")
        c.maxPositions = try f.int("max_position_embeddings")
        c.activation = try f.activation("activation")
        return c
    }

    static func build(_ c: TransformerConfig) throws -> Graph {
        let g = GraphBuilder(name: "distilbert")
        let heads = c.heads > 0 ? c.heads : 1 // unknown heads change no shape; conversion insists on knowing them
        let ids = g.input("input_ids", kind: .tokens, shape: [-1], fill: .tokenIDs(vocabulary: c.vocabularySize))
        let mask = g.input("attention_mask", kind: .tokens, shape: [-1], fill: .attentionMask)
        let positions = g.positions(of: ids, .sequential(offset: 0), vocabulary: c.vocabularySize, maxLength: c.maxPositions, keras: "position_ids")
        let word = g.embedding(ids, torch: "embeddings.word_embeddings", keras: "word_embeddings", count: c.vocabularySize, dimension: c.hiddenSize)
        let position = g.embedding(positions, torch: "embeddings.position_embeddings", keras: "position_embeddings", count: c.maxPositions, dimension: c.hiddenSize)
        var x = g.add(word, position, keras: "embeddings_add_position")
        x = g.layerNorm(x, torch: "embeddings.LayerNorm", keras: "embeddings_layer_norm", eps: c.layerNormEps)
        let names = BERTStyle.LayerNames(query: "attention.q_lin", key: "attention.k_lin", value: "attention.v_lin", attentionOutput: "attention.out_lin",
                                         attentionNorm: ("sa_layer_norm", "sa_layer_norm"), intermediate: ("ffn.lin1", "ffn_lin1"),
                                         output: ("ffn.lin2", "ffn_lin2"), outputAdd: "output_add", outputNorm: ("output_layer_norm", "output_layer_norm"))
        for i in 0..<c.layers {
            x = BERTStyle.layer(g, x, mask: mask, heads: heads, c, names, torch: "transformer.layer.\(i)", keras: "transformer_layer_\(i)")
        }
        var outputs = [x]
        switch c.task {
        case .encoder: break
        case .sequenceClassification(let labels):
            let first = g.firstToken(x, keras: "first_token", maxLength: c.maxPositions)
            let hidden = g.linear(first, torch: "pre_classifier", keras: "pre_classifier", out: c.hiddenSize, activation: .relu)
            outputs = [g.linear(hidden, torch: "classifier", keras: "classifier", out: labels)]
        case .tokenClassification(let labels):
            outputs = [g.linear(x, torch: "classifier", keras: "classifier", out: labels)]
        case .questionAnswering:
            outputs = BERTStyle.questionAnswering(g, x)
        case .maskedLM:
            outputs = [BERTStyle.maskedLM(g, x, c, dense: "vocab_transform", activation: c.activation, norm: "vocab_layer_norm", eps: c.layerNormEps,
                                          decoder: "vocab_projector.weight", bias: "vocab_projector.bias")]
        case .causalLM:
            throw BERTStyle.encoderOnly("DistilBERT")
        }
        return try g.build(outputs: outputs)
    }
}
