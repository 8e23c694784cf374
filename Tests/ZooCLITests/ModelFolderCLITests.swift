import Foundation
import Testing
import ZooCore

/// Hugging Face model folders (save_pretrained, real transformers: scripts/make_hf_fixtures.py)
/// as checkpoints: each layout converts and verifies, inspect says what it read, and an index
/// that disagrees with its shards — or names a file outside the folder — is refused in one line
/// with nothing written.
@Suite struct ModelFolderCLITests {
    static let hf = CLI.repo.appendingPathComponent("Tests/Fixtures/hf").path
    static let folders = ["bert-tiny-safetensors", "bert-tiny-bin", "bert-tiny-sharded-safetensors", "bert-tiny-sharded-bin"]
    static let sharded = ["bert-tiny-sharded-safetensors", "bert-tiny-sharded-bin"]

    static func manifestNames() throws -> [String] {
        let data = try #require(FileManager.default.contents(atPath: "\(hf)/bert-tiny-manifest.json"))
        return (try JSONValue.parse(Array(data))["tensors"]?.array ?? []).compactMap { $0.array?.first?.string }
    }

    /// A fresh folder holding `out/` (for outputs) and, when given, a copy of a fixture folder as `model/`.
    func scratch(copying folder: String? = nil) throws -> String {
        let root = NSTemporaryDirectory() + "zoo-hf-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: "\(root)/out", withIntermediateDirectories: true)
        if let folder { try FileManager.default.copyItem(atPath: "\(Self.hf)/\(folder)", toPath: "\(root)/model") }
        return root
    }

