import Foundation
import Testing
import Architectures
import Conversion
import TorchIO
import ZooCore
import ZooGraph

/// When no architecture matches, the message names the closest one and what differs.
@Suite struct ClosestArchitectureTests {
    func checkpoint(renaming rename: (String) -> String) throws -> Checkpoint {
        let graph = try Registry.named("resnet18")!.graph(ArchitectureOptions(classes: 10, imageSize: 32))
        let path = NSTemporaryDirectory() + "zoo-closest-\(UUID().uuidString).pth"
        try PthWriter.write(graph.randomStateDict(seed: 1).map { (rename($0.name), $0.tensor) }, to: path, overwrite: true)
        defer { unlink(path) }
        return try Checkpoint.open(path)
    }

    func message(_ c: Checkpoint) -> String {
        do { _ = try Converter.architecture(for: c, named: nil); return "matched" } catch let e as ZooError { return e.message } catch { return "\(error)" }
    }

    @Test func aReplacedHeadIsNamedWithTheArchitectureItSitsOn() throws {
        // torchvision resnet18 whose fc became Sequential(Dropout, Linear): the head slot reads
        // it (HeadTests), so it is resnet18 …
        let sequential = try checkpoint { $0.hasPrefix("fc.") ? "fc.1." + $0.dropFirst(3) : $0 }
        #expect(message(sequential) == "matched")
        // … and a head under a name of the user's own is named with the architecture it sits on
        let c = try checkpoint { $0.hasPrefix("fc.") ? "my_head." + $0.dropFirst(3) : $0 }
        let m = message(c)
        #expect(m.contains("the closest being resnet18 (2 unexpected (first 'my_head.weight'))"), "\(m)")
    }

    @Test func tensorsUnderAPrefixNotEveryNameHasAreNamed() throws {
        let c = try checkpoint { $0.hasPrefix("fc.") ? $0 : "backbone." + $0 }
        let m = message(c)
        #expect(m.contains("the closest being resnet18"), "\(m)")
        #expect(m.contains("once 'backbone.' is removed"), "\(m)")
    }
}
