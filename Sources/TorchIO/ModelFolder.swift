import ZooCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Folders written by transformers' `save_pretrained`: one weights file, or shards listed by an
/// index (`model.safetensors.index.json`: `{"metadata": …, "weight_map": {tensor: shard file}}`).
/// A sharded folder is one checkpoint whose entries come from every shard, each shard mapped and
/// read in place as a file of its own. The index is the folder author's text: its shard names
/// must be plain file names in the folder, and it must agree with the shards exactly.
extension Checkpoint {
    /// The weights layouts of a model folder, in the order transformers' `from_pretrained`
    /// prefers them: safetensors before pickles, one file before shards.
    static let folderLayouts: [(file: String, sharded: Bool, safetensors: Bool)] = [
        ("model.safetensors", false, true),
        ("model.safetensors.index.json", true, true),
        ("pytorch_model.bin", false, false),
        ("pytorch_model.bin.index.json", true, false),
    ]

    /// An index larger than this is refused before it is parsed, as a safetensors header is (the
    /// index of a model with a hundred thousand tensors is about 10 MB).
    public static let maxShardIndexBytes = maxSafetensorsHeader

    static func openFolder(_ folder: String, key: String?) throws -> Checkpoint {
        let present = folderLayouts.filter { isRegularFile(joined(folder, $0.file)) }
        guard let chosen = present.first else {
            let names = folderNames(folder)
            let holds = names.isEmpty ? "the folder is empty" : "it holds " + names.prefix(8).map { "'\(shown: $0)'" }.joined(separator: ", ") + (names.count > 8 ? " and \(names.count - 8) more" : "")
            throw ZooError(.format, "\(folder): expected a Hugging Face model folder holding model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json, found none of them (\(holds))")
        }
        let path = joined(folder, chosen.file)
        let checkpoint: Checkpoint
        if chosen.sharded {
            checkpoint = try openShards(folder, index: chosen.file, safetensors: chosen.safetensors, key: key)
        } else {
            checkpoint = try openFile(path, key: key)
            try requireFormat(checkpoint, safetensors: chosen.safetensors, namedBy: "its name")
        }
        checkpoint.path = folder
        checkpoint.isFolder = true
        checkpoint.unusedWeightFiles = present.dropFirst().map { joined(folder, $0.file) }
        return checkpoint
    }

    /// The shards an index lists, in order (their names sort as their numbers do:
    /// `model-00002-of-00003.safetensors`), every tensor where the index says it is.
    private static func openShards(_ folder: String, index: String, safetensors: Bool, key: String?) throws -> Checkpoint {
        let indexPath = joined(folder, index)
        guard key == nil else {
            throw ZooError(.usage, "--key selects a nested dict in one pickled checkpoint; the shards \(indexPath) lists are flat state dicts, so it does not apply")
        }
        let weightMap = try readWeightMap(indexPath)
        var shardFor: [String: String] = [:]
        for (tensor, shard) in weightMap { shardFor[tensor] = shard }
        let shardNames = Set(weightMap.map(\.shard)).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var parts: [Checkpoint] = []
        for name in shardNames {
            let path = joined(folder, name)
            guard isRegularFile(path) else {
                let tensor = weightMap.first { $0.shard == name }!.tensor
                throw ZooError(.format, "\(indexPath): expected the shard '\(shown: name)' it names for tensor '\(shown: tensor)' in the folder, found no such file")
            }
            let part = try openFile(path, key: nil, shard: true)
            try requireFormat(part, safetensors: safetensors, namedBy: index)
            if let wrapper = part.selectedKey {
                throw ZooError(.format, "\(path): expected a flat state dict, as save_pretrained writes a shard, found the tensors under '\(shown: wrapper)'")
            }
            parts.append(part)
        }
        // every tensor in one shard, then each where the index says: a tensor in two shards is
        // named as such, not as misplaced in the first
        var holder: [String: Int] = [:]
        var entries: [CheckpointEntry] = []
        for (shard, part) in parts.enumerated() {
            for var entry in part.entries {
                if let other = holder[entry.name] {
                    throw ZooError(.format, "\(indexPath): expected tensor '\(shown: entry.name)' in one shard, found it in both '\(shown: shardNames[other])' and '\(shown: shardNames[shard])'")
                }
                holder[entry.name] = shard
                entry.shard = shard
                entries.append(entry)
            }
        }
        for entry in entries {
            let here = shardNames[entry.shard]
            guard let listed = shardFor[entry.name] else {
                throw ZooError(.format, "\(indexPath): expected every tensor of shard '\(shown: here)' in the weight_map, found tensor '\(shown: entry.name)', which it does not list")
            }
            guard listed == here else {
                throw ZooError(.format, "\(indexPath): expected tensor '\(shown: entry.name)' in shard '\(shown: listed)', as the weight_map says, found it in '\(shown: here)'")
            }
        }
        if let (tensor, shard) = weightMap.first(where: { holder[$0.tensor] == nil }) {
            throw ZooError(.format, "\(indexPath): expected tensor '\(shown: tensor)' in shard '\(shown: shard)', as the weight_map says, found it in no shard")
        }
        // DataParallel's prefix, removed from pickles as in one file, but decided over all shards
        // at once (the index names tensors as stored)
        var stripped: String?
        if !safetensors, entries.allSatisfy({ $0.name.hasPrefix("module.") }) {
            stripped = "module."
            entries = entries.map {
                CheckpointEntry(name: String($0.name.dropFirst(7)), dtype: $0.dtype, shape: $0.shape, location: $0.location, shard: $0.shard)
            }
        }
        var metadata: [(String, String)] = []
        for pair in parts.flatMap(\.metadata) where !metadata.contains(where: { $0 == pair }) { metadata.append(pair) }
        let checkpoint = Checkpoint(path: indexPath, format: parts[0].format, entries: entries, otherEntries: parts.flatMap(\.otherEntries),
                                    selectedKey: nil, strippedPrefix: stripped, metadata: metadata, shards: parts.flatMap(\.shards))
        checkpoint.indexFile = indexPath
        return checkpoint
    }

