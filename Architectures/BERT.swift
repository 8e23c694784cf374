// A BERT-style encoder with Hugging Face naming (transformers/models/bert/modeling_bert.py,
// BertModel): embeddings (word + token type + position, LayerNorm), N encoder layers
// (self-attention with separate query/key/value, residual + LayerNorm, GELU MLP, residual +
// LayerNorm), optional pooler (tanh Dense on the first token). Sizes come from `config.json`
// beside the checkpoint or from the weights; the head count only from config.json or an option.
import ZooCore
import ZooGraph

public enum BERT {
    static let base = TransformerConfig(vocabularySize: 30522, hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072,
                                        maxPositions: 512, typeVocabularySize: 2, layerNormEps: 1e-12, activation: .gelu, pooler: true)

    static let architecture = Architecture(
        name: "bert", family: "bert",
        summary: "BERT-style encoder (Hugging Face BertModel naming), sized by config.json or the weights",
        defaults: ArchitectureOptions(transformer: base),
        make: { options in try build(options.transformer!) },
        infer: { infer($0) },
        normalizeKey: { normalize($0) },
        tolerated: { $0 == "embeddings.position_ids" || $0 == "embeddings.token_type_ids" },
        huggingFace: HuggingFaceConfig(
            modelTypes: ["bert"],
            read: { json, fromWeights in
                var c = try config(fromHuggingFace: json, pooler: fromWeights.transformer?.pooler ?? base.pooler)
                c.task = try task(fromHuggingFace: json, fromWeights: fromWeights.transformer?.task ?? .encoder)
                return ArchitectureOptions(transformer: c)
            },
            ambiguousWithoutConfig: { shapes in
                // RoBERTa, XLM-RoBERTa and CamemBERT save BERT's very keys, but number positions
                // from padding_idx + 1 (a table of max_length + 2 rows) and have one token type.
                let byName = Dictionary(shapes.entries.map { (normalize($0.name), $0.shape) }, uniquingKeysWith: { a, _ in a })
                // BertForMultipleChoice saves a one-row classifier on the pooler, as a one-label
                // BertForSequenceClassification does; only the config says which was trained.
                if byName["classifier.weight"]?.first == 1, byName["pooler.dense.weight"] != nil {
                    return "a one-output classifier on the pooled output is BertForMultipleChoice's or a one-label BertForSequenceClassification's, and the weights cannot say which"
                }
                guard let positions = byName["embeddings.position_embeddings.weight"]?.first,
                      byName["embeddings.token_type_embeddings.weight"]?.first == 1, positions % 64 == 2 else { return nil }
                return "the weights have BERT's keys but RoBERTa's layout (\(positions) position rows, one token type): RoBERTa-style models number positions differently, so converting them as BERT would be wrong"
            }),
        smallOptions: ArchitectureOptions(transformer: TransformerConfig(
            vocabularySize: 99, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 37, maxPositions: 64,
            typeVocabularySize: 2, layerNormEps: 1e-12, activation: .gelu, pooler: true))
    )

    /// `bert.` prefixes (BertFor… checkpoints) and TF-era `gamma`/`beta` LayerNorm names.
    static func normalize(_ key: String) -> String {
        var k = key.hasPrefix("bert.") ? String(key.dropFirst(5)) : key
        if k.hasSuffix("LayerNorm.gamma") { k = String(k.dropLast(5)) + "weight" }
        if k.hasSuffix("LayerNorm.beta") { k = String(k.dropLast(4)) + "bias" }
        return k
    }

