import ArgumentParser
import Conversion
import Architectures
import TorchIO
import ZooCore
import ZooGraph

struct Map: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how every PyTorch tensor of an architecture becomes a Keras weight.",
        discussion: """
        Each row gives the PyTorch state-dict name and shape, the Keras layer, weight and shape, \
        and the transform between them. With --checkpoint, the sizes come from that file and \
        it is matched strictly: missing, unexpected or reshaped tensors are listed and the exit \
        status is 1.

        Examples:
          zoo map resnet50
          zoo map vgg16 --json
          zoo map bert --checkpoint model.safetensors
        """
    )

    @Argument(help: "A registered architecture (see `zoo list`).")
    var architecture: String

    @Option(help: ArgumentHelp("Size the map from this checkpoint (a file or a model folder) and check it matches.", valueName: "path"))
    var checkpoint: String?

    @Option(help: ArgumentHelp("Dotted path to the dict that holds the tensors in the checkpoint, or to a module inside the state dict (e.g. 'encoder').", valueName: "path"))
    var key: String?

    @OptionGroup var sizing: SizingOptions

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        try reportingErrors(json: json) {
            let arch = try lookUpArchitecture(architecture)
            var shapes: TensorShapes?
            if let checkpoint { shapes = try Checkpoint.open(checkpoint, key: key).tensorShapes }
            let options = try sizing.options(for: arch, shapes: shapes, checkpointPath: checkpoint)
            let graph = try arch.graph(options)
            if let shapes {
                let report = arch.match(shapes, graph: graph)
                if !report.isExact {
                    printError(report.description)
                    throw ZooError(.mismatch, "\(checkpoint!): \(report.summary)")
                }
            }
            let params = graph.parameters
            if json {
                let entries: [JSONValue] = params.map { p in
                    .object([
                        ("torch", .object([("name", .string(p.torchName)), ("shape", .array(p.torchShape.map(JSONValue.int)))])),
                        ("keras", p.kerasLayer == nil ? .null : .object([
                            ("layer", .string(p.kerasLayer!)), ("weight", .string(p.kerasWeight!)),
                            ("shape", .array(p.kerasShape!.map(JSONValue.int))),
                        ])),
                        ("transform", .string(p.transform.name)),
                    ])
                }
                let head = arch.headSlot.map { (options.head ?? arch.ownHead).json(slot: $0) } ?? .null
                print(JSONValue.object([("architecture", .string(arch.name)), ("parameters", .int(graph.parameterCount)),
                                        ("head", head), ("entries", .array(entries))]).pretty)
                return
            }
            func shape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }
            let torchColumn = params.map { "\($0.torchName) \(shape($0.torchShape))" }
            let kerasColumn = params.map { p -> String in
                guard let layer = p.kerasLayer, let weight = p.kerasWeight, let s = p.kerasShape else { return "—" }
                return "\(layer)/\(weight) \(shape(s))"
            }
            let w1 = torchColumn.map(\.count).max() ?? 10
            let w2 = kerasColumn.map(\.count).max() ?? 10
            let head = arch.headSlot.map { slot in "; head '\(slot)': \(options.head ?? arch.ownHead)" } ?? ""
            print("\(arch.name): \(params.count) entries, \(grouped(graph.parameterCount)) parameters\(head)")
            if let slot = arch.headSlot, let doubt = options.head?.doubt(slot: slot) { print("note: \(doubt)") }
            print("pytorch".padding(w1 + 2) + "keras".padding(w2 + 2) + "transform")
            for (i, p) in params.enumerated() {
                print(torchColumn[i].padding(w1 + 2) + kerasColumn[i].padding(w2 + 2) + p.transform.name)
            }
        }
    }
}
