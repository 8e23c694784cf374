// RoBERTa, XLM-RoBERTa and CamemBERT (transformers/models/roberta/modeling_roberta.py,
// RobertaModel; xlm_roberta is a copy of it, camembert's modular file subclasses it): BERT's encoder with BERT's very tensor names, but positions
// numbered from the padding token, `create_position_ids_from_input_ids`:
//
//   m = input_ids != pad_token_id;  position_ids = cumsum(m) · m + pad_token_id
//
// so the first real token sits at row pad + 1 of a table of max_length + 2 rows, and padding
// tokens anywhere take row `pad`. One token type. The same weights read as BERT give another
// function (positions 0…T−1): the family is chosen by config.json's model_type or by name,
// never from the weights alone.
//
// Task heads (logits out, as the Hugging Face models return them):
//   RobertaForSequenceClassification  no pooler; classifier.dense (tanh) → classifier.out_proj
//                                     on the first token (RobertaClassificationHead)
//   RobertaForTokenClassification     no pooler; classifier (Linear) on every token
//   RobertaForQuestionAnswering       no pooler; qa_outputs on every token → start, end logits
//   RobertaForMaskedLM                no pooler; lm_head.dense → GELU → lm_head.layer_norm → decoder
//                                     (tied to the word embeddings) + lm_head.bias
import ZooCore
import ZooGraph

enum RoBERTa {
    /// roberta-base.
    static let base: TransformerConfig = {
        var c = TransformerConfig(vocabularySize: 50265, hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072,
                                  maxPositions: 514, typeVocabularySize: 1, layerNormEps: 1e-5, activation: .gelu, pooler: true)
        c.padTokenID = 1
        return c
    }()

    /// The Hugging Face class-name stems of the model types this descriptor computes.
    static let classPrefixes = ["Roberta", "XLMRoberta", "Camembert"]

    static let architecture = Architecture(
        name: "roberta", family: "roberta",
        summary: "RoBERTa / XLM-RoBERTa / CamemBERT encoder (Hugging Face RobertaModel naming; positions numbered from the padding token), sized by config.json or the weights",
        defaults: ArchitectureOptions(transformer: base),
        make: { options in try build(options.transformer!) },
        infer: { infer($0) },
        normalizeKey: { BERTStyle.normalize($0, prefix: "roberta.") },
        // the masked-LM decoder's bias is the head's `lm_head.bias` (one tensor, two names)
        tolerated: { $0 == "embeddings.position_ids" || $0 == "embeddings.token_type_ids" || $0 == "lm_head.decoder.bias" },
        huggingFace: HuggingFaceConfig(
            modelTypes: ["roberta", "xlm-roberta", "camembert"],
            read: { json, fromWeights in
                var c = try BERTStyle.config(fromHuggingFace: json, pooler: fromWeights.transformer?.pooler ?? base.pooler,
                                             eps: base.layerNormEps, padTokenID: base.padTokenID)
                c.task = try BERTStyle.task(fromHuggingFace: json, fromWeights: fromWeights.transformer?.task ?? .encoder,
                                            classPrefixes: classPrefixes, family: "RoBERTa")
                c.storedDecoder = fromWeights.transformer?.storedDecoder ?? false
                try BERTStyle.checkDecoder(json, c, decoder: "lm_head.decoder.weight")
                try check(c)
                return ArchitectureOptions(transformer: c)
            },
            ambiguousWithoutConfig: { shapes in
                let byName = Dictionary(shapes.entries.map { (BERTStyle.normalize($0.name, prefix: "roberta."), $0.shape) }, uniquingKeysWith: { a, _ in a })
                if byName["classifier.weight"] != nil, byName["pooler.dense.weight"] != nil {
                    return "a Linear classifier beside a pooler is RobertaForMultipleChoice's, which zoo does not convert, or another task's, and the weights cannot say which"
                }
                return nil
            },
            // the same keys as BERT's: only a config.json or the user's word makes them RoBERTa's
            detectedWithoutConfig: false),
        smallOptions: ArchitectureOptions(transformer: {
            var c = TransformerConfig(vocabularySize: 99, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 37, maxPositions: 66,
                                      typeVocabularySize: 1, layerNormEps: 1e-5, activation: .gelu, pooler: true)
            c.padTokenID = 1
            return c
        }())
    )

