import ZooCore
import ZooGraph

/// The legacy weights-only HDF5 file of tf.keras 2 (`save_weights(path, save_format="h5")`),
/// which tf.keras 2 and Keras 3 (`load_weights` on a `.h5`) both read. Layers are paired by
/// position among those with weights (or by name with `by_name=True`), so `layer_names` follows
/// `model.layers` order.
enum LegacyH5 {
    /// The tf.keras release whose layout this is; loaders consult it only to convert Keras 1 files.
    static let kerasVersion = "2.21.0"
    static let backend = "tensorflow"

    /// tf.keras 2 weight names: `<layer>/<weight>:0`, e.g. `conv1_bn/gamma:0`,
    /// `encoder_layer_0_attention/query/kernel:0`.
    static func weightName(layer: String, weight: String) -> String { "\(layer)/\(weight):0" }

    /// Lays out the attributes, groups and (reserved, unwritten) datasets of every weight of
    /// `model` in `file`, and says where each weight's bytes go.
    /// `place` hears (layer, weight index, byte offset) as each dataset is reserved.
    static func layout(_ model: SavedModel, in file: H5File, dtype: KerasDType, place: (String, Int, Int) throws -> Void) throws {
        let root = try file.root()
        try root.setStringAttribute("backend", backend, utf8: false)
        try root.setStringAttribute("keras_version", kerasVersion, utf8: false)
        try root.setStringArrayAttribute("layer_names", model.layers.map(\.name))
        for saved in model.layers {
            let group = try root.createGroup(saved.name)
            let names = saved.layer.weights.map { weightName(layer: saved.name, weight: $0.name) }
            try group.setStringArrayAttribute("weight_names", names)
            for (index, (name, weight)) in zip(names, saved.layer.weights).enumerated() {
                // "a/b/c:0" is a dataset c:0 inside groups a and b
                var parent = group
                let components = name.split(separator: "/").map(String.init)
                for component in components.dropLast() {
                    parent = parent.contains(component) ? try parent.openGroup(component) : try parent.createGroup(component)
                }
                try place(saved.name, index, try parent.reserveFloats(components.last!, shape: weight.shape, dtype: dtype))
            }
        }
        // tf.keras writes (and its loader checks) the model's own weights here: none.
        let top = try root.createGroup("top_level_model_weights")
        try top.setStringArrayAttribute("weight_names", [])
    }

    /// Every layer's weight datasets, in `weight_names` order, keyed by layer name, not yet read.
    static func index(_ file: H5ReadFile) throws -> [String: [H5DatasetRef]] {
        var root = try file.root()
        // A whole-model legacy save keeps the weights under model_weights.
        if try root.stringsAttribute("layer_names") == nil, root.kind(of: "model_weights") == .group {
            root = try root.openGroup("model_weights")
        }
        guard let layerNames = try root.stringsAttribute("layer_names") else {
            if root.contains("layers") && root.contains("vars") {
                throw ZooError(.format, "expected a legacy tf.keras .h5 (attribute layer_names) in \(file.displayName), found a Keras 3 .weights.h5 layout; name it .weights.h5")
            }
            throw ZooError(.format, "expected a legacy tf.keras .h5 with a root attribute 'layer_names' in \(file.displayName), found none")
        }
        var out: [String: [H5DatasetRef]] = [:]
        for layer in layerNames {
            let group = try root.openGroup(layer)
            let names = try group.stringsAttribute("weight_names") ?? []
            if names.isEmpty { continue }
            out[layer] = try names.map { name in
                var parent = group
                let components = name.split(separator: "/").map(String.init)
                for component in components.dropLast() { parent = try parent.openGroup(component) }
                return H5DatasetRef(group: parent, name: components.last ?? name)
            }
        }
        return out
    }
}
