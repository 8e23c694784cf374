import ArgumentParser
import Architectures
import ZooCore
import ZooGraph

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the architectures zoo can convert.",
        discussion: "Parameter counts are for the default sizes (1000 classes, the input shown, BERT-base); a checkpoint's own sizes are read from it at conversion time."
    )

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        try reportingErrors {
            var rows: [(name: String, family: String, parameters: Int, input: String, summary: String, sizes: [(String, JSONValue)])] = []
            for arch in Registry.all {
                let graph = try arch.graph()
                let input = graph.inputs.map { id -> String in
                    let node = graph.node(id)
                    return node.kerasName + "[" + node.shape.map { $0 < 0 ? "T" : String($0) }.joined(separator: ", ") + "]"
                }.joined(separator: " ")
                var sizes: [(String, JSONValue)] = []
                if let size = arch.defaults.imageSize { sizes.append(("image_size", .int(size))) }
                if let size = arch.smallOptions.imageSize { sizes.append(("small_image_size", .int(size))) }
                if arch.imageSizeFromWeights { sizes.append(("image_size_from_weights", .bool(true))) }
                if let types = arch.huggingFace?.modelTypes { sizes.append(("model_types", .array(types.map(JSONValue.string)))) }
                sizes.append(("proven_in_ci", .bool(Registry.provenInCI.contains(arch.name))))
                rows.append((arch.name, arch.family, graph.parameterCount, input, arch.summary, sizes))
            }
            if json {
                let items: [JSONValue] = rows.map {
                    .object([("name", .string($0.name)), ("family", .string($0.family)), ("parameters", .int($0.parameters)),
                             ("input", .string($0.input)), ("description", .string($0.summary))] + $0.sizes)
                }
                print(JSONValue.object([("architectures", .array(items))]).pretty)
                return
            }
            // grouped by family, in registry order; parameters in millions
            let nameWidth = rows.map(\.name.count).max()! + 2
            var families: [String] = []
            for r in rows where !families.contains(r.family) { families.append(r.family) }
            let byFamily = Dictionary(grouping: rows, by: \.family)
            let firstOfFamily = Dictionary(Registry.all.map { ($0.family, $0) }, uniquingKeysWith: { first, _ in first })
            print("\(rows.count) architectures in \(families.count) families (zoo list --json for every field)")
            for family in families {
                let members = byFamily[family] ?? []
                let types = firstOfFamily[family]?.huggingFace.map { " — Hugging Face model_type \($0.modelTypes.joined(separator: ", "))" } ?? ""
                print("\n\(family) (\(members.count))\(types)")
                for r in members {
                    let input = r.input.count > 24 ? String(r.input.prefix(23)) + "…" : r.input
                    print("  " + r.name.padding(nameWidth) + millions(r.parameters).padding(9) + input.padding(26) + r.summary)
                }
            }
        }
    }
}

/// 11699112 → "11.7M".
func millions(_ n: Int) -> String {
    let m = Double(n) / 1e6
    return (m >= 100 ? String(Int(m.rounded())) : fixed(m, m >= 10 ? 1 : 2)) + "M"
}