    @Test(arguments: folders)
    func everyLayoutConvertsAndVerifies(_ folder: String) throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try CLI.run(["convert", "\(Self.hf)/\(folder)", "-o", "\(root)/out/x.keras", "--json"])
        #expect(r.status == 0, "\(folder): \(r.stderr)")
        let json = try JSONValue.parse(Array(r.stdout.utf8))
        #expect(json["architecture"]?.string == "bert")
        #expect(json["tensors"]?.int == 39)
        #expect(json["verification"]?["passed"]?.bool == true)
        #expect(FileManager.default.fileExists(atPath: "\(root)/out/x.keras"))
    }

    @Test(arguments: folders)
    func inspectListsEveryTensorOnceAndTheFilesItRead(_ folder: String) throws {
        let path = "\(Self.hf)/\(folder)"
        let r = try CLI.run(["inspect", path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONValue.parse(Array(r.stdout.utf8))
        let names = (json["tensors"]?.array ?? []).compactMap { $0["name"]?.string }
        #expect(names.count == Set(names).count)
        #expect(names.sorted() == (try Self.manifestNames()).sorted())
        #expect(json["folder"]?.string == path)
        let sharded = Self.sharded.contains(folder)
        #expect(json["shards"]?.int == (sharded ? 3 : 1))
        let files = (json["weights_files"]?.array ?? []).compactMap(\.string)
        let stem = folder.hasSuffix("bin") ? "pytorch_model" : "model", suffix = folder.hasSuffix("bin") ? ".bin" : ".safetensors"
        #expect(files == (sharded ? (1...3).map { "\(path)/\(stem)-0000\($0)-of-00003\(suffix)" } : ["\(path)/\(stem)\(suffix)"]))
        #expect(json["index"] == (sharded ? .string("\(path)/\(stem)\(suffix).index.json") : .null))

        let text = try CLI.run(["inspect", path])
        #expect(text.status == 0)
        #expect(text.stdout.hasPrefix("folder:      \(path)\n"), "\(text.stdout)")
        if sharded {
            #expect(text.stdout.contains("weights:     3 shards listed by \(stem)\(suffix).index.json: \(stem)-00001-of-00003\(suffix), \(stem)-00002-of-00003\(suffix), \(stem)-00003-of-00003\(suffix)\n"), "\(text.stdout)")
        } else {
            #expect(text.stdout.contains("weights:     \(stem)\(suffix)\n"), "\(text.stdout)")
        }
    }

    @Test func safetensorsArePreferredAndInspectSaysSo() throws {
        let root = try scratch(copying: "bert-tiny-sharded-bin")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.copyItem(atPath: "\(Self.hf)/bert-tiny-safetensors/model.safetensors", toPath: "\(root)/model/model.safetensors")
        let text = try CLI.run(["inspect", "\(root)/model"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("weights:     model.safetensors (pytorch_model.bin.index.json also there, not read)\n"), "\(text.stdout)")
        #expect(text.stdout.contains("format:      safetensors"))
        let json = try JSONValue.parse(Array(try CLI.run(["inspect", "\(root)/model", "--json"]).stdout.utf8))
        #expect(json["unused_weights_files"] == .array([.string("\(root)/model/pytorch_model.bin.index.json")]))
    }

    /// Without -o, `<architecture>.keras` in the current folder, as for a file.
    @Test func convertWithoutAnOutputWritesIntoTheCurrentFolder() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try CLI.run(["convert", "\(Self.hf)/bert-tiny-sharded-safetensors", "--quiet"], in: "\(root)/out")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(root)/out") == ["bert.keras"])
    }

    /// config.json is read from inside the folder: without it the heads are unknown.
    @Test func theConfigInsideTheFolderSizesTheModel() throws {
        let root = try scratch(copying: "bert-tiny-sharded-bin")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let map = try CLI.run(["map", "bert", "--checkpoint", "\(root)/model"])
        #expect(map.status == 0, "\(map.stderr)")
        #expect(map.stdout.hasPrefix("bert: 39 entries, 19,978 parameters\n"), "\(map.stdout)")
        try FileManager.default.removeItem(atPath: "\(root)/model/config.json")
        let r = try CLI.run(["convert", "\(root)/model", "-o", "\(root)/out/x.keras"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("the number of attention heads is not recorded in the weights; put the model's config.json in the model folder or pass --heads"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(root)/out").isEmpty)
        // a RoBERTa folder converts as the model type its own config.json names
        let roberta = try CLI.run(["convert", "\(Self.hf)/roberta-tiny", "-o", "\(root)/out/r.keras", "--quiet"])
        #expect(roberta.status == 0, "\(roberta.stderr)")
        let named = try CLI.run(["convert", "bert", "\(Self.hf)/roberta-tiny", "-o", "\(root)/out/b.keras"])
        #expect(named.status == 1)
        #expect(named.stderr.contains("model_type 'roberta'"), "\(named.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(root)/out") == ["r.keras"])
    }

    /// A shard is an input: naming one as the output is refused, `--force` or not.
    @Test func aShardIsNeverTheOutput() throws {
        let root = try scratch(copying: "bert-tiny-sharded-safetensors")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let model = "\(root)/model"
        try FileManager.default.moveItem(atPath: "\(model)/model-00003-of-00003.safetensors", toPath: "\(model)/last.weights.h5")
        try editIndex(model) { map in
            for (tensor, shard) in map where shard == "model-00003-of-00003.safetensors" { map[tensor] = "last.weights.h5" }
        }
        let before = try #require(FileManager.default.contents(atPath: "\(model)/last.weights.h5"))
        let r = try CLI.run(["convert", model, "-o", "\(model)/last.weights.h5", "--force"])
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("to be the input '\(model)/last.weights.h5' itself"), "\(r.stderr)")
        #expect(FileManager.default.contents(atPath: "\(model)/last.weights.h5") == before)
    }

    // MARK: - Damaged indexes

    /// The index's weight_map, edited as a dictionary.
    func editIndex(_ model: String, _ edit: (inout [String: String]) -> Void) throws {
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: model).first { $0.hasSuffix(".index.json") })
        let url = URL(fileURLWithPath: "\(model)/\(name)")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var map = try #require(json["weight_map"] as? [String: String])
        edit(&map)
        json["weight_map"] = map
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .prettyPrinted]).write(to: url)
    }

    func weightMap(_ model: String) throws -> (index: String, map: [String: String], shards: [String]) {
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: model).first { $0.hasSuffix(".index.json") })
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(model)/\(name)"))) as? [String: Any]
        let map = try #require(json?["weight_map"] as? [String: String])
        return (name, map, Set(map.values).sorted())
    }

    struct Damage: CustomTestStringConvertible, Sendable {
        let name: String
        /// Damages the folder `model` (beside which `../elsewhere/` holds another copy of its
        /// shards); returns what the one line must say (a `*` stands for any text).
        let apply: @Sendable (ModelFolderCLITests, String) throws -> String
        var testDescription: String { name }
    }

    static let damages: [Damage] = [
        Damage(name: "a tensor moved to the wrong shard") { t, model in
            let (index, map, shards) = try t.weightMap(model)
            let from = map["pooler.dense.bias"]!, to = shards.first { $0 != from }!
            try t.editIndex(model) { $0["pooler.dense.bias"] = to }
            return "\(model)/\(index): expected tensor 'pooler.dense.bias' in shard '\(to)', as the weight_map says, found it in '\(from)'"
        },
        Damage(name: "a missing shard") { t, model in
            let (index, map, shards) = try t.weightMap(model)
            try FileManager.default.removeItem(atPath: "\(model)/\(shards[1])")
            let first = map.filter { $0.value == shards[1] }.keys.sorted()[0]
            return "\(model)/\(index): expected the shard '\(shards[1])' it names for tensor '\(first)' in the folder, found no such file"
        },
        Damage(name: "a shard outside the folder (../)") { t, model in
            let (index, map, _) = try t.weightMap(model)
            let shard = map["pooler.dense.bias"]!
            // the file is there: the name alone is refused
            try t.editIndex(model) { for (k, v) in $0 where v == shard { $0[k] = "../elsewhere/\(shard)" } }
            return "\(model)/\(index): expected the weight_map to name shard files in the folder (plain file names), found '../elsewhere/\(shard)' for tensor"
        },
        Damage(name: "a shard at an absolute path") { t, model in
            let (index, _, _) = try t.weightMap(model)
            try t.editIndex(model) { $0["pooler.dense.bias"] = "/etc/passwd" }
            return "\(model)/\(index): expected the weight_map to name shard files in the folder (plain file names), found '/etc/passwd' for tensor 'pooler.dense.bias'"
        },
        Damage(name: "../../etc/passwd") { t, model in
            let (index, _, _) = try t.weightMap(model)
            try t.editIndex(model) { $0["pooler.dense.bias"] = "../../etc/passwd" }
            return "\(model)/\(index): expected the weight_map to name shard files in the folder (plain file names), found '../../etc/passwd' for tensor 'pooler.dense.bias'"
        },
        Damage(name: "a tensor listed twice") { t, model in
            let (index, map, shards) = try t.weightMap(model)
            let url = URL(fileURLWithPath: "\(model)/\(index)")
            let other = shards.first { $0 != map["pooler.dense.bias"]! }!
            let text = try String(contentsOf: url, encoding: .utf8)
                .replacingOccurrences(of: "\"weight_map\": {", with: "\"weight_map\": {\n    \"pooler.dense.bias\": \"\(other)\",")
            try text.write(to: url, atomically: true, encoding: .utf8)
            return "\(model)/\(index): expected each tensor once in the weight_map, found tensor 'pooler.dense.bias' twice (in '\(other)' and '\(map["pooler.dense.bias"]!)')"
        },
        Damage(name: "a tensor in two shards") { t, model in
            let (index, map, shards) = try t.weightMap(model)
            let copy = shards[0].replacingOccurrences(of: "00001-of-00003", with: "00004-of-00004")
            try FileManager.default.copyItem(atPath: "\(model)/\(shards[0])", toPath: "\(model)/\(copy)")
            let moved = map.filter { $0.value == shards[0] }.keys.sorted()[0]
            try t.editIndex(model) { $0[moved] = copy }
            // every tensor of the first shard is in the copy: the first in the copy's order is named
            return "\(model)/\(index): expected tensor '*' in one shard, found it in both '\(shards[0])' and '\(copy)'"
        },
        Damage(name: "an extra tensor in a shard") { t, model in
            let (index, map, _) = try t.weightMap(model)
            try t.editIndex(model) { $0["pooler.dense.bias"] = nil }
            return "\(model)/\(index): expected every tensor of shard '\(map["pooler.dense.bias"]!)' in the weight_map, found tensor 'pooler.dense.bias', which it does not list"
        },
    ]

    @Test(arguments: sharded, damages)
    func aDamagedIndexIsRefusedInOneLine(_ folder: String, _ damage: Damage) throws {
        let root = try scratch(copying: folder)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.copyItem(atPath: "\(Self.hf)/\(folder)", toPath: "\(root)/elsewhere")
        let expected = try damage.apply(self, "\(root)/model")
        func says(_ message: String) -> Bool {
            let parts = expected.components(separatedBy: "*")
            guard message.hasPrefix(parts[0]) else { return false }
            return parts.count == 1 || message.contains(parts[1])
        }
        for command in [["inspect", "\(root)/model"], ["convert", "\(root)/model", "-o", "\(root)/out/x.keras"], ["convert", "\(root)/model", "--json", "-o", "\(root)/out/x.keras"]] {
            let r = try CLI.run(command)
            #expect(r.status == 1, "\(command): \(r.stderr)")
            if command.contains("--json") {
                let json = try JSONValue.parse(Array(r.stdout.utf8))
                #expect(says(json["error"]?.string ?? ""), "\(r.stdout)")
            } else {
                #expect(r.stdout.isEmpty)
                let lines = r.stderr.split(separator: "\n")
                #expect(lines.count == 1, "\(r.stderr)")
                #expect(r.stderr.hasPrefix("zoo: error: ") && says(String(r.stderr.dropFirst(12))), "\(r.stderr)")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(root)/out").isEmpty)
    }

    @Test func aFolderWithoutWeightsSaysWhatItHolds() throws {
        let root = try scratch(copying: "bert-tiny-safetensors")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.removeItem(atPath: "\(root)/model/model.safetensors")
        let r = try CLI.run(["inspect", "\(root)/model"])
        #expect(r.status == 1)
        #expect(r.stderr == "zoo: error: \(root)/model: expected a Hugging Face model folder holding model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json, found none of them (it holds 'config.json')\n", "\(r.stderr)")
    }
}
