import ZooCore
// The activation functions are part of the vocabulary descriptors speak.
@_exported import ZooKernels

/// Sizes a descriptor can vary without becoming a new architecture.
public struct ArchitectureOptions: Sendable, Equatable {
    /// Output classes of an image classifier (the last Linear's out features).
    public var classes: Int?
    /// Input height (and width, unless `imageWidth` says otherwise) of an image model.
    public var imageSize: Int?
    /// Input width of an image model whose input is not square; nil: `imageSize`.
    public var imageWidth: Int?
    /// Hyper-parameters of a transformer encoder.
    public var transformer: TransformerConfig?
    /// torchvision's `transform_input` (GoogLeNet, Inception v3): the model first maps
    /// ImageNet-normalised input to the (x − 0.5) / 0.5 scaling its original weights expect. The
    /// weights do not record it; nil for architectures without it.
    public var transformInput: Bool?
    /// Whether the model has the auxiliary classifiers PyTorch runs only in training (GoogLeNet's
    /// `aux1`/`aux2`, Inception v3's `AuxLogits`), as the checkpoint has them or not.
    public var auxiliaryClassifiers: Bool?
    /// The classifier at the architecture's head slot, as the checkpoint holds it (nil: the
    /// descriptor's own Linear).
    public var head: ClassifierHead?

    public init(classes: Int? = nil, imageSize: Int? = nil, imageWidth: Int? = nil, transformer: TransformerConfig? = nil,
                transformInput: Bool? = nil, auxiliaryClassifiers: Bool? = nil, head: ClassifierHead? = nil) {
        self.head = head
        self.imageWidth = imageWidth
        self.classes = classes
        self.imageSize = imageSize
        self.transformer = transformer
        self.transformInput = transformInput
        self.auxiliaryClassifiers = auxiliaryClassifiers
    }

    /// `other`'s fields where they are set, else these.
    public func overridden(by other: ArchitectureOptions) -> ArchitectureOptions {
        // a size given overrides both sides: a square one its width too
        ArchitectureOptions(classes: other.classes ?? classes, imageSize: other.imageSize ?? imageSize,
                            imageWidth: other.imageSize != nil ? other.imageWidth : imageWidth,
                            transformer: other.transformer ?? transformer, transformInput: other.transformInput ?? transformInput,
                            auxiliaryClassifiers: other.auxiliaryClassifiers ?? auxiliaryClassifiers, head: other.head ?? head)
    }
}

/// An image model's input size.
public struct ImageSize: Sendable, Equatable, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) { (self.height, self.width) = (height, width) }

    public var isSquare: Bool { height == width }
    /// "224" for a square size, "197×161" otherwise.
    public var description: String { isSquare ? "\(height)" : "\(height)×\(width)" }
}

extension ArchitectureOptions {
    /// The input size, from `imageSize` and `imageWidth`.
    public var image: ImageSize? { imageSize.map { ImageSize(height: $0, width: imageWidth ?? $0) } }
}

