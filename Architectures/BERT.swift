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
        // the masked-LM decoder's bias is the head's `cls.predictions.bias` (one tensor, two names)
        tolerated: { $0 == "embeddings.position_ids" || $0 == "embeddings.token_type_ids" || $0 == "cls.predictions.decoder.bias" },
        huggingFace: HuggingFaceConfig(
            modelTypes: ["bert"],
            read: { json, fromWeights in
                var c = try config(fromHuggingFace: json, pooler: fromWeights.transformer?.pooler ?? base.pooler)
                c.task = try BERTStyle.task(fromHuggingFace: json, fromWeights: fromWeights.transformer?.task ?? .encoder, classPrefixes: ["Bert"], family: "BERT")
                c.storedDecoder = fromWeights.transformer?.storedDecoder ?? false
                try BERTStyle.checkDecoder(json, c, decoder: "cls.predictions.decoder.weight")
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
                return "the weights have BERT's keys but RoBERTa's layout (\(positions) position rows, one token type): RoBERTa-style models number positions differently, so converting them as BERT would be wrong (name `roberta` if it is one)"
            }),
        smallOptions: ArchitectureOptions(transformer: TransformerConfig(
            vocabularySize: 99, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 37, maxPositions: 64,
            typeVocabularySize: 2, layerNormEps: 1e-12, activation: .gelu, pooler: true))
    )

    /// `bert.` prefixes (BertFor… checkpoints) and TF-era `gamma`/`beta` LayerNorm names.
    static func normalize(_ key: String) -> String { BERTStyle.normalize(key, prefix: "bert.") }

    static func infer(_ shapes: TensorShapes) -> ArchitectureOptions {
        var byName: [String: [Int]] = [:]
        for e in shapes.entries { byName[normalize(e.name)] = e.shape }
        guard let config = BERTStyle.sizes(byName, eps: base.layerNormEps, positions: base.maxPositions, types: base.typeVocabularySize,
                                           padTokenID: base.padTokenID) else { return ArchitectureOptions() }
        var options = ArchitectureOptions(transformer: config)
        // BertForSequenceClassification classifies the pooled output; BertForTokenClassification
        // is built without a pooler and classifies every token: the same `classifier` keys.
        if let classifier = byName["classifier.weight"], classifier.count == 2 {
            options.transformer!.task = config.pooler ? .sequenceClassification(labels: classifier[0]) : .tokenClassification(labels: classifier[0])
        } else if byName["qa_outputs.weight"] != nil {
            options.transformer!.task = .questionAnswering
        } else if byName["cls.predictions.bias"] != nil {
            options.transformer!.task = .maskedLM
            options.transformer!.storedDecoder = byName["cls.predictions.decoder.weight"] != nil
        }
        return options
    }

    /// Reads a Hugging Face `config.json` (see `BERTStyle.config`).
    public static func config(fromHuggingFace json: JSONValue, pooler: Bool) throws -> TransformerConfig {
        try BERTStyle.config(fromHuggingFace: json, pooler: pooler)
    }

    static func build(_ c: TransformerConfig) throws -> Graph {
        let g = GraphBuilder(name: "bert")
        // positions 0…T−1 whatever the tokens, as BertEmbeddings numbers them
        let x = BERTStyle.encoder(g, c, positions: .sequential(offset: 0))
        var outputs = [x]
        if c.pooler { outputs.append(BERTStyle.pooler(g, x, c)) }
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
        case .questionAnswering:
            guard !c.pooler else {
                throw ZooError(.mismatch, "BertForQuestionAnswering is built without a pooler; expected no 'pooler.dense.weight', found one")
            }
            outputs = BERTStyle.questionAnswering(g, x)
        case .maskedLM:
            guard !c.pooler else { throw ZooError(.mismatch, "BertForMaskedLM is built without a pooler; expected no 'pooler.dense.weight', found one") }
            outputs = [BERTStyle.maskedLM(g, x, c, dense: "cls.predictions.transform.dense", activation: c.activation,
                                          norm: "cls.predictions.transform.LayerNorm", eps: c.layerNormEps,
                                          decoder: "cls.predictions.decoder.weight", bias: "cls.predictions.bias")]
        case .causalLM:
            throw BERTStyle.encoderOnly("BERT")
        }
        return try g.build(outputs: outputs)
    }
}