    static func infer(_ shapes: TensorShapes) -> ArchitectureOptions {
        var byName: [String: [Int]] = [:]
        for e in shapes.entries { byName[normalize(e.name)] = e.shape }
        guard let word = byName["embeddings.word_embeddings.weight"], word.count == 2 else { return ArchitectureOptions() }
        var layers = 0
        while byName["encoder.layer.\(layers).attention.self.query.weight"] != nil { layers += 1 }
        let hidden = word[1]
        let config = TransformerConfig(
            vocabularySize: word[0], hiddenSize: hidden, layers: layers,
            heads: 0, // not recorded in the weights
            intermediateSize: byName["encoder.layer.0.intermediate.dense.weight"]?.first ?? 4 * hidden,
            maxPositions: byName["embeddings.position_embeddings.weight"]?.first ?? 512,
            typeVocabularySize: byName["embeddings.token_type_embeddings.weight"]?.first ?? 2,
            layerNormEps: 1e-12, activation: .gelu,
            pooler: byName["pooler.dense.weight"] != nil)
        var options = ArchitectureOptions(transformer: config)
        // BertForSequenceClassification classifies the pooled output; BertForTokenClassification
        // is built without a pooler and classifies every token: the same `classifier` keys.
        if let classifier = byName["classifier.weight"], classifier.count == 2 {
            options.transformer!.task = config.pooler ? .sequenceClassification(labels: classifier[0]) : .tokenClassification(labels: classifier[0])
        }
        return options
    }

    /// The task config.json's `architectures` names, when it names one: the weights' task when
    /// it is that one (their label count), else the config's (its `num_labels`), which matching
    /// then holds the weights to. A class zoo has no head for is refused by name.
    static func task(fromHuggingFace json: JSONValue, fromWeights: EncoderTask) throws -> EncoderTask {
        guard let named = json["architectures"]?.array?.first?.string else { return fromWeights }
        let labels: Int
        if let n = json["num_labels"]?.int { labels = n } else if let map = json["id2label"]?.object { labels = map.count } else { labels = 2 }
        let known: [EncoderTask] = [.encoder, .sequenceClassification(labels: labels), .tokenClassification(labels: labels)]
        guard let task = known.first(where: { $0.className("Bert") == named }) else {
            throw ZooError(.mismatch, "config.json: architectures names '\(shown: named)'; zoo converts \(known.map { $0.className("Bert") }.joined(separator: ", ")) of the BERT family")
        }
        return task.className("Bert") == fromWeights.className("Bert") ? fromWeights : task
    }

    /// Reads a Hugging Face `config.json`; `pooler` is not part of it and is kept from the weights.
    /// Sizes must be positive and within limits far beyond any published BERT (2^24 for a size,
    /// 4096 layers), so the graph (a dozen nodes a layer) can be built and no weight's element
    /// count (vocabulary × hidden ≤ 2^48) comes near overflowing.
    public static func config(fromHuggingFace json: JSONValue, pooler: Bool) throws -> TransformerConfig {
        func int(_ key: String, default fallback: Int? = nil) throws -> Int {
            guard let found = json[key] ?? fallback.map(JSONValue.int) else {
                throw ZooError(.format, "config.json: expected an integer '\(key)', found none")
            }
            let limit = key == "num_hidden_layers" ? 4096 : 1 << 24
            guard let v = found.int, v >= 1, v <= limit else {
                throw ZooError(.format, "config.json: expected '\(key)' to be an integer from 1 to \(limit), found \(found.serialized.prefix(40))")
            }
            return v
        }
        let act = json["hidden_act"]?.string ?? "gelu"
        let activation: ActivationKind
        switch act {
        case "gelu": activation = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": activation = .geluTanh
        case "relu": activation = .relu
        default: throw ZooError(.mismatch, "config.json: expected hidden_act gelu, gelu_new or relu, found '\(act)'")
        }
        return TransformerConfig(vocabularySize: try int("vocab_size"), hiddenSize: try int("hidden_size"),
                                 layers: try int("num_hidden_layers"), heads: try int("num_attention_heads"),
                                 intermediateSize: try int("intermediate_size"), maxPositions: try int("max_position_embeddings"),
                                 typeVocabularySize: try int("type_vocab_size", default: 2),
                                 layerNormEps: json["layer_norm_eps"]?.double ?? 1e-12, activation: activation, pooler: pooler)
    }