/// A BERT-style encoder's hyper-parameters (Hugging Face `config.json` names in comments).
public struct TransformerConfig: Sendable, Equatable {
    public var vocabularySize: Int        // vocab_size
    public var hiddenSize: Int            // hidden_size
    public var layers: Int                // num_hidden_layers
    public var heads: Int                 // num_attention_heads
    public var intermediateSize: Int      // intermediate_size
    public var maxPositions: Int          // max_position_embeddings
    public var typeVocabularySize: Int    // type_vocab_size
    public var layerNormEps: Double       // layer_norm_eps
    public var activation: ActivationKind // hidden_act
    public var pooler: Bool
    /// The padding token's id (`pad_token_id`): RoBERTa numbers positions around it; −1 for
    /// none (GPT-2's default, `null`).
    public var padTokenID = 0
    /// Whether `padTokenID` was read from config.json (GPT-2 pools its sequence classifier at
    /// the last token that is not padding: the weights cannot say which token pads).
    public var padTokenFromConfig = false
    /// `nn.TransformerEncoderLayer(norm_first=…)`: LayerNorm before attention and MLP rather
    /// than after the residuals. nil for families whose structure fixes it (the BERT family);
    /// set for one whose weights record neither it nor the activation (options then say them).
    public var normFirst: Bool?
    /// The embeddings' width when it differs from the hidden size (ELECTRA's `embedding_size`,
    /// projected by `embeddings_project`); nil: the hidden size.
    public var embeddingSize: Int?
    /// ALBERT's shared layers: `num_hidden_groups` groups of `inner_group_num` layers, whose
    /// weights every one of the `layers` passes reuses (1 and 1 elsewhere).
    public var layerGroups = 1
    public var innerLayers = 1
    /// A final LayerNorm after the last layer (`nn.TransformerEncoder(norm=…)`), from the weights.
    public var finalNorm = false
    /// A masked-LM decoder's weight is in the checkpoint (`state_dict()` keeps the tied copy;
    /// `save_pretrained` drops it, and the word embeddings are then the decoder's weight).
    public var storedDecoder = false
    /// The Keras model takes `token_type_ids` (sentence pairs); else token types are 0, as
    /// Hugging Face models compute them when a caller passes none.
    public var tokenTypeInput = false
    /// The Hugging Face task head on the encoder (`BertForSequenceClassification` …).
    public var task: EncoderTask = .encoder
    /// A vision transformer's patch size (Hugging Face `patch_size`); 0 for a text model.
    public var patchSize = 0
    /// DeiT's distillation token (after the class token) and, for an image classifier, its second
    /// head: `DeiTForImageClassificationWithTeacher` averages the class and distillation tokens'
    /// classifiers (`cls_classifier`, `distillation_classifier`).
    public var distillationToken = false
    public var distillationHead = false
    /// A hierarchical vision transformer's stages (Swin's `depths`, `num_heads`), its window
    /// (`window_size`) and its MLP width per stage width (`mlp_ratio`).
    public var stageDepths: [Int] = []
    public var stageHeads: [Int] = []
    public var windowSize = 0
    public var mlpRatio = 4.0

    public init(vocabularySize: Int, hiddenSize: Int, layers: Int, heads: Int, intermediateSize: Int, maxPositions: Int,
                typeVocabularySize: Int, layerNormEps: Double, activation: ActivationKind, pooler: Bool) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions
        self.typeVocabularySize = typeVocabularySize
        self.layerNormEps = layerNormEps
        self.activation = activation
        self.pooler = pooler
    }
}

/// What a Hugging Face encoder checkpoint computes on top of the encoder: read from the weights
/// (`classifier.weight` with or without a pooler), decided by config.json's `architectures`.
public enum EncoderTask: Sendable, Equatable {
    /// The bare encoder (`BertModel`): last hidden state and, with a pooler, the pooled output.
    case encoder
    /// `…ForSequenceClassification`: pooled output → dropout → Linear(hidden, labels); logits only.
    case sequenceClassification(labels: Int)
    /// `…ForTokenClassification`: every token's hidden state → dropout → Linear(hidden, labels).
    case tokenClassification(labels: Int)
    /// `…ForQuestionAnswering`: every token → Linear(hidden, 2), split into the start and the
    /// end logits ([T] each), the two outputs the Hugging Face model returns.
    case questionAnswering
    /// `…ForMaskedLM`: every token → the family's prediction transform → the decoder, whose weight
    /// is the word embeddings' (tied) unless the checkpoint stores its own; logits over the vocabulary.
    case maskedLM
    /// A decoder's language-model head (`GPT2LMHeadModel`, `…ForCausalLM`): every token → the
    /// output embedding, tied to the word embeddings unless the checkpoint stores its own; logits
    /// over the vocabulary.
    case causalLM

