// ELECTRA's discriminator (transformers/models/electra/modeling_electra.py, ElectraModel): BERT's
// embeddings at `embedding_size` wide, projected to the hidden size by `embeddings_project` when
// the two differ, then BERT's encoder layers; no pooler. Positions 0…T−1 as BERT numbers them.
// With embedding_size = hidden_size its keys are those of a BertModel without pooler, and it
// computes what that BertModel computes; config.json's model_type names which one it is.
//
// Task heads (logits out):
//   ElectraForSequenceClassification  first token → classifier.dense → GELU → classifier.out_proj
//   ElectraForTokenClassification     classifier on every token
//   ElectraForQuestionAnswering       qa_outputs on every token → start, end logits
import ZooCore
import ZooGraph

enum ELECTRA {
    /// google/electra-base-discriminator.
    static let base = TransformerConfig(vocabularySize: 30522, hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072,
                                        maxPositions: 512, typeVocabularySize: 2, layerNormEps: 1e-12, activation: .gelu, pooler: false)

    static func normalize(_ key: String) -> String { BERTStyle.normalize(key, prefix: "electra.") }

    static let architecture = Architecture(
        name: "electra", family: "electra",
        summary: "ELECTRA discriminator (Hugging Face ElectraModel naming; embeddings_project when embedding_size ≠ hidden_size), sized by config.json or the weights",
        defaults: ArchitectureOptions(transformer: base),
        make: { options in try build(options.transformer!) },
        infer: { infer($0) },
        normalizeKey: { normalize($0) },
        tolerated: { $0 == "embeddings.position_ids" || $0 == "embeddings.token_type_ids" },
        huggingFace: HuggingFaceConfig(
            modelTypes: ["electra"],
            read: { json, fromWeights in
                var c = try BERTStyle.config(fromHuggingFace: json, pooler: false)
                let embedding = try HuggingFaceFields(json).int("embedding_size", default: c.hiddenSize)
                c.embeddingSize = embedding == c.hiddenSize ? nil : embedding
                c.task = try BERTStyle.task(fromHuggingFace: json, fromWeights: fromWeights.transformer?.task ?? .encoder,
                                            classPrefixes: ["Electra"], family: "ELECTRA")
                c.storedDecoder = fromWeights.transformer?.storedDecoder ?? false
                try BERTStyle.checkDecoder(json, c, decoder: "generator_lm_head.weight")
                return ArchitectureOptions(transformer: c)
            },
            // BertModel's keys without a pooler: only the config or the name makes weights ELECTRA's
            detectedWithoutConfig: false),
        smallOptions: ArchitectureOptions(transformer: {
            var c = TransformerConfig(vocabularySize: 99, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 37, maxPositions: 64,
                                      typeVocabularySize: 2, layerNormEps: 1e-12, activation: .gelu, pooler: false)
            c.embeddingSize = 16
            return c
        }())
    )

    static func infer(_ shapes: TensorShapes) -> ArchitectureOptions {
        var byName: [String: [Int]] = [:]
        for e in shapes.entries { byName[normalize(e.name)] = e.shape }
        guard var c = BERTStyle.sizes(byName, eps: base.layerNormEps, positions: base.maxPositions, types: base.typeVocabularySize,
                                      padTokenID: base.padTokenID) else { return ArchitectureOptions() }
        if let project = byName["embeddings_project.weight"], project.count == 2 {
            (c.embeddingSize, c.hiddenSize) = (project[1], project[0])
        }
        if let out = byName["classifier.out_proj.weight"], out.count == 2 {
            c.task = .sequenceClassification(labels: out[0])
        } else if let classifier = byName["classifier.weight"], classifier.count == 2 {
            c.task = .tokenClassification(labels: classifier[0])
        } else if byName["qa_outputs.weight"] != nil {
            c.task = .questionAnswering
        } else if byName["generator_lm_head.bias"] != nil {
            c.task = .maskedLM
            c.storedDecoder = byName["generator_lm_head.weight"] != nil
        }
        return ArchitectureOptions(transformer: c)
    }

    static func build(_ c: TransformerConfig) throws -> Graph {
        let g = GraphBuilder(name: "electra")
        let x = BERTStyle.encoder(g, c, positions: .sequential(offset: 0))
        var outputs = [x]
        switch c.task {
        case .encoder: break
        case .sequenceClassification(let labels):
            outputs = [BERTStyle.firstTokenClassifier(g, x, c, activation: .gelu, labels: labels)]
        case .tokenClassification(let labels):
            outputs = [g.linear(x, torch: "classifier", keras: "classifier", out: labels)]
        case .questionAnswering:
            outputs = BERTStyle.questionAnswering(g, x)
        case .maskedLM:
            // the generator: ElectraGeneratorPredictions (dense → GELU → LayerNorm, registered
            // LayerNorm first) → generator_lm_head, tied to the word embeddings, with its own bias
            g.declareModules(["generator_predictions.LayerNorm", "generator_predictions.dense"])
            outputs = [BERTStyle.maskedLM(g, x, c, dense: "generator_predictions.dense", activation: .gelu, norm: "generator_predictions.LayerNorm",
                                          eps: c.layerNormEps, decoder: "generator_lm_head.weight", bias: "generator_lm_head.bias",
                                          width: c.embeddingSize)]
        case .causalLM:
            throw BERTStyle.encoderOnly("ELECTRA")
        }
        return try g.build(outputs: outputs)
    }
}
