// What the BERT-style encoders of Hugging Face share (transformers/models/bert/modeling_bert.py,
// and the RoBERTa family's copies of it): the embeddings (word + token type + position,
// LayerNorm), N post-LayerNorm encoder layers with separate query/key/value, the tanh pooler,
// the sizes config.json and the weights give, and the task a config's `architectures` names.
// A family states only what is its own: how positions are numbered, its prefix, its heads.
import ZooCore
import ZooGraph

enum BERTStyle {
    /// Embeddings and encoder layers as `BertModel` computes them, called as a Hugging Face user
    /// calls it: `input_ids` and `attention_mask` (and `token_type_ids` with --token-types);
    /// positions from `positions` and token types 0 are computed inside the model, as the
    /// embeddings module does when none are given. Returns the last hidden state.
    static func encoder(_ g: GraphBuilder, _ c: TransformerConfig, positions mode: TokenPositionsOp.Mode) -> Value {
        var (x, mask) = embeddings(g, c, positions: mode)
        if let e = c.embeddingSize, e != c.hiddenSize {
            x = g.linear(x, torch: "embeddings_project", keras: "embeddings_project", out: c.hiddenSize)
        }
        let heads = c.heads > 0 ? c.heads : 1 // unknown heads change no shape; conversion insists on knowing them
        for i in 0..<c.layers {
            x = layer(g, x, mask: mask, heads: heads, c, .bert, torch: "encoder.layer.\(i)", keras: "encoder_layer_\(i)")
        }
        return x
    }

    /// How a family names the modules of its post-LayerNorm layer (relative to the layer's path)
    /// and their Keras layers (suffixes of the layer's Keras name).
    struct LayerNames {
        var query, key, value, attentionOutput: String
        var attentionNorm: (torch: String, keras: String)
        var intermediate: (torch: String, keras: String)
        var output: (torch: String, keras: String)
        var outputAdd: String
        var outputNorm: (torch: String, keras: String)

        static let bert = LayerNames(query: "attention.self.query", key: "attention.self.key", value: "attention.self.value",
                                     attentionOutput: "attention.output.dense",
                                     attentionNorm: ("attention.output.LayerNorm", "attention_layer_norm"),
                                     intermediate: ("intermediate.dense", "intermediate"), output: ("output.dense", "output"),
                                     outputAdd: "output_add", outputNorm: ("output.LayerNorm", "output_layer_norm"))
    }

    /// One BERT layer: self-attention (`<torch>.attention`) → residual → LayerNorm → Linear with
    /// the activation → Linear → residual → LayerNorm, under the family's names.
    static func layer(_ g: GraphBuilder, _ input: Value, mask: Value, heads: Int, _ c: TransformerConfig, _ n: LayerNames,
                      torch: String, keras: String) -> Value {
        let projections = AttentionOp.Projections(query: "\(torch).\(n.query)", key: "\(torch).\(n.key)",
                                                    value: "\(torch).\(n.value)", output: "\(torch).\(n.attentionOutput)")
        let attended = g.attention(input, mask: mask, torch: "\(torch).attention", keras: "\(keras)_attention", heads: heads, projections: projections)
        var x = g.add(attended, input, keras: "\(keras)_attention_add")
        x = g.layerNorm(x, torch: "\(torch).\(n.attentionNorm.torch)", keras: "\(keras)_\(n.attentionNorm.keras)", eps: c.layerNormEps)
        let hidden = g.linear(x, torch: "\(torch).\(n.intermediate.torch)", keras: "\(keras)_\(n.intermediate.keras)", out: c.intermediateSize,
                              activation: c.activation)
        let projected = g.linear(hidden, torch: "\(torch).\(n.output.torch)", keras: "\(keras)_\(n.output.keras)", out: c.hiddenSize)
        x = g.add(projected, x, keras: "\(keras)_\(n.outputAdd)")
        return g.layerNorm(x, torch: "\(torch).\(n.outputNorm.torch)", keras: "\(keras)_\(n.outputNorm.keras)", eps: c.layerNormEps)
    }

