// MobileNetV2 and V3 as torchvision builds them (torchvision/models/mobilenetv2.py,
// mobilenetv3.py): inverted residuals of 1×1 expansion, depthwise k×k, (squeeze-and-excitation,)
// 1×1 projection, with a residual when the shape allows. V2: ReLU6, BatchNorm eps 1e-5. V3:
// ReLU or hard-swish per block, SE gated by hard-sigmoid with `_make_divisible(C/4, 8)` squeeze
// channels, BatchNorm eps 1e-3 and momentum 0.01, a hard-swish Linear before the last.
// keras.applications' MobileNets pad stride-2 convs TensorFlow's way (`same`); these pad
// symmetrically as PyTorch does (explicit ZeroPadding2D), so the files do not load into them.
import ZooGraph

enum MobileNet {
    static func v2() -> Architecture {
        Architecture(
            name: "mobilenet_v2", family: "mobilenet",
            summary: "MobileNetV2 (torchvision): inverted residuals, depthwise 3×3, ReLU6",
            defaults: ArchitectureOptions(classes: 1000, imageSize: 224, head: TorchvisionHead.dropoutLinear),
            make: { options in try buildV2(classes: options.classes!, image: options.image!, head: options.head!) },
            smallOptions: ArchitectureOptions(classes: 10, imageSize: 64),
            headSlot: "classifier"
        )
    }

    static func buildV2(classes: Int, image: ImageSize, head: ClassifierHead) throws -> Graph {
        let g = GraphBuilder(name: "mobilenet_v2")
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        // expansion t, output channels c, repeats n, first stride s
        let settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        g.sequential("features") {
            x = g.convNormActivation(x, out: 32, stride: 2, activation: .relu6)
            var channels = 32
            for (t, c, n, s) in settings {
                for i in 0..<n {
                    let stride = i == 0 ? s : 1
                    let input = x
                    g.item { // InvertedResidual
                        var y = input
                        g.sequential("conv") {
                            let hidden = channels * t
                            if t != 1 { y = g.convNormActivation(y, out: hidden, kernel: 1, activation: .relu6) }
                            y = g.convNormActivation(y, out: hidden, stride: stride, groups: hidden, activation: .relu6)
                            y = g.conv2d(y, out: c, kernel: 1, bias: false)
                            y = g.batchNorm(y)
                        }
                        x = stride == 1 && channels == c ? g.add(input, y) : y
                    }
                    channels = c
                }
            }
            x = g.convNormActivation(x, out: 1280, kernel: 1, activation: .relu6)
        }
        x = g.globalPoolAndFlatten(x)
        // classifier = Sequential(Dropout, Linear), or what fine-tuning put in its place
        x = g.classifierHead(x, head, torch: "classifier", keras: "predictions", classes: classes)
        return try g.build(outputs: [x])
    }

    /// One row of `_mobilenet_v3_conf`: (input, kernel, expanded, output, SE, hard-swish, stride).
    struct Block {
        var input: Int, kernel: Int, expanded: Int, output: Int, se: Bool, hardSwish: Bool, stride: Int
        init(_ input: Int, _ kernel: Int, _ expanded: Int, _ output: Int, _ se: Bool, _ activation: String, _ stride: Int) {
            (self.input, self.kernel, self.expanded, self.output, self.se, self.hardSwish, self.stride) =
                (input, kernel, expanded, output, se, activation == "HS", stride)
        }
    }

    static let large = [
        Block(16, 3, 16, 16, false, "RE", 1), Block(16, 3, 64, 24, false, "RE", 2), Block(24, 3, 72, 24, false, "RE", 1),
        Block(24, 5, 72, 40, true, "RE", 2), Block(40, 5, 120, 40, true, "RE", 1), Block(40, 5, 120, 40, true, "RE", 1),
        Block(40, 3, 240, 80, false, "HS", 2), Block(80, 3, 200, 80, false, "HS", 1), Block(80, 3, 184, 80, false, "HS", 1),
        Block(80, 3, 184, 80, false, "HS", 1), Block(80, 3, 480, 112, true, "HS", 1), Block(112, 3, 672, 112, true, "HS", 1),
        Block(112, 5, 672, 160, true, "HS", 2), Block(160, 5, 960, 160, true, "HS", 1), Block(160, 5, 960, 160, true, "HS", 1),
    ]
    static let small = [
        Block(16, 3, 16, 16, true, "RE", 2), Block(16, 3, 72, 24, false, "RE", 2), Block(24, 3, 88, 24, false, "RE", 1),
        Block(24, 5, 96, 40, true, "HS", 2), Block(40, 5, 240, 40, true, "HS", 1), Block(40, 5, 240, 40, true, "HS", 1),
        Block(40, 5, 120, 48, true, "HS", 1), Block(48, 5, 144, 48, true, "HS", 1), Block(48, 5, 288, 96, true, "HS", 2),
        Block(96, 5, 576, 96, true, "HS", 1), Block(96, 5, 576, 96, true, "HS", 1),
    ]

    static func v3(_ name: String, _ blocks: [Block], lastChannel: Int, summary: String) -> Architecture {
        Architecture(
            name: name, family: "mobilenet", summary: summary,
            defaults: ArchitectureOptions(classes: 1000, imageSize: 224),
            make: { options in try buildV3(name, blocks, lastChannel: lastChannel, classes: options.classes!, image: options.image!, head: options.head) },
            smallOptions: ArchitectureOptions(classes: 10, imageSize: 64),
            headSlot: "classifier.3"
        )
    }

    static func buildV3(_ name: String, _ blocks: [Block], lastChannel: Int, classes: Int, image: ImageSize, head: ClassifierHead? = nil) throws -> Graph {
        let g = GraphBuilder(name: name)
        let norm = BatchNormSettings(eps: 1e-3, momentum: 0.01)
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        g.sequential("features") {
            x = g.convNormActivation(x, out: blocks[0].input, stride: 2, norm: norm, activation: .hardSwish)
            for b in blocks {
                let input = x
                let act: ActivationKind = b.hardSwish ? .hardSwish : .relu
                g.item { // InvertedResidual
                    var y = input
                    g.sequential("block") {
                        if b.expanded != b.input { y = g.convNormActivation(y, out: b.expanded, kernel: 1, norm: norm, activation: act) }
                        y = g.convNormActivation(y, out: b.expanded, kernel: b.kernel, stride: b.stride, groups: b.expanded, norm: norm, activation: act)
                        if b.se { y = g.squeezeExcitation(y, squeeze: makeDivisible(Double(b.expanded / 4), 8), gate: .hardSigmoid) }
                        y = g.convNormActivation(y, out: b.output, kernel: 1, norm: norm, activation: nil)
                    }
                    x = b.stride == 1 && b.input == b.output ? g.add(y, input) : y
                }
            }
            x = g.convNormActivation(x, out: 6 * blocks.last!.output, kernel: 1, norm: norm, activation: .hardSwish)
        }
        x = g.globalPoolAndFlatten(x)
        g.sequential("classifier") { // Linear, Hardswish, Dropout, Linear
            x = g.linear(x, out: lastChannel, activation: .hardSwish)
            g.skip()
            x = g.classifierHead(x, head, keras: "predictions", classes: classes)
        }
        return try g.build(outputs: [x])
    }
}