    /// The index's `weight_map`, in its order, every value a plain file name and every tensor once.
    private static func readWeightMap(_ indexPath: String) throws -> [(tensor: String, shard: String)] {
        let file = try MappedFile(path: indexPath)
        guard file.count <= maxShardIndexBytes else {
            throw ZooError(.format, "\(indexPath): expected a shard index of at most \(maxShardIndexBytes) bytes, found \(file.count)")
        }
        let json: JSONValue
        do { json = try withExtendedLifetime(file) { try JSONValue.parse(file.bytes) } } catch let error as ZooError {
            throw ZooError(.format, "\(indexPath): expected a JSON object with a weight_map, found \(error.message)")
        }
        guard let fields = json.object else {
            throw ZooError(.format, "\(indexPath): expected a JSON object with a weight_map, found another JSON value")
        }
        let maps = fields.filter { $0.0 == "weight_map" }
        guard maps.count == 1, let pairs = maps[0].1.object, !pairs.isEmpty else {
            let found = maps.count > 1 ? "\(maps.count) of them" : maps.isEmpty ? "none" : maps[0].1.object == nil ? "another JSON value" : "an empty one"
            throw ZooError(.format, "\(indexPath): expected one 'weight_map' object naming the shard file of every tensor, found \(found)")
        }
        var seen: [String: String] = [:]
        var out: [(tensor: String, shard: String)] = []
        for (tensor, value) in pairs {
            guard let shard = value.string else {
                throw ZooError(.format, "\(indexPath): expected the weight_map to give tensor '\(shown: tensor)' a shard file name, found \(value.serialized.prefix(40))")
            }
            guard isPlainFileName(shard) else {
                throw ZooError(.refused, "\(indexPath): expected the weight_map to name shard files in the folder (plain file names), found '\(shown: shard)' for tensor '\(shown: tensor)'")
            }
            if let first = seen[tensor] {
                throw ZooError(.format, "\(indexPath): expected each tensor once in the weight_map, found tensor '\(shown: tensor)' twice (in '\(shown: first)' and '\(shown: shard)')")
            }
            seen[tensor] = shard
            out.append((tensor, shard))
        }
        return out
    }

    private static func requireFormat(_ checkpoint: Checkpoint, safetensors: Bool, namedBy what: String) throws {
        guard (checkpoint.format == .safetensors) != safetensors else { return }
        throw ZooError(.format, "\(checkpoint.path): expected \(safetensors ? "a safetensors file" : "a torch.save checkpoint"), as \(what) says, found a \(checkpoint.format.description) file")
    }
}

/// A name inside the folder itself: not empty, no `/` (so no absolute path, no `../x`), not `.`
/// or `..`, no NUL (which would end the name the kernel sees early).
func isPlainFileName(_ name: String) -> Bool {
    !name.isEmpty && name != "." && name != ".." && !name.utf8.contains(UInt8(ascii: "/")) && !name.utf8.contains(0)
}

func joined(_ folder: String, _ name: String) -> String {
    folder.hasSuffix("/") ? folder + name : folder + "/" + name
}

/// A regular file, or a link to one (the Hugging Face cache links snapshots to blobs).
func isRegularFile(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
}

/// The names in a folder, sorted, for a message.
func folderNames(_ folder: String) -> [String] {
    guard let dir = opendir(folder) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}
