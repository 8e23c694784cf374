import Testing
@testable import Architectures
import ZooCore
@testable import ZooGraph

/// Fine-tuned classifier heads: what the weights say, what they cannot say, and the graph zoo
/// builds for each (real torchvision heads against real Keras: scripts/interop.sh, `resnet18+…`).
@Suite struct HeadTests {
    let resnet = Registry.named("resnet18")!
    let small = ArchitectureOptions(classes: 10, imageSize: 64)

    /// The tensors of `arch` with `head` at its slot, as its state dict names them.
    func shapes(_ arch: Architecture, _ head: ClassifierHead, classes: Int = 10) throws -> TensorShapes {
        var options = small
        options.head = head
        options.classes = classes
        return TensorShapes(try arch.graph(options).torchEntries)
    }

    @Test func aLinearOfAnyClassCountIsTorchvisionsOwnHead() throws {
        let shapes = try shapes(resnet, .linear, classes: 37)
        let read = try ClassifierHead.read(shapes, slot: "fc")
        #expect(read.head == .linear && read.classes == 37)
        #expect(resnet.infer(shapes).classes == 37)
        #expect(resnet.match(shapes, options: ArchitectureOptions(imageSize: 64)).1.isExact)
    }

    @Test func dropoutThenLinearIsReadButItsFirstModuleIsNotGuessed() throws {
        let shapes = try shapes(resnet, .sequential([.dropout, .linear(out: 10)]))
        #expect(shapes["fc.1.weight"] == [10, 512] && shapes["fc.0.weight"] == nil)
        let read = try ClassifierHead.read(shapes, slot: "fc")
        #expect(read.head == .sequential([.unknown, .linear(out: 10)]) && read.classes == 10)
        let doubt = try #require(read.head.doubt(slot: "fc"))
        #expect(doubt.contains("module 0 has no weights") && doubt.contains("--head 'dropout,linear'"), "\(doubt)")
        // the keys alone match (modules without weights have none); conversion refuses on the doubt
        #expect(resnet.match(shapes, options: ArchitectureOptions(imageSize: 64)).1.isExact)
    }

    @Test func anMLPHeadIsSizedFromItsWeights() throws {
        let named = try ClassifierHead.parse("linear, relu, dropout, linear")
        #expect(named == .sequential([.linear(out: nil), .activation(.relu), .dropout, .linear(out: nil)]))
        let shapes = try shapes(resnet, .sequential([.linear(out: 64), .activation(.relu), .dropout, .linear(out: 5)]))
        #expect(shapes["fc.0.weight"] == [64, 512] && shapes["fc.3.weight"] == [5, 64])
        let read = try ClassifierHead.read(shapes, slot: "fc")
        #expect(read.head == .sequential([.linear(out: 64), .unknown, .unknown, .linear(out: 5)]) && read.classes == 5)
        #expect(read.head.doubt(slot: "fc")?.contains("--head 'linear,relu,dropout,linear'") == true)
        let resolved = try named.resolved(against: read.head, slot: "fc")
        #expect(resolved == .sequential([.linear(out: 64), .activation(.relu), .dropout, .linear(out: 5)]))
        #expect(resolved.doubt(slot: "fc") == nil)
        // the graph: Dense(64, relu folded in? no: a separate ReLU), then the predictions layer
        var options = small
        options.head = resolved
        options.classes = 5
        let model = try resnet.graph(options).kerasModel()
        #expect(model.layer("fc_0")?.className == "Dense")
        #expect(model.layer("fc_1")?.configValue("activation") == .string("relu"))
        #expect(model.layer("predictions")?.configValue("units") == .int(5))
    }