    /// The model's inputs and `BertEmbeddings` (word + token type + position, LayerNorm), at
    /// `embeddingSize` wide when set; returns the embedded tokens and the attention mask input.
    static func embeddings(_ g: GraphBuilder, _ c: TransformerConfig, positions mode: TokenPositionsOp.Mode) -> (Value, Value) {
        // RoBERTa's padding tokens sit where the mask is 0, as its tokenizer pads.
        let padding: Int? = { if case .skippingPadding(let pad) = mode { return pad }; return nil }()
        let ids = g.input("input_ids", kind: .tokens, shape: [-1], fill: .tokenIDs(vocabulary: c.vocabularySize, padding: padding))
        let mask = g.input("attention_mask", kind: .tokens, shape: [-1], fill: .attentionMask)
        let types = c.tokenTypeInput
            ? g.input("token_type_ids", kind: .tokens, shape: [-1], fill: .tokenTypes(count: c.typeVocabularySize))
            : g.zeroTokenTypes(like: ids, vocabulary: c.vocabularySize, keras: "token_type_ids")
        let positions = g.positions(of: ids, mode, vocabulary: c.vocabularySize, maxLength: c.maxPositions, keras: "position_ids")
        let e = c.embeddingSize ?? c.hiddenSize
        let word = g.embedding(ids, torch: "embeddings.word_embeddings", keras: "word_embeddings", count: c.vocabularySize, dimension: e)
        let position = g.embedding(positions, torch: "embeddings.position_embeddings", keras: "position_embeddings", count: c.maxPositions, dimension: e)
        let type = g.embedding(types, torch: "embeddings.token_type_embeddings", keras: "token_type_embeddings", count: c.typeVocabularySize, dimension: e)
        var x = g.add(word, type, keras: "embeddings_add_token_type")
        x = g.add(x, position, keras: "embeddings_add_position")
        x = g.layerNorm(x, torch: "embeddings.LayerNorm", keras: "embeddings_layer_norm", eps: c.layerNormEps)
        return (x, mask)
    }

    /// The classification head of RoBERTa and ELECTRA (`…ClassificationHead`): the first token →
    /// `classifier.dense` → `activation` (tanh; ELECTRA's GELU) → `classifier.out_proj`.
    static func firstTokenClassifier(_ g: GraphBuilder, _ x: Value, _ c: TransformerConfig, activation: ActivationKind, labels: Int) -> Value {
        let first = g.firstToken(x, keras: "classifier_first_token", maxLength: c.maxPositions)
        let hidden = g.linear(first, torch: "classifier.dense", keras: "classifier_dense", out: c.hiddenSize, activation: activation)
        return g.linear(hidden, torch: "classifier.out_proj", keras: "classifier_out_proj", out: labels)
    }

    /// The question-answering head every family spells alike: `qa_outputs` on every token, its
    /// two columns the start and the end logits.
    static func questionAnswering(_ g: GraphBuilder, _ x: Value) -> [Value] {
        let logits = g.linear(x, torch: "qa_outputs", keras: "qa_outputs", out: 2)
        return [g.pickLast(logits, 0, keras: "start_logits"), g.pickLast(logits, 1, keras: "end_logits")]
    }

    /// A masked-LM head: every token through `transform` (a Dense with `activation`, then a
    /// LayerNorm), then the decoder — its own stored weight, or the word embeddings it is tied to
    /// — with the head's bias. Paths are the family's (`cls.predictions.…`, `lm_head.…`).
    /// `width`: the prediction transform's output, the word embeddings' width (ALBERT's and
    /// ELECTRA's generator's `embedding_size`); the hidden size when nil.
    static func maskedLM(_ g: GraphBuilder, _ x: Value, _ c: TransformerConfig, dense: String, activation: ActivationKind,
                         norm: String, eps: Double, decoder: String, bias: String, words: String = "embeddings.word_embeddings.weight",
                         width: Int? = nil) -> Value {
        var h = g.linear(x, torch: dense, keras: "mlm_dense", out: width ?? c.hiddenSize, activation: activation)
        h = g.layerNorm(h, torch: norm, keras: "mlm_layer_norm", eps: eps)
        return g.tiedLinear(h, weight: c.storedDecoder ? decoder : words, bias: bias, keras: "mlm_decoder", out: c.vocabularySize)
    }