    static func build(_ c: TransformerConfig) throws -> Graph {
        let g = GraphBuilder(name: "bert")
        let heads = c.heads > 0 ? c.heads : 1 // unknown heads change no shape; conversion insists on knowing them
        // Called as a Hugging Face user calls BertModel: input_ids and attention_mask (and
        // token_type_ids with --token-types, for sentence pairs); position ids are arange(T) and
        // token types 0, computed inside the model as BertEmbeddings does when none are given.
        let ids = g.input("input_ids", kind: .tokens, shape: [-1], fill: .tokenIDs(vocabulary: c.vocabularySize))
        let mask = g.input("attention_mask", kind: .tokens, shape: [-1], fill: .attentionMask)
        let types = c.tokenTypeInput
            ? g.input("token_type_ids", kind: .tokens, shape: [-1], fill: .tokenTypes(count: c.typeVocabularySize))
            : g.zeroTokenTypes(like: ids, vocabulary: c.vocabularySize, keras: "token_type_ids")
        let positions = g.positions(of: ids, .sequential(offset: 0), vocabulary: c.vocabularySize, maxLength: c.maxPositions, keras: "position_ids")
        let word = g.embedding(ids, torch: "embeddings.word_embeddings", keras: "word_embeddings", count: c.vocabularySize, dimension: c.hiddenSize)
        let position = g.embedding(positions, torch: "embeddings.position_embeddings", keras: "position_embeddings", count: c.maxPositions, dimension: c.hiddenSize)
        let type = g.embedding(types, torch: "embeddings.token_type_embeddings", keras: "token_type_embeddings", count: c.typeVocabularySize, dimension: c.hiddenSize)
        var x = g.add(word, type, keras: "embeddings_add_token_type")
        x = g.add(x, position, keras: "embeddings_add_position")
        x = g.layerNorm(x, torch: "embeddings.LayerNorm", keras: "embeddings_layer_norm", eps: c.layerNormEps)
        for i in 0..<c.layers {
            let torch = "encoder.layer.\(i)"
            let keras = "encoder_layer_\(i)"
            let projections = AttentionOp.Projections(query: "\(torch).attention.self.query", key: "\(torch).attention.self.key",
                                                        value: "\(torch).attention.self.value", output: "\(torch).attention.output.dense")
            let attended = g.attention(x, mask: mask, torch: "\(torch).attention", keras: "\(keras)_attention", heads: heads, projections: projections)
            x = g.add(attended, x, keras: "\(keras)_attention_add")
            x = g.layerNorm(x, torch: "\(torch).attention.output.LayerNorm", keras: "\(keras)_attention_layer_norm", eps: c.layerNormEps)
            let hidden = g.linear(x, torch: "\(torch).intermediate.dense", keras: "\(keras)_intermediate", out: c.intermediateSize, activation: c.activation)
            let projected = g.linear(hidden, torch: "\(torch).output.dense", keras: "\(keras)_output", out: c.hiddenSize)
            x = g.add(projected, x, keras: "\(keras)_output_add")
            x = g.layerNorm(x, torch: "\(torch).output.LayerNorm", keras: "\(keras)_output_layer_norm", eps: c.layerNormEps)
        }
        var outputs = [x]
        if c.pooler {
            let first = g.firstToken(x, keras: "pooler_first_token", maxLength: c.maxPositions)
            outputs.append(g.linear(first, torch: "pooler.dense", keras: "pooler_dense", out: c.hiddenSize, activation: .tanh))
        }
        // Task heads: dropout (the identity at inference), then the classifier; logits out, as
        // the Hugging Face model returns them.
        switch c.task {
        case .encoder: break
        case .sequenceClassification(let labels):
            guard c.pooler else {
                throw ZooError(.mismatch, "BertForSequenceClassification classifies the pooled output; expected 'pooler.dense.weight', found none")
            }
            outputs = [g.linear(outputs[1], torch: "classifier", keras: "classifier", out: labels)]
        case .tokenClassification(let labels):
            outputs = [g.linear(x, torch: "classifier", keras: "classifier", out: labels)]
        }
        return try g.build(outputs: outputs)
    }
}
