// ALBERT (transformers/models/albert/modeling_albert.py, AlbertModel): BERT's embeddings at
// `embedding_size`, mapped to the hidden size by `encoder.embedding_hidden_mapping_in`, then
// `num_hidden_layers` passes through `num_hidden_groups` groups of `inner_group_num` layers whose
// weights the passes share (pass i runs group i / (layers / groups)); each layer is BERT's with
// its own names (attention.query/key/value/dense, attention.LayerNorm, ffn, ffn_output,
// full_layer_layer_norm); the pooler is a tanh Linear named `pooler`. How many passes there are
// is not in the weights: config.json says it. The Keras model holds each pass's copy of the
// shared weights (one checkpoint tensor, a Keras weight a pass).
//
// Task heads (logits out):
//   AlbertForSequenceClassification  pooled output → classifier
//   AlbertForTokenClassification     no pooler; classifier on every token
//   AlbertForQuestionAnswering       no pooler; qa_outputs on every token → start, end logits
import ZooCore
import ZooGraph

enum ALBERT {
    /// albert-base-v2.
    static let base: TransformerConfig = {
        var c = TransformerConfig(vocabularySize: 30000, hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072,
                                  maxPositions: 512, typeVocabularySize: 2, layerNormEps: 1e-12, activation: .geluTanh, pooler: true)
        c.embeddingSize = 128
        return c
    }()

    static func normalize(_ key: String) -> String { BERTStyle.normalize(key, prefix: "albert.") }

    static let architecture = Architecture(
        name: "albert", family: "albert",
        summary: "ALBERT encoder (Hugging Face AlbertModel naming; factorised embeddings, layers shared across passes), sized by config.json",
        defaults: ArchitectureOptions(transformer: base),
        make: { options in try build(options.transformer!) },
        infer: { infer($0) },
        normalizeKey: { normalize($0) },
        // the masked-LM decoder's bias is the head's `predictions.bias` (one tensor, two names)
        tolerated: { $0 == "embeddings.position_ids" || $0 == "embeddings.token_type_ids" || $0 == "predictions.decoder.bias" },
        huggingFace: HuggingFaceConfig(
            modelTypes: ["albert"],
            read: { json, fromWeights in
                let f = HuggingFaceFields(json)
                var c = try BERTStyle.config(fromHuggingFace: json, pooler: fromWeights.transformer?.pooler ?? base.pooler)
                if json["hidden_act"] == nil { c.activation = .geluTanh } // AlbertConfig's default is gelu_new
                c.embeddingSize = try f.int("embedding_size", default: 128)
                c.layerGroups = try f.int("num_hidden_groups", default: 1)
                c.innerLayers = try f.int("inner_group_num", default: 1)
                guard c.layers % c.layerGroups == 0 else {
                    throw ZooError(.format, "config.json: expected num_hidden_layers (\(c.layers)) to be a multiple of num_hidden_groups (\(c.layerGroups))")
                }
                c.task = try BERTStyle.task(fromHuggingFace: json, fromWeights: fromWeights.transformer?.task ?? .encoder,
                                            classPrefixes: ["Albert"], family: "ALBERT")
                c.storedDecoder = fromWeights.transformer?.storedDecoder ?? false
                try BERTStyle.checkDecoder(json, c, decoder: "predictions.decoder.weight")
                return ArchitectureOptions(transformer: c)
            },
            ambiguousWithoutConfig: { _ in
                "ALBERT runs its shared layers num_hidden_layers times, which the weights do not record"
            }),
        smallOptions: ArchitectureOptions(transformer: {
            var c = TransformerConfig(vocabularySize: 99, hiddenSize: 32, layers: 3, heads: 4, intermediateSize: 37, maxPositions: 64,
                                      typeVocabularySize: 2, layerNormEps: 1e-12, activation: .geluTanh, pooler: true)
            c.embeddingSize = 16
            return c
        }())
    )

    static func layer(_ group: Int, _ inner: Int) -> String { "encoder.albert_layer_groups.\(group).albert_layers.\(inner)" }

