import Testing
@testable import Architectures
import ZooCore
@testable import ZooGraph

/// Fine-tuned classifier heads: what the weights say, what they cannot say, and the graph zoo
/// builds for each (real torchvision heads against real Keras: scripts/interop.sh, `resnet18+…`).
@Suite struct HeadTests {
    let resnet = Registry.named("resnet18")!
    let small = ArchitectureOptions(classes: 10, imageSize: 64)

    /// The tensors of resnet18 with `head` at `fc`, as its state dict names them.
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
            let read = try ClassifierHead.read(shapes, slot: arch.headSlot!)
            #expect(read.head == .linear, "\(arch.name)")
            #expect(read.classes == arch.smallOptions.classes, "\(arch.name)")
        }
        #expect(Registry.all.filter { $0.headSlot != nil }.count > 50)
    }
}