    /// The Hugging Face class of `family` ("Bert") this task is.
    public func className(_ family: String) -> String {
        switch self {
        case .encoder: return "\(family)Model"
        case .sequenceClassification: return "\(family)ForSequenceClassification"
        case .tokenClassification: return "\(family)ForTokenClassification"
        case .questionAnswering: return "\(family)ForQuestionAnswering"
        case .maskedLM: return "\(family)ForMaskedLM"
        case .causalLM: return "\(family)ForCausalLM"
        }
    }
}

/// The names and shapes of a checkpoint's tensors, as matching sees them.
public struct TensorShapes: Sendable {
    public var entries: [(name: String, shape: [Int], dtype: DType)]
    /// The prefix removed from every name of the checkpoint (`model.`, `_orig_mod.`), "" for none.
    public private(set) var strippedPrefix = ""

    public init(_ entries: [(name: String, shape: [Int], dtype: DType)]) { self.entries = entries }

    public subscript(name: String) -> [Int]? { entries.first { $0.name == name }?.shape }
    public var names: [String] { entries.map(\.name) }

    /// The checkpoint's own name of an entry here.
    public func original(_ name: String) -> String { strippedPrefix + name }

    /// The same tensors with `prefix` removed from every name, or nil when a name lacks it.
    public func stripping(_ prefix: String) -> TensorShapes? {
        guard !prefix.isEmpty else { return self }
        guard entries.allSatisfy({ $0.name.hasPrefix(prefix) && $0.name.count > prefix.count }) else { return nil }
        var out = TensorShapes(entries.map { (String($0.name.dropFirst(prefix.count)), $0.shape, $0.dtype) })
        out.strippedPrefix = strippedPrefix + prefix
        return out
    }

    /// Dotted prefixes every name shares, shortest first: `model.`, `model._orig_mod.` for a
    /// Lightning module around a compiled model.
    public var commonPrefixes: [String] {
        guard let first = entries.first?.name else { return [] }
        let parts = first.split(separator: ".", omittingEmptySubsequences: false).dropLast()
        var out: [String] = []
        var prefix = ""
        for part in parts {
            prefix += part + "."
            guard entries.allSatisfy({ $0.name.hasPrefix(prefix) && $0.name.count > prefix.count }) else { break }
            out.append(prefix)
        }
        return out
    }
}

/// A registered architecture: one descriptor, from which everything else is derived.
public struct Architecture: Sendable {
    public let name: String
    public let family: String
    public let summary: String
    public let defaults: ArchitectureOptions
    /// Builds the graph for the given options (unset fields take `defaults`).
    public let make: @Sendable (ArchitectureOptions) throws -> Graph
    /// Options read off a checkpoint's shapes (class count, encoder sizes …); unset where unknown.
    public let infer: @Sendable (TensorShapes) -> ArchitectureOptions
    /// Maps a checkpoint key to the descriptor's spelling (prefixes, legacy parameter names).
    public let normalizeKey: @Sendable (String) -> String
    /// Checkpoint keys that may be present without a counterpart (non-persistent buffers).
    public let tolerated: @Sendable (String) -> Bool
    /// How the family reads a Hugging Face `config.json`, for families that have one.
    public let huggingFace: HuggingFaceConfig?
    /// The sizes a CI-sized nightly run and the tests use: small, but covering every layer kind.
    public let smallOptions: ArchitectureOptions
    /// Module versions `state_dict()` records in `_metadata` (module path → `_version`) that the
    /// PyTorch model checks when loading: torchvision's MNASNet refuses a state dict without its
    /// version 2. Written into `zoo random` checkpoints; no shape depends on them.
    public let moduleVersions: [String: Int]
    /// The module path of the image classifier's last Linear (`fc`, `classifier.1`), which
    /// fine-tuning replaces: its head is read off the checkpoint (`ClassifierHead.read`). nil
    /// for architectures without one.
    public let headSlot: String?
    /// The descriptor's own head at the slot (torchvision's; `defaults.head`): `.linear`, or a
    /// Sequential whose modules without weights the descriptor knows (`classifier =
    /// Sequential(Dropout, Linear)`). A checkpoint whose Linears sit where these do is read as it.
    public var ownHead: ClassifierHead { defaults.head ?? .linear }
    /// The weights fix the input size (ViT's position table has a row per patch): the size is read
    /// off them, and another size means other weights.
    public let imageSizeFromWeights: Bool
    /// What conversion must know that the weights and options at hand do not say (GPT-2's
    /// sequence classifier needs config.json's pad_token_id): a sentence saying what to give, or
    /// nil. Detection and `zoo map` do not ask; conversion and verification refuse.
    public let unknown: @Sendable (ArchitectureOptions) -> String?

