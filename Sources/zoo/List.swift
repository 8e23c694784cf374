import ArgumentParser
import Architectures
import ZooCore
import ZooGraph

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the architectures zoo can convert.",
        discussion: "Parameter counts are for the default sizes (1000 classes, 224×224 input, BERT-base); a checkpoint's own sizes are read from it at conversion time."
    )

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        try reportingErrors {
            var rows: [(name: String, family: String, parameters: Int, input: String, summary: String)] = []
            for arch in Registry.all {
                let graph = try arch.graph()
                let input = graph.inputs.map { id -> String in
                    let node = graph.node(id)
                    return node.kerasName + "[" + node.shape.map { $0 < 0 ? "T" : String($0) }.joined(separator: ", ") + "]"
                }.joined(separator: " ")
                rows.append((arch.name, arch.family, graph.parameterCount, input, arch.summary))
            }
            if json {
                let items: [JSONValue] = rows.map {
                    .object([("name", .string($0.name)), ("family", .string($0.family)), ("parameters", .int($0.parameters)),
                             ("input", .string($0.input)), ("description", .string($0.summary))])
                }
                print(JSONValue.object([("architectures", .array(items))]).pretty)
                return
            }
            let nameWidth = rows.map(\.name.count).max()! + 2
            let familyWidth = max(8, rows.map(\.family.count).max()! + 2)
            print("name".padding(nameWidth) + "family".padding(familyWidth) + "parameters".padding(13) + "input".padding(22) + "description")
            for r in rows {
                let input = r.input.count > 20 ? String(r.input.prefix(19)) + "…" : r.input
                print(r.name.padding(nameWidth) + r.family.padding(familyWidth) + grouped(r.parameters).padding(13) + input.padding(22) + r.summary)
            }
        }
    }
}
