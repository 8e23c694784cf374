// MNASNet (B1) as torchvision builds it (torchvision/models/mnasnet.py, version 2: the stem scales
// with the depth multiplier too): a stride-2 3×3 conv, a depthwise-separable 3×3 (no residual),
// six `_stack`s of inverted residuals (1×1 expansion, depthwise 3×3 or 5×5, linear 1×1, a residual
// when the shape allows), a 1×1 conv to 1280, the spatial mean, Dropout, Linear. Every BatchNorm
// has eps 1e-5 and PyTorch momentum 1 − 0.9997 (TensorFlow's 0.9997). Widths are
// `_round_to_multiple_of(depth · α, 8)`.
// keras.applications has no MNASNet. Stride-2 convs pad symmetrically as PyTorch does (explicit
// ZeroPadding2D); Keras names are the torchvision module paths.
// Version-1 checkpoints of α ≠ 1 (a fixed 32/16 stem) have other stem shapes and match none of
// these; torchvision itself rebuilds the stem for them.
import ZooGraph

enum MNASNet {
    static let batchNorm = BatchNormSettings(eps: 1e-5, momentum: 1 - 0.9997)

    /// `_get_depths`: the unscaled widths of the stem, the separable conv and the six stacks.
    static let depths = [32, 16, 24, 40, 80, 96, 192, 320]

    /// The six `_stack` calls after the stem: kernel, first stride, expansion, repeats.
    static let stacks = [(3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1)]

    /// `_round_to_multiple_of(val, divisor, round_up_bias=0.9)`: the same rule as `_make_divisible`.
    static func roundToMultiple(_ value: Double, _ divisor: Int) -> Int { makeDivisible(value, divisor) }

    static func architecture(_ name: String, alpha: Double, summary: String) -> Architecture {
        Architecture(
            name: name, family: "mnasnet", summary: summary,
            defaults: ArchitectureOptions(classes: 1000, imageSize: 224, head: TorchvisionHead.dropoutLinear),
            make: { options in try build(name, alpha: alpha, classes: options.classes!, image: options.image!, head: options.head!) },
            smallOptions: ArchitectureOptions(classes: 10, imageSize: 64), // five stride-2 steps: 64 → 2×2
            moduleVersions: ["": 2], // MNASNet._version: its _load_from_state_dict refuses a state dict without it
            headSlot: "classifier"
        )
    }

    static func build(_ name: String, alpha: Double, classes: Int, image: ImageSize, head: ClassifierHead) throws -> Graph {
        let g = GraphBuilder(name: name)
        let widths = depths.map { roundToMultiple(Double($0) * alpha, 8) }
        let bn = batchNorm
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        g.sequential("layers") {
            // regular conv, then a depthwise-separable conv without skip
            x = g.conv2d(x, out: widths[0], kernel: 3, stride: 2, padding: 1, bias: false)
            x = g.batchNorm(x, eps: bn.eps, momentum: bn.momentum)
            x = g.activation(x, .relu)
            x = g.conv2d(x, out: widths[0], kernel: 3, padding: 1, groups: widths[0], bias: false)
            x = g.batchNorm(x, eps: bn.eps, momentum: bn.momentum)
            x = g.activation(x, .relu)
            x = g.conv2d(x, out: widths[1], kernel: 1, bias: false)
            x = g.batchNorm(x, eps: bn.eps, momentum: bn.momentum)
            for (s, (kernel, stride, expansion, repeats)) in stacks.enumerated() {
                let out = widths[s + 2]
                g.sequential { // _stack: the first block changes the shape, the rest keep it
                    for r in 0..<repeats {
                        x = invertedResidual(g, x, out: out, kernel: kernel, stride: r == 0 ? stride : 1, expansion: expansion)
                    }
                }
            }
            x = g.conv2d(x, out: 1280, kernel: 1, bias: false)
            x = g.batchNorm(x, eps: bn.eps, momentum: bn.momentum)
            x = g.activation(x, .relu)
        }
        x = g.globalAvgPool(x, keras: "avg_pool") // x.mean([2, 3])
        // classifier = Sequential(Dropout, Linear), or what fine-tuning put in its place
        x = g.classifierHead(x, head, torch: "classifier", keras: "predictions", classes: classes)
        return try g.build(outputs: [x])
    }

    /// `_InvertedResidual(in, out, kernel, stride, expansion)`: `layers` is a Sequential of
    /// pointwise conv, BN, ReLU, depthwise conv, BN, ReLU, pointwise conv, BN.
    static func invertedResidual(_ g: GraphBuilder, _ x: Value, out: Int, kernel: Int, stride: Int, expansion: Int) -> Value {
        let input = g.shape(x)[0], mid = input * expansion, bn = batchNorm
        return g.item {
            var y = x
            g.sequential("layers") {
                y = g.conv2d(y, out: mid, kernel: 1, bias: false)
                y = g.batchNorm(y, eps: bn.eps, momentum: bn.momentum)
                y = g.activation(y, .relu)
                y = g.conv2d(y, out: mid, kernel: kernel, stride: stride, padding: kernel / 2, groups: mid, bias: false)
                y = g.batchNorm(y, eps: bn.eps, momentum: bn.momentum)
                y = g.activation(y, .relu)
                y = g.conv2d(y, out: out, kernel: 1, bias: false)
                y = g.batchNorm(y, eps: bn.eps, momentum: bn.momentum)
            }
            return input == out && stride == 1 ? g.add(y, x) : y
        }
    }
}