    public init(name: String, family: String, summary: String, defaults: ArchitectureOptions,
                make: @escaping @Sendable (ArchitectureOptions) throws -> Graph,
                infer: @escaping @Sendable (TensorShapes) -> ArchitectureOptions = { _ in ArchitectureOptions() },
                normalizeKey: @escaping @Sendable (String) -> String = { $0 },
                tolerated: @escaping @Sendable (String) -> Bool = { _ in false },
                huggingFace: HuggingFaceConfig? = nil,
                smallOptions: ArchitectureOptions = ArchitectureOptions(), moduleVersions: [String: Int] = [:],
                headSlot: String? = nil, imageSizeFromWeights: Bool = false,
                unknown: @escaping @Sendable (ArchitectureOptions) -> String? = { _ in nil }) {
        self.name = name
        self.unknown = unknown
        self.imageSizeFromWeights = imageSizeFromWeights
        self.family = family
        self.summary = summary
        self.defaults = defaults
        self.make = make
        self.headSlot = headSlot
        if let headSlot {
            // The head and the class count from the slot's tensors; a slot zoo cannot read is
            // left to matching, which lists what differs.
            self.infer = { shapes in
                var options = infer(shapes)
                if let (head, classes) = try? ClassifierHead.read(shapes, slot: headSlot, own: defaults.head ?? .linear) {
                    options.head = head
                    if let classes { options.classes = classes }
                }
                return options
            }
        } else {
            self.infer = infer
        }
        self.normalizeKey = normalizeKey
        self.tolerated = tolerated
        self.huggingFace = huggingFace
        self.smallOptions = smallOptions
        self.moduleVersions = moduleVersions
    }

    public func graph(_ options: ArchitectureOptions = ArchitectureOptions()) throws -> Graph {
        try make(defaults.overridden(by: options))
    }
}

/// A family's Hugging Face `config.json`: which `model_type` values it is, and how the file sizes
/// the graph. The model type decides: weights with the same keys can belong to models that
/// compute different functions (BERT and RoBERTa), so a config naming another type is refused.
public struct HuggingFaceConfig: Sendable {
    /// `model_type` values of the models this architecture computes exactly.
    public var modelTypes: [String]
    /// Options from config.json, over `fromWeights` (the sizes read off the checkpoint).
    public var read: @Sendable (_ config: JSONValue, _ fromWeights: ArchitectureOptions) throws -> ArchitectureOptions
    /// When the weights alone leave the model in doubt (they look like another model with the
    /// same keys), why: conversion then needs the config.json. nil when the weights are enough.
    public var ambiguousWithoutConfig: @Sendable (TensorShapes) -> String?
    /// Whether zoo may pick this architecture for weights that come without a config.json and
    /// without the architecture named. RoBERTa saves BERT's very keys: a bare checkpoint is
    /// BERT's unless the user names `roberta` (or gives the config that says so).
    public var detectedWithoutConfig: Bool

    public init(modelTypes: [String],
                read: @escaping @Sendable (JSONValue, ArchitectureOptions) throws -> ArchitectureOptions,
                ambiguousWithoutConfig: @escaping @Sendable (TensorShapes) -> String? = { _ in nil },
                detectedWithoutConfig: Bool = true) {
        self.modelTypes = modelTypes
        self.read = read
        self.ambiguousWithoutConfig = ambiguousWithoutConfig
        self.detectedWithoutConfig = detectedWithoutConfig
    }
}