    @Test func aSpecThatDisagreesWithTheWeightsSaysWhere() throws {
        let held = ClassifierHead.sequential([.linear(out: 64), .unknown, .linear(out: 5)])
        #expect(throws: ZooError.self) { try ClassifierHead.parse("dropout,linear,linear").resolved(against: held, slot: "fc") }
        do {
            _ = try ClassifierHead.parse("linear,gelu,dropout,linear").resolved(against: held, slot: "fc")
            Issue.record("expected a refusal")
        } catch let error as ZooError {
            #expect(error.message.contains("module 2") && error.message.contains("fc.2.weight"), "\(error.message)")
        }
        #expect(throws: ZooError.self) { try ClassifierHead.parse("dropout,linear").resolved(against: .linear, slot: "fc") }
        #expect(throws: ZooError.self) { try ClassifierHead.parse("softmax,linear") }
        #expect(throws: ZooError.self) { try ClassifierHead.parse("dropout,relu") }
        #expect(try ClassifierHead.parse("none") == ClassifierHead.none)
        #expect(try ClassifierHead.parse("linear(256),relu,linear") == .sequential([.linear(out: 256), .activation(.relu), .linear(out: nil)]))
    }

    @Test func identityTakesTheFeaturesOut() throws {
        let shapes = try shapes(resnet, .none)
        #expect(!shapes.names.contains { $0.hasPrefix("fc.") })
        #expect(try ClassifierHead.read(shapes, slot: "fc").head == ClassifierHead.none)
        let (graph, report) = resnet.match(shapes, options: ArchitectureOptions(imageSize: 64))
        #expect(report.isExact)
        let out = try #require(graph).outputs[0]
        #expect(graph!.node(out).shape == [512])
    }

    /// MobileNetV2, EfficientNet and MNASNet end in `classifier = Sequential(Dropout, Linear)`,
    /// which fine-tuning replaces whole (`model.classifier = nn.Linear(1280, 10)`) or in part.
    @Test func aClassifierReplacedWholeIsReadAtItsSlot() throws {
        let mobilenet = Registry.named("mobilenet_v2")!
        #expect(mobilenet.headSlot == "classifier")
        let own = try shapes(mobilenet, mobilenet.ownHead)
        #expect(own["classifier.1.weight"] == [10, 1280] && own["classifier.0.weight"] == nil)
        #expect(mobilenet.infer(own).head == .sequential([.dropout, .linear(out: 10)]))
        let linear = try shapes(mobilenet, .linear, classes: 4)
        #expect(linear["classifier.weight"] == [4, 1280])
        #expect(mobilenet.infer(linear).head == .linear && mobilenet.infer(linear).classes == 4)
        #expect(mobilenet.match(linear, options: ArchitectureOptions(imageSize: 64)).1.isExact)
        let mlp = try shapes(mobilenet, .sequential([.linear(out: 64), .activation(.relu), .linear(out: 4)]))
        let read = try #require(mobilenet.infer(mlp).head)
        #expect(read == .sequential([.linear(out: 64), .unknown, .linear(out: 4)]))
        #expect(read.doubt(slot: "classifier")?.contains("--head 'linear,relu,linear'") == true)
    }

    @Test func aHeadWithOtherWeightedModulesIsRefusedByName() throws {
        var shapes = try shapes(resnet, .sequential([.linear(out: 64), .unknown, .linear(out: 5)]))
        shapes.entries.append(("fc.1.running_mean", [64], .float32)) // a BatchNorm1d between them
        shapes.entries.append(("fc.1.weight", [64], .float32))
        #expect(throws: ZooError.self) { try ClassifierHead.read(shapes, slot: "fc") }
    }

    /// Every architecture with a head slot reads its own default head back as a Linear, so a
    /// torchvision checkpoint converts as before.
    @Test func everyHeadSlotReadsTorchvisionsOwnHead() throws {
        for arch in Registry.all where arch.headSlot != nil {
            let shapes = TensorShapes(try arch.graph(arch.smallOptions).torchEntries)
            let read = try ClassifierHead.read(shapes, slot: arch.headSlot!, own: arch.ownHead)
            #expect(read.head.doubt(slot: arch.headSlot!) == nil, "\(arch.name)")
            if arch.ownHead == .linear { #expect(read.head == .linear, "\(arch.name)") }
            #expect(arch.infer(shapes).head == read.head, "\(arch.name)")
            #expect(read.classes == arch.smallOptions.classes, "\(arch.name)")
        }
        #expect(Registry.all.filter { $0.headSlot != nil }.count > 50)
    }
}

/// Hugging Face task heads on the BERT encoder (real transformers models against real Keras:
/// scripts/interop.sh, `bert_tiny+seqcls`, `bert_tiny+tokcls`).
@Suite struct EncoderTaskTests {
    let bert = Registry.named("bert")!