    static func infer(_ shapes: TensorShapes) -> ArchitectureOptions {
        var byName: [String: [Int]] = [:]
        for e in shapes.entries { byName[BERTStyle.normalize(e.name, prefix: "roberta.")] = e.shape }
        guard let config = BERTStyle.sizes(byName, eps: base.layerNormEps, positions: base.maxPositions, types: base.typeVocabularySize,
                                           padTokenID: base.padTokenID) else { return ArchitectureOptions() }
        var options = ArchitectureOptions(transformer: config)
        if let out = byName["classifier.out_proj.weight"], out.count == 2 {
            options.transformer!.task = .sequenceClassification(labels: out[0])
        } else if let classifier = byName["classifier.weight"], classifier.count == 2, !config.pooler {
            options.transformer!.task = .tokenClassification(labels: classifier[0])
        } else if byName["qa_outputs.weight"] != nil {
            options.transformer!.task = .questionAnswering
        } else if byName["lm_head.bias"] != nil {
            options.transformer!.task = .maskedLM
            options.transformer!.storedDecoder = byName["lm_head.decoder.weight"] != nil
        }
        return options
    }

    /// The padding token must be a row of the tables it indexes: of the vocabulary (the token
    /// that pads), and of the position table with room for a position after it.
    static func check(_ c: TransformerConfig) throws {
        guard c.padTokenID < c.vocabularySize else {
            throw ZooError(.format, "config.json: expected pad_token_id below vocab_size \(c.vocabularySize), found \(c.padTokenID)")
        }
        guard c.padTokenID + 1 < c.maxPositions else {
            throw ZooError(.format, "config.json: expected max_position_embeddings above pad_token_id + 1 (RoBERTa numbers positions from pad_token_id + 1), found \(c.maxPositions) with pad_token_id \(c.padTokenID)")
        }
    }

    static func build(_ c: TransformerConfig) throws -> Graph {
        try check(c)
        let g = GraphBuilder(name: "roberta")
        // RobertaEmbeddings registers the position table after the LayerNorm (state_dict order)
        g.declareModules(["embeddings.word_embeddings", "embeddings.token_type_embeddings", "embeddings.LayerNorm", "embeddings.position_embeddings"])
        let x = BERTStyle.encoder(g, c, positions: .skippingPadding(paddingIndex: c.padTokenID))
        var outputs = [x]
        if c.pooler { outputs.append(BERTStyle.pooler(g, x, c)) }
        switch c.task {
        case .encoder: break
        case .sequenceClassification(let labels):
            // RobertaClassificationHead: features[:, 0] → dropout → dense → tanh → dropout → out_proj
            guard !c.pooler else {
                throw ZooError(.mismatch, "RobertaForSequenceClassification is built without a pooler; expected no 'pooler.dense.weight', found one")
            }
            outputs = [BERTStyle.firstTokenClassifier(g, x, c, activation: .tanh, labels: labels)]
        case .tokenClassification(let labels):
            guard !c.pooler else {
                throw ZooError(.mismatch, "RobertaForTokenClassification is built without a pooler; expected no 'pooler.dense.weight', found one")
            }
            outputs = [g.linear(x, torch: "classifier", keras: "classifier", out: labels)]
        case .questionAnswering:
            guard !c.pooler else {
                throw ZooError(.mismatch, "RobertaForQuestionAnswering is built without a pooler; expected no 'pooler.dense.weight', found one")
            }
            outputs = BERTStyle.questionAnswering(g, x)
        case .maskedLM:
            // RobertaLMHead: dense → gelu (always exact GELU, whatever hidden_act) → layer_norm → decoder
            guard !c.pooler else { throw ZooError(.mismatch, "RobertaForMaskedLM is built without a pooler; expected no 'pooler.dense.weight', found one") }
            outputs = [BERTStyle.maskedLM(g, x, c, dense: "lm_head.dense", activation: .gelu, norm: "lm_head.layer_norm", eps: c.layerNormEps,
                                          decoder: "lm_head.decoder.weight", bias: "lm_head.bias")]
        case .causalLM:
            throw BERTStyle.encoderOnly("RoBERTa")
        }
        return try g.build(outputs: outputs)
    }
}