    /// A config that unties the decoder needs the decoder's own weight in the checkpoint.
    static func checkDecoder(_ json: JSONValue, _ c: TransformerConfig, decoder: String) throws {
        if c.task == .maskedLM, !c.storedDecoder, json["tie_word_embeddings"]?.bool == false {
            throw ZooError(.mismatch, "config.json says tie_word_embeddings false, so the decoder has weights of its own; expected '\(decoder)' in the checkpoint, found none")
        }
    }

    /// `BertPooler`: the first token's hidden state through a tanh Dense.
    static func pooler(_ g: GraphBuilder, _ x: Value, _ c: TransformerConfig) -> Value {
        let first = g.firstToken(x, keras: "pooler_first_token", maxLength: c.maxPositions)
        return g.linear(first, torch: "pooler.dense", keras: "pooler_dense", out: c.hiddenSize, activation: .tanh)
    }

    /// TF-era `gamma`/`beta` LayerNorm names, and the task models' prefix (`bert.`, `roberta.`).
    static func normalize(_ key: String, prefix: String) -> String {
        var k = key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : key
        if k.hasSuffix("LayerNorm.gamma") { k = String(k.dropLast(5)) + "weight" }
        if k.hasSuffix("LayerNorm.beta") { k = String(k.dropLast(4)) + "bias" }
        return k
    }

    /// The encoder's sizes read off its weights (names already normalized); nil without word
    /// embeddings. The head count is not in the weights (0), nor the epsilon (`eps`).
    static func sizes(_ byName: [String: [Int]], eps: Double, positions: Int, types: Int, padTokenID: Int) -> TransformerConfig? {
        guard let word = byName["embeddings.word_embeddings.weight"], word.count == 2 else { return nil }
        var layers = 0
        while byName["encoder.layer.\(layers).attention.self.query.weight"] != nil { layers += 1 }
        let hidden = word[1]
        var c = TransformerConfig(
            vocabularySize: word[0], hiddenSize: hidden, layers: layers,
            heads: 0, // not recorded in the weights
            intermediateSize: byName["encoder.layer.0.intermediate.dense.weight"]?.first ?? 4 * hidden,
            maxPositions: byName["embeddings.position_embeddings.weight"]?.first ?? positions,
            typeVocabularySize: byName["embeddings.token_type_embeddings.weight"]?.first ?? types,
            layerNormEps: eps, activation: .gelu,
            pooler: byName["pooler.dense.weight"] != nil)
        c.padTokenID = padTokenID
        return c
    }

    /// The task config.json's `architectures` names, when it names one: the weights' task when
    /// it is that one (their label count), else the config's (its `num_labels`), which matching
    /// then holds the weights to. `classPrefixes` are the family's class-name stems ("Bert";
    /// "Roberta", "XLMRoberta"); a class zoo has no head for is refused by name.
    /// An encoder family asked for a decoder's head.
    static func encoderOnly(_ family: String) -> ZooError {
        ZooError(.mismatch, "\(family) is an encoder: it has no causal language-model head (zoo converts its masked-LM and task heads)")
    }

    static func task(fromHuggingFace json: JSONValue, fromWeights: EncoderTask, classPrefixes: [String], family: String) throws -> EncoderTask {
        guard let named = json["architectures"]?.array?.first?.string else { return fromWeights }
        let labels = try HuggingFaceFields(json).labels()
        let known: [EncoderTask] = [.encoder, .sequenceClassification(labels: labels), .tokenClassification(labels: labels), .questionAnswering, .maskedLM]
        for prefix in classPrefixes {
            guard let task = known.first(where: { $0.className(prefix) == named }) else { continue }
            return task.className(prefix) == fromWeights.className(prefix) ? fromWeights : task
        }
        let prefix = classPrefixes[0]
        throw ZooError(.mismatch, "config.json: architectures names '\(shown: named)'; zoo converts \(known.map { $0.className(prefix) }.joined(separator: ", ")) of the \(family) family")
    }

