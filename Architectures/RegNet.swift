// RegNet X and Y as torchvision builds them (torchvision/models/regnet.py): a stride-2 3×3 stem
// (SimpleStemIN), four stages of residual bottlenecks (ResBottleneckBlock: 1×1, grouped 3×3 with
// the stage's stride, [Y: squeeze-and-excitation,] 1×1, plus a 1×1 projection shortcut where the
// shape changes, ReLU after the sum), global average pool, Linear. The stage widths, depths and
// group widths are not tabled but generated from (depth, w₀, w_a, w_m, group width) by
// `BlockParams.from_init_params`, in float32 tensor arithmetic as torchvision does; Y's SE squeezes
// to `round(0.25 · block input width)`, not a fraction of the bottleneck width it gates.
// keras.applications' RegNets pad their stride-2 convs TensorFlow's way (`same`) and name layers
// after pycls; these pad symmetrically as PyTorch does (explicit ZeroPadding2D) and take
// torchvision's module paths as Keras names, so the files do not load into them.
import Foundation
import ZooGraph

enum RegNet {
    /// The arguments of `BlockParams.from_init_params`: the linear width ramp
    /// `w_j = w₀ + w_a·j` for `depth` blocks, quantized in log base `w_m` to stage widths.
    struct Design: Sendable {
        var depth: Int
        var w0: Int
        var wa: Double
        var wm: Double
        var groupWidth: Int
        var bottleneckMultiplier = 1.0
        /// RegNet Y's squeeze-and-excitation ratio; nil for RegNet X.
        var seRatio: Double?
    }

    /// One AnyStage: `depth` blocks of output width `width`, the first with stride 2.
    struct Stage: Equatable {
        var width: Int
        var depth: Int
        var groupWidth: Int
        var bottleneckMultiplier: Double
    }

    /// `BlockParams.from_init_params` followed by `_adjust_widths_groups_compatibilty`. The ramp is
    /// computed in float32 as torchvision's tensors are (`torch.arange(depth) * w_a + w_0` is a
    /// float32 tensor; `torch.round` rounds half to even, which decides regnet_x_1_6gf's 22.5).
    static func stages(_ d: Design) -> [Stage] {
        let quant: Float = 8
        let w0 = Float(d.w0), wa = Float(d.wa), wm = Float(d.wm), logWm = Float(Foundation.log(d.wm))
        let blockWidths: [Int] = (0..<d.depth).map { j in
            let continuous = Float(j) * wa + w0
            let capacity = (logf(continuous / w0) / logWm).rounded(.toNearestOrEven)
            return Int(((w0 * powf(wm, capacity)) / quant).rounded(.toNearestOrEven) * quant)
        }
        // a stage starts wherever the width changes
        var raw: [(width: Int, depth: Int)] = []
        for w in blockWidths {
            if let last = raw.last, last.width == w { raw[raw.count - 1].depth += 1 } else { raw.append((w, 1)) }
        }
        return raw.map { stage in
            let b = d.bottleneckMultiplier
            let bottleneck = Int(Double(stage.width) * b)
            let groupWidth = min(d.groupWidth, bottleneck)
            let adjusted = makeDivisible(Double(bottleneck), groupWidth)
            return Stage(width: Int(Double(adjusted) / b), depth: stage.depth, groupWidth: groupWidth, bottleneckMultiplier: b)
        }
    }

    static func architecture(_ name: String, _ design: Design, summary: String) -> Architecture {
        Architecture(
            name: name, family: "regnet", summary: summary,
            defaults: ArchitectureOptions(classes: 1000, imageSize: 224),
            make: { options in try build(name, design, classes: options.classes!, image: options.image!, head: options.head) },
            smallOptions: ArchitectureOptions(classes: 10, imageSize: 64), // five stride-2 steps: 64 → 2×2
            headSlot: "fc"
        )
    }

    static func build(_ name: String, _ design: Design, classes: Int, image: ImageSize, head: ClassifierHead? = nil) throws -> Graph {
        let g = GraphBuilder(name: name)
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        let stemWidth = 32
        x = g.convNormActivation(x, torch: "stem", out: stemWidth, stride: 2) // SimpleStemIN: 3×3, stride 2, BN, ReLU
        g.scope("trunk_output") { // Sequential(OrderedDict(block1 … block4))
            for (i, stage) in stages(design).enumerated() {
                g.scope("block\(i + 1)") { // AnyStage: modules named block{i}-{j}
                    for j in 0..<stage.depth {
                        g.scope("block\(i + 1)-\(j)") {
                            x = resBottleneckBlock(g, x, width: stage.width, stride: j == 0 ? 2 : 1, groupWidth: stage.groupWidth,
                                                   bottleneckMultiplier: stage.bottleneckMultiplier, seRatio: design.seRatio)
                        }
                    }
                }
            }
        }
        x = g.globalAvgPool(x, keras: "avg_pool") // avgpool (1×1) + flatten
        x = g.classifierHead(x, head, torch: "fc", keras: "predictions", classes: classes)
        return try g.build(outputs: [x])
    }

    /// `ResBottleneckBlock`: `proj` (registered first) where the shape changes, `f` (the
    /// BottleneckTransform a, b, [se,] c), `activation(proj(x) + f(x))`.
    static func resBottleneckBlock(_ g: GraphBuilder, _ x: Value, width: Int, stride: Int, groupWidth: Int,
                                   bottleneckMultiplier: Double, seRatio: Double?) -> Value {
        let widthIn = g.shape(x)[0]
        var shortcut = x
        if widthIn != width || stride != 1 {
            shortcut = g.convNormActivation(x, torch: "proj", out: width, kernel: 1, stride: stride, activation: nil)
        }
        var y = x
        g.scope("f") {
            let bottleneck = Int((Double(width) * bottleneckMultiplier).rounded(.toNearestOrEven))
            y = g.convNormActivation(y, torch: "a", out: bottleneck, kernel: 1)
            y = g.convNormActivation(y, torch: "b", out: bottleneck, stride: stride, groups: bottleneck / groupWidth)
            if let seRatio, seRatio > 0 { // relative to the block's input width
                y = g.squeezeExcitation(y, torch: "se", squeeze: Int((seRatio * Double(widthIn)).rounded(.toNearestOrEven)))
            }
            y = g.convNormActivation(y, torch: "c", out: width, kernel: 1, activation: nil)
        }
        return g.activation(g.add(shortcut, y), .relu, torch: "activation")
    }
}