    static func infer(_ shapes: TensorShapes) -> ArchitectureOptions {
        var byName: [String: [Int]] = [:]
        for e in shapes.entries { byName[normalize(e.name)] = e.shape }
        guard let word = byName["embeddings.word_embeddings.weight"], word.count == 2,
              let mapping = byName["encoder.embedding_hidden_mapping_in.weight"], mapping.count == 2 else { return ArchitectureOptions() }
        var c = base
        (c.vocabularySize, c.embeddingSize, c.hiddenSize) = (word[0], word[1], mapping[0])
        c.heads = 0 // not recorded in the weights
        c.layerGroups = 0
        while byName["\(layer(c.layerGroups, 0)).ffn.weight"] != nil { c.layerGroups += 1 }
        c.innerLayers = 0
        while byName["\(layer(0, c.innerLayers)).ffn.weight"] != nil { c.innerLayers += 1 }
        c.layers = max(c.layerGroups, 1) * base.layers / max(base.layerGroups, 1) // config.json says; refused without it
        c.intermediateSize = byName["\(layer(0, 0)).ffn.weight"]?.first ?? base.intermediateSize
        c.maxPositions = byName["embeddings.position_embeddings.weight"]?.first ?? base.maxPositions
        c.typeVocabularySize = byName["embeddings.token_type_embeddings.weight"]?.first ?? base.typeVocabularySize
        c.pooler = byName["pooler.weight"] != nil
        if let classifier = byName["classifier.weight"], classifier.count == 2 {
            c.task = c.pooler ? .sequenceClassification(labels: classifier[0]) : .tokenClassification(labels: classifier[0])
        } else if byName["qa_outputs.weight"] != nil {
            c.task = .questionAnswering
        } else if byName["predictions.bias"] != nil {
            c.task = .maskedLM
            c.storedDecoder = byName["predictions.decoder.weight"] != nil
        }
        return ArchitectureOptions(transformer: c)
    }

    static func build(_ c: TransformerConfig) throws -> Graph {
        guard c.layerGroups >= 1, c.innerLayers >= 1, c.layers >= c.layerGroups, c.layers % c.layerGroups == 0 else {
            throw ZooError(.mismatch, "ALBERT: expected num_hidden_layers (\(c.layers)) to be a positive multiple of num_hidden_groups (\(c.layerGroups)), with inner_group_num (\(c.innerLayers)) at least 1")
        }
        let g = GraphBuilder(name: "albert")
        let heads = c.heads > 0 ? c.heads : 1 // unknown heads change no shape; conversion insists on knowing them
        var (x, mask) = BERTStyle.embeddings(g, c, positions: .sequential(offset: 0))
        x = g.linear(x, torch: "encoder.embedding_hidden_mapping_in", keras: "embedding_hidden_mapping_in", out: c.hiddenSize)
        // AlbertLayer registers full_layer_layer_norm, attention, ffn, ffn_output in that order
        g.declareModules(["embeddings", "encoder.embedding_hidden_mapping_in"])
        for group in 0..<c.layerGroups {
            for inner in 0..<c.innerLayers {
                g.declareModules(["full_layer_layer_norm", "attention", "ffn", "ffn_output"].map { "\(layer(group, inner)).\($0)" })
            }
        }
        let names = BERTStyle.LayerNames(query: "attention.query", key: "attention.key", value: "attention.value", attentionOutput: "attention.dense",
                                         attentionNorm: ("attention.LayerNorm", "attention_layer_norm"), intermediate: ("ffn", "ffn"),
                                         output: ("ffn_output", "ffn_output"), outputAdd: "ffn_add",
                                         outputNorm: ("full_layer_layer_norm", "full_layer_layer_norm"))
        for pass in 0..<c.layers {
            let group = pass / (c.layers / c.layerGroups)
            for inner in 0..<c.innerLayers {
                x = BERTStyle.layer(g, x, mask: mask, heads: heads, c, names, torch: layer(group, inner),
                                    keras: "layer_\(pass)" + (c.innerLayers > 1 ? "_\(inner)" : ""))
            }
        }
        var outputs = [x]
        if c.pooler {
            let first = g.firstToken(x, keras: "pooler_first_token", maxLength: c.maxPositions)
            outputs.append(g.linear(first, torch: "pooler", keras: "pooler", out: c.hiddenSize, activation: .tanh))
        }
        switch c.task {
        case .encoder: break
        case .sequenceClassification(let labels):
            guard c.pooler else { throw ZooError(.mismatch, "AlbertForSequenceClassification classifies the pooled output; expected 'pooler.weight', found none") }
            outputs = [g.linear(outputs[1], torch: "classifier", keras: "classifier", out: labels)]
        case .tokenClassification(let labels):
            outputs = [g.linear(x, torch: "classifier", keras: "classifier", out: labels)]
        case .questionAnswering:
            outputs = BERTStyle.questionAnswering(g, x)
        case .maskedLM:
            // AlbertMLMHead registers LayerNorm, bias, dense, decoder: dense → activation → LayerNorm → decoder
            guard !c.pooler else { throw ZooError(.mismatch, "AlbertForMaskedLM is built without a pooler; expected no 'pooler.weight', found one") }
            g.declareModules(["predictions.LayerNorm", "predictions.dense"])
            outputs = [BERTStyle.maskedLM(g, x, c, dense: "predictions.dense", activation: c.activation, norm: "predictions.LayerNorm", eps: c.layerNormEps,
                                          decoder: "predictions.decoder.weight", bias: "predictions.bias", width: c.embeddingSize)]
        case .causalLM:
            throw BERTStyle.encoderOnly("ALBERT")
        }
        return try g.build(outputs: outputs)
    }
}