    /// Reads a Hugging Face `config.json` of a BERT-style encoder; `pooler` is not part of it and
    /// is kept from the weights, `padTokenID` and `eps` are the family's defaults when it is
    /// silent. Sizes must be positive and within limits far beyond any published model (2^24 for
    /// a size, 4096 layers), so the graph (a dozen nodes a layer) can be built and no weight's
    /// element count (vocabulary × hidden ≤ 2^48) comes near overflowing. Positions other than
    /// absolute ones (`position_embedding_type` relative_key …) are refused by name.
    static func config(fromHuggingFace json: JSONValue, pooler: Bool, eps: Double = 1e-12, padTokenID: Int = 0) throws -> TransformerConfig {
        let fields = HuggingFaceFields(json)
        func int(_ key: String, default fallback: Int? = nil, minimum: Int = 1) throws -> Int {
            try fields.int(key, default: fallback, minimum: minimum)
        }
        let activation = try fields.activation("hidden_act")
        if let kind = json["position_embedding_type"], kind.string != "absolute" {
            throw ZooError(.mismatch, "config.json: expected position_embedding_type 'absolute', found \(kind.serialized.prefix(40)); zoo has no lowering of relative position embeddings yet")
        }
        var c = TransformerConfig(vocabularySize: try int("vocab_size"), hiddenSize: try int("hidden_size"),
                                  layers: try int("num_hidden_layers"), heads: try int("num_attention_heads"),
                                  intermediateSize: try int("intermediate_size"), maxPositions: try int("max_position_embeddings"),
                                  typeVocabularySize: try int("type_vocab_size", default: 2),
                                  layerNormEps: json["layer_norm_eps"]?.double ?? eps, activation: activation, pooler: pooler)
        // pad_token_id may be null in a config (no padding token): the family's default then.
        c.padTokenID = json["pad_token_id"]?.int != nil ? try int("pad_token_id", minimum: 0) : padTokenID
        return c
    }
}

/// The fields of a Hugging Face `config.json`, read with the bounds every family needs: sizes
/// positive and within limits far beyond any published model (2^24 for a size, 4096 layers), so
/// a graph can be built and no weight's element count comes near overflowing.
struct HuggingFaceFields {
    let json: JSONValue

    init(_ json: JSONValue) { self.json = json }

    /// `limit`: the largest value accepted; 4096 for a layer count (a key ending in `layers`,
    /// or given), 2^24 for any other size.
    func int(_ key: String, default fallback: Int? = nil, minimum: Int = 1, limit: Int? = nil) throws -> Int {
        guard let found = json[key] ?? fallback.map(JSONValue.int) else {
            throw ZooError(.format, "config.json: expected an integer '\(key)', found none")
        }
        let limit = limit ?? (key.hasSuffix("layers") ? 4096 : 1 << 24)
        guard let v = found.int, v >= minimum, v <= limit else {
            throw ZooError(.format, "config.json: expected '\(key)' to be an integer from \(minimum) to \(limit), found \(found.serialized.prefix(40))")
        }
        return v
    }

    /// A LayerNorm epsilon: a number strictly between 0 and 1, `fallback` when absent.
    func epsilon(_ key: String, default fallback: Double) throws -> Double {
        guard let found = json[key] else { return fallback }
        guard let e = found.double, e > 0, e < 1 else {
            throw ZooError(.format, "config.json: expected '\(key)' to be a number between 0 and 1, found \(found.serialized.prefix(40))")
        }
        return e
    }

    /// A classifier's label count: `num_labels`, else the size of `id2label`, else 2 (transformers'
    /// default), from 1 to 2^24.
    func labels() throws -> Int {
        if json["num_labels"] != nil { return try int("num_labels") }
        return try int("num_labels", default: json["id2label"]?.object?.count ?? 2)
    }

    /// `hidden_act` / `activation`: the activations Hugging Face encoders name.
    func activation(_ key: String) throws -> ActivationKind {
        let act = json[key]?.string ?? "gelu"
        switch act {
        case "gelu": return .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": return .geluTanh
        case "relu": return .relu
        case "quick_gelu": return .quickGelu
        default: throw ZooError(.mismatch, "config.json: expected \(key) gelu, gelu_new, quick_gelu or relu, found '\(shown: act)'")
        }
    }
}