    func shapes(_ task: EncoderTask, pooler: Bool) throws -> TensorShapes {
        var c = bert.smallOptions.transformer!
        c.task = task
        c.pooler = pooler
        return TensorShapes(try bert.graph(ArchitectureOptions(transformer: c)).torchEntries.map { ("bert." + $0.name, $0.shape, $0.dtype) }
            .map { $0.0.hasPrefix("bert.classifier") ? (String($0.0.dropFirst(5)), $0.1, $0.2) : $0 })
    }

    @Test func theClassifierSaysWhichTaskByThePooler() throws {
        let sequence = try shapes(.sequenceClassification(labels: 3), pooler: true)
        #expect(sequence["classifier.weight"] == [3, 32] && sequence["bert.pooler.dense.weight"] != nil)
        #expect(bert.infer(sequence).transformer?.task == .sequenceClassification(labels: 3))
        let token = try shapes(.tokenClassification(labels: 5), pooler: false)
        #expect(bert.infer(token).transformer?.task == .tokenClassification(labels: 5))
        var options = bert.infer(token)
        options.transformer!.heads = 4
        let (graph, report) = bert.match(token, options: options)
        #expect(report.isExact, "\(report.description)")
        let logits = try #require(graph).outputs
        #expect(logits.count == 1 && graph!.node(logits[0]).shape == [-1, 5])
    }

    @Test func aOneOutputClassifierNeedsTheConfig() throws {
        let one = try shapes(.sequenceClassification(labels: 1), pooler: true)
        #expect(bert.huggingFace!.ambiguousWithoutConfig(one)?.contains("BertForMultipleChoice") == true)
        #expect(bert.huggingFace!.ambiguousWithoutConfig(try shapes(.sequenceClassification(labels: 2), pooler: true)) == nil)
    }

    func bertTask(_ json: JSONValue, _ fromWeights: EncoderTask) throws -> EncoderTask {
        try BERTStyle.task(fromHuggingFace: json, fromWeights: fromWeights, classPrefixes: ["Bert"], family: "BERT")
    }

    /// RoBERTa's and XLM-RoBERTa's class names are both the roberta descriptor's; BERT's are not.
    @Test func robertaTasksAreNamedByEitherStem() throws {
        let xlm = try JSONValue.parse(Array(#"{"architectures": ["XLMRobertaForTokenClassification"], "num_labels": 5}"#.utf8))
        #expect(try BERTStyle.task(fromHuggingFace: xlm, fromWeights: .encoder, classPrefixes: RoBERTa.classPrefixes, family: "RoBERTa") == .tokenClassification(labels: 5))
        for named in ["BertForTokenClassification", "RobertaForCausalLM", "RobertaForMultipleChoice"] {
            let json = try JSONValue.parse(Array(#"{"architectures": ["\#(named)"]}"#.utf8))
            #expect(throws: ZooError.self) {
                try BERTStyle.task(fromHuggingFace: json, fromWeights: .encoder, classPrefixes: RoBERTa.classPrefixes, family: "RoBERTa")
            }
        }
    }

    @Test func configJSONsArchitecturesDecides() throws {
        let json = try JSONValue.parse(Array(#"{"architectures": ["BertForTokenClassification"], "num_labels": 4}"#.utf8))
        #expect(try bertTask(json, .encoder) == .tokenClassification(labels: 4))
        #expect(try bertTask(json, .tokenClassification(labels: 7)) == .tokenClassification(labels: 7))
        let plain = try JSONValue.parse(Array(#"{"model_type": "bert"}"#.utf8))
        #expect(try bertTask(plain, .sequenceClassification(labels: 2)) == .sequenceClassification(labels: 2))
        let masked = try JSONValue.parse(Array(#"{"architectures": ["BertForNextSentencePrediction"]}"#.utf8))
        do {
            _ = try bertTask(masked, .encoder)
            Issue.record("expected BertForNextSentencePrediction to be refused")
        } catch let error as ZooError {
            #expect(error.message.contains("'BertForNextSentencePrediction'") && error.message.contains("BertForSequenceClassification"), "\(error.message)")
        }
    }
}
