// DenseNet-BC as torchvision builds it (torchvision/models/densenet.py): a 7×7 stem, four dense
// blocks whose layers are BatchNorm → ReLU → 1×1 conv (bn_size · k) → BatchNorm → ReLU → 3×3
// conv (k) on the concatenation of every earlier output, transitions of BatchNorm → ReLU → 1×1
// conv (half the channels) → 2×2 average pool, then `features.norm5`, a functional ReLU, global
// average pooling and `classifier`. BatchNorm eps 1e-5, convs without bias.
// keras.applications' DenseNets have the same structure but BatchNorm eps 1.001e-5, so they are
// a (slightly) different function; the Keras names here are torchvision's module paths.
// Concatenation is exact, so each layer's input is built as keras.applications builds it, one
// Concatenate per layer ([all earlier] + [new]), instead of re-concatenating every earlier output
// as torchvision's `bn_function` does: the same values in the same channel order.
// Older checkpoints (torchvision's own densenet downloads among them) spell `norm.1`, `conv.1`, `norm.2`, `conv.2`
// for `norm1` … `conv2`; torchvision's `_load_state_dict` renames them, and so does `normalizeKey`.
import ZooGraph

enum DenseNet {
    static func architecture(_ name: String, growth: Int, blocks: [Int], initialFeatures: Int, summary: String) -> Architecture {
        Architecture(
            name: name, family: "densenet", summary: summary,
            defaults: ArchitectureOptions(classes: 1000, imageSize: 224),
            make: { options in
                try build(name, growth: growth, blocks: blocks, initialFeatures: initialFeatures,
                          classes: options.classes!, image: options.image!, head: options.head)
            },
            normalizeKey: { currentSpelling($0) },
            // torchvision's min_size: the smallest input the stem and three transitions leave 1×1
            smallOptions: ArchitectureOptions(classes: 10, imageSize: 29),
            headSlot: "classifier"
        )
    }

    /// torchvision's `bn_size`: the 1×1 bottleneck has bn_size · growth channels.
    static let bottleneckFactor = 4

    static func build(_ name: String, growth: Int, blocks: [Int], initialFeatures: Int, classes: Int, image: ImageSize, head: ClassifierHead? = nil) throws -> Graph {
        let g = GraphBuilder(name: name)
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        g.scope("features") { // an nn.Sequential of named modules
            x = g.conv2d(x, torch: "conv0", out: initialFeatures, kernel: 7, stride: 2, padding: 3, bias: false)
            x = g.batchNorm(x, torch: "norm0")
            x = g.activation(x, .relu, torch: "relu0")
            x = g.maxPool2d(x, torch: "pool0", kernel: 3, stride: 2, padding: 1)
            for (i, layers) in blocks.enumerated() {
                g.scope("denseblock\(i + 1)") {
                    for j in 0..<layers {
                        g.scope("denselayer\(j + 1)") { x = g.concat([x, denseLayer(g, x, growth: growth)]) }
                    }
                }
                if i < blocks.count - 1 {
                    g.scope("transition\(i + 1)") {
                        x = g.batchNorm(x, torch: "norm")
                        x = g.activation(x, .relu, torch: "relu")
                        x = g.conv2d(x, torch: "conv", out: g.shape(x)[0] / 2, kernel: 1, bias: false)
                        x = g.avgPool2d(x, torch: "pool", kernel: 2, stride: 2)
                    }
                }
            }
            x = g.batchNorm(x, torch: "norm5")
        }
        x = g.activation(x, .relu) // F.relu in DenseNet.forward
        x = g.globalPoolAndFlatten(x)
        x = g.classifierHead(x, head, torch: "classifier", keras: "predictions", classes: classes)
        return try g.build(outputs: [x])
    }

    /// `_DenseLayer`: norm1, relu1, conv1 (1×1), norm2, relu2, conv2 (3×3); its new features.
    static func denseLayer(_ g: GraphBuilder, _ x: Value, growth: Int) -> Value {
        var y = g.batchNorm(x, torch: "norm1")
        y = g.activation(y, .relu, torch: "relu1")
        y = g.conv2d(y, torch: "conv1", out: bottleneckFactor * growth, kernel: 1, bias: false)
        y = g.batchNorm(y, torch: "norm2")
        y = g.activation(y, .relu, torch: "relu2")
        return g.conv2d(y, torch: "conv2", out: growth, kernel: 3, padding: 1, bias: false)
    }

    /// torchvision's `_load_state_dict` pattern,
    /// `^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$`:
    /// `….denselayer3.norm.1.weight` → `….denselayer3.norm1.weight`; every other key as it is.
    static func currentSpelling(_ key: String) -> String {
        var parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let n = parts.count
        guard n >= 4, ["weight", "bias", "running_mean", "running_var"].contains(parts[n - 1]),
              parts[n - 2] == "1" || parts[n - 2] == "2", ["norm", "relu", "conv"].contains(parts[n - 3]) else { return key }
        let layer = parts[n - 4]
        let digits = layer.reversed().prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, layer.dropLast(digits.count).hasSuffix("denselayer") else { return key }
        parts[n - 3] += parts[n - 2]
        parts.remove(at: n - 2)
        return parts.joined(separator: ".")
    }
}
