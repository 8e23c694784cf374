import ZooCore
import ZooGraph

/// The Keras 3 native weights file (`model.save_weights("x.weights.h5")`, and `model.weights.h5`
/// inside a `.keras`). Groups follow Keras's object tree: `layers/<snake_case(class)>[_N]/vars/<i>`
/// with one counter per class in `model.layers` order, a `name` attribute on each `vars` group,
/// empty `vars` groups for weightless layers, and a root `vars` group named after the model.
enum WeightsH5 {
    /// Where MultiHeadAttention keeps each weight: its EinsumDense sublayers are attributes
    /// (`_query_dense` …) that Keras visits through their public properties (`query_dense` …),
    /// see transformer_layout.txt. Keyed by the weight-name prefix zoo and tf.keras use.
    static let attentionSublayers: [(prefix: String, group: String)] = [
        ("query", "query_dense"), ("key", "key_dense"), ("value", "value_dense"), ("attention_output", "output_dense"),
    ]

    /// One `vars` group to write: its path below the layer's group, its `name` attribute, and
    /// the indices (into the layer's weights) of the datasets it holds.
    struct VarsGroup {
        var path: [String]
        var name: String
        var weights: [Int]
    }

    /// The `vars` groups of one layer. `ordinal` numbers the layer among those of its class (the
    /// names of MultiHeadAttention's softmax and dropout sublayers carry it, as Keras's do).
    static func varsGroups(_ layer: KerasLayer, ordinal: Int) throws -> [VarsGroup] {
        guard layer.className == "MultiHeadAttention" else {
            return [VarsGroup(path: ["vars"], name: layer.name, weights: Array(layer.weights.indices))]
        }
        var groups = [VarsGroup(path: ["vars"], name: layer.name, weights: [])]
        var placed = Set<Int>()
        for (prefix, group) in attentionSublayers {
            let indices = layer.weights.indices.filter { layer.weights[$0].name.hasPrefix(prefix + "/") }
            placed.formUnion(indices)
            groups.append(VarsGroup(path: [group, "vars"], name: prefix, weights: indices))
        }
        if let stray = layer.weights.indices.first(where: { !placed.contains($0) }) {
            throw ZooError(.mismatch, "\(layer.name): expected MultiHeadAttention weights named query/…, key/…, value/… or attention_output/…, found '\(layer.weights[stray].name)'")
        }
        let suffix = ordinal == 0 ? "" : "_\(ordinal)"
        groups.append(VarsGroup(path: ["_softmax", "vars"], name: "softmax" + suffix, weights: []))
        groups.append(VarsGroup(path: ["_dropout_layer", "vars"], name: "dropout" + suffix, weights: []))
        return groups
    }

    /// `layers/` group names in `model.layers` order: snake_case class name, `_N` from the second
    /// layer of a class on.
    static func groupNames(_ model: SavedModel) -> [(group: String, ordinal: Int)] {
        var counters: [String: Int] = [:]
        return model.layers.map { saved in
            let base = kerasSnakeCase(saved.className)
            let n = counters[base, default: 0]
            counters[base] = n + 1
            return (n == 0 ? base : "\(base)_\(n)", n)
        }
    }

    /// Lays out the groups, attributes and (reserved, unwritten) datasets of every weight of
    /// `model` in `file`, and says where each weight's bytes go.
    /// `place` hears (layer, weight index, byte offset) as each dataset is reserved.
    static func layout(_ model: SavedModel, in file: H5File, dtype: KerasDType, place: (String, Int, Int) throws -> Void) throws {
        let root = try file.root()
        let layersGroup = try root.createGroup("layers")
        for (saved, (groupName, ordinal)) in zip(model.layers, groupNames(model)) {
            let layerGroup = try layersGroup.createGroup(groupName)
            for vars in try varsGroups(saved.layer, ordinal: ordinal) {
                var group = layerGroup
                for component in vars.path {
                    group = group.contains(component) ? try group.openGroup(component) : try group.createGroup(component)
                }
                try group.setStringAttribute("name", vars.name, utf8: true)
                for (i, w) in vars.weights.enumerated() {
                    let weight = saved.layer.weights[w]
                    try place(saved.name, w, try group.reserveFloats(String(i), shape: weight.shape, dtype: dtype))
                }
            }
        }
        let rootVars = try root.createGroup("vars")
        try rootVars.setStringAttribute("name", model.name, utf8: true)
    }

    /// Every layer's weight datasets, keyed by the `name` attribute of its `vars` group, not yet read.
    static func index(_ file: H5ReadFile) throws -> [String: [H5DatasetRef]] {
        let root = try file.root()
        guard root.contains("layers") else {
            if root.hasAttribute("layer_names") || root.contains("model_weights") {
                throw ZooError(.format, "expected a Keras 3 weights file (groups layers/…/vars) in \(file.displayName), found a legacy tf.keras .h5 layout")
            }
            throw ZooError(.format, "expected a Keras 3 weights file with a 'layers' group in \(file.displayName), found none")
        }
        let layers = try root.openGroup("layers")
        var out: [String: [H5DatasetRef]] = [:]
        for groupName in try layers.childNames() {
            let group = try layers.openGroup(groupName)
            guard group.contains("vars") else { continue } // not a layer (Keras writes none such)
            let vars = try group.openGroup("vars")
            let name = try vars.stringsAttribute("name")?.first ?? groupName
            var tensors = try readVars(vars)
            for (_, sub) in attentionSublayers where group.contains(sub) {
                tensors += try readVars(try group.openGroup(sub).openGroup("vars"))
            }
            if tensors.isEmpty { continue }
            guard out[name] == nil else {
                throw ZooError(.format, "expected one group per layer in \(file.displayName), found two named '\(shown: name)'")
            }
            out[name] = tensors
        }
        return out
    }

    /// Datasets `0`, `1`, … of a `vars` group, in numeric order.
    private static func readVars(_ vars: H5ReadGroup) throws -> [H5DatasetRef] {
        let names = try vars.childNames()
        let indices = names.compactMap { Int($0) }.sorted()
        guard indices.count == names.count, indices == Array(0..<indices.count) else {
            throw ZooError(.format, "expected datasets named 0…\(names.count - 1) in '\(shown: vars.path)' of \(vars.file.displayName), found \(names.sorted())")
        }
        return indices.map { H5DatasetRef(group: vars, name: String($0)) }
    }
}
