// EfficientNet B0–B7 and EfficientNetV2 S/M/L as torchvision builds them
// (torchvision/models/efficientnet.py): a stem conv, stages of MBConv blocks (1×1 expansion,
// depthwise k×k, squeeze-and-excitation with SiLU and a sigmoid gate squeezing to a quarter of
// the block's *input* channels, 1×1 projection; V2's first stages FusedMBConv, a full k×k conv in
// place of expansion + depthwise and no SE), a 1×1 head conv, global pooling, Dropout + Linear.
// SiLU everywhere. Stochastic depth is a module attribute beside each block's Sequential with no
// tensors and the identity at inference, so it takes no index and computes nothing here.
// B0–B4 use BatchNorm2d's defaults (eps 1e-5, momentum 0.1), B5–B7 eps 1e-3 and momentum 0.01,
// V2 eps 1e-3 and momentum 0.1. B-variants scale one stage table by width (channels through
// `_make_divisible(c · w, 8)`) and depth (`ceil(n · d)`), as `MBConvConfig` does.
// keras.applications' EfficientNets pad stride-2 convs TensorFlow's way (`same`), rescale and
// normalise the input inside the model, and name layers otherwise; these pad symmetrically as
// PyTorch does (explicit ZeroPadding2D) and take the normalised image, so the files do not load
// into them. Every op here is exact at any input size; the Keras input is fixed at the size
// converted for (`--image-size`, by default the crop size torchvision's weights were made at).
import ZooGraph

enum EfficientNet {
    enum BlockKind { case mbConv, fusedMBConv }

    /// One row of `_efficientnet_conf`: `MBConvConfig` / `FusedMBConvConfig(expand_ratio, kernel,
    /// stride, input_channels, out_channels, num_layers)`.
    struct Stage {
        var block: BlockKind
        var expandRatio: Double, kernel: Int, stride: Int, input: Int, output: Int, layers: Int

        static func mb(_ e: Double, _ k: Int, _ s: Int, _ i: Int, _ o: Int, _ n: Int) -> Stage {
            Stage(block: .mbConv, expandRatio: e, kernel: k, stride: s, input: i, output: o, layers: n)
        }
        static func fused(_ e: Double, _ k: Int, _ s: Int, _ i: Int, _ o: Int, _ n: Int) -> Stage {
            Stage(block: .fusedMBConv, expandRatio: e, kernel: k, stride: s, input: i, output: o, layers: n)
        }

        /// `MBConvConfig(…, width_mult, depth_mult)`: channels through `adjust_channels`, layers
        /// through `adjust_depth`.
        func scaled(width: Double, depth: Double) -> Stage {
            var s = self
            s.input = adjustChannels(input, width)
            s.output = adjustChannels(output, width)
            s.layers = Int((Double(layers) * depth).rounded(.up))
            return s
        }
    }

    /// `_MBConvConfig.adjust_channels`: `_make_divisible(channels · multiplier, 8)`.
    static func adjustChannels(_ channels: Int, _ multiplier: Double) -> Int { makeDivisible(Double(channels) * multiplier, 8) }

    /// The B-series table before scaling.
    static let v1Base: [Stage] = [
        .mb(1, 3, 1, 32, 16, 1), .mb(6, 3, 2, 16, 24, 2), .mb(6, 5, 2, 24, 40, 2), .mb(6, 3, 2, 40, 80, 3),
        .mb(6, 5, 1, 80, 112, 3), .mb(6, 5, 2, 112, 192, 4), .mb(6, 3, 1, 192, 320, 1),
    ]
    // V2's MBConvConfig rows take width 1 (their channels are multiples of 8 already); its
    // FusedMBConvConfig rows are not adjusted at all.
    static let v2S: [Stage] = [
        .fused(1, 3, 1, 24, 24, 2), .fused(4, 3, 2, 24, 48, 4), .fused(4, 3, 2, 48, 64, 4),
        .mb(4, 3, 2, 64, 128, 6), .mb(6, 3, 1, 128, 160, 9), .mb(6, 3, 2, 160, 256, 15),
    ]
    static let v2M: [Stage] = [
        .fused(1, 3, 1, 24, 24, 3), .fused(4, 3, 2, 24, 48, 5), .fused(4, 3, 2, 48, 80, 5),
        .mb(4, 3, 2, 80, 160, 7), .mb(6, 3, 1, 160, 176, 14), .mb(6, 3, 2, 176, 304, 18), .mb(6, 3, 1, 304, 512, 5),
    ]
    static let v2L: [Stage] = [
        .fused(1, 3, 1, 32, 32, 4), .fused(4, 3, 2, 32, 64, 7), .fused(4, 3, 2, 64, 96, 7),
        .mb(4, 3, 2, 96, 192, 10), .mb(6, 3, 1, 192, 224, 19), .mb(6, 3, 2, 224, 384, 25), .mb(6, 3, 1, 384, 640, 7),
    ]

    /// `efficientnet_b<n>`: the base table at `width` × `depth`, eps/momentum from the builder, and
    /// the crop size of torchvision's weights as the default input.
    static func v1(_ n: Int, width: Double, depth: Double, imageSize: Int, norm: BatchNormSettings = .standard) -> Architecture {
        architecture("efficientnet_b\(n)", v1Base.map { $0.scaled(width: width, depth: depth) }, lastChannel: nil, norm: norm,
                     imageSize: imageSize, summary: "EfficientNet-B\(n) (torchvision): MBConv with SE, SiLU, width ×\(width), "
                         + "depth ×\(depth), BatchNorm eps \(norm.eps)")
    }

    /// `efficientnet_v2_<size>`: Fused-MBConv then MBConv stages, a 1280-channel head, BatchNorm
    /// eps 1e-3 (momentum left at 0.1).
    static func v2(_ size: String, _ stages: [Stage], imageSize: Int) -> Architecture {
        architecture("efficientnet_v2_\(size)", stages, lastChannel: 1280, norm: BatchNormSettings(eps: 1e-3, momentum: 0.1),
                     imageSize: imageSize, summary: "EfficientNetV2-\(size.uppercased()) (torchvision): Fused-MBConv, MBConv with SE, SiLU")
    }

    static func architecture(_ name: String, _ stages: [Stage], lastChannel: Int?, norm: BatchNormSettings,
                             imageSize: Int, summary: String) -> Architecture {
        Architecture(
            name: name, family: "efficientnet", summary: summary,
            defaults: ArchitectureOptions(classes: 1000, imageSize: imageSize, head: TorchvisionHead.dropoutLinear),
            make: { options in
                try build(name, stages, lastChannel: lastChannel, norm: norm, classes: options.classes!, image: options.image!, head: options.head!)
            },
            smallOptions: ArchitectureOptions(classes: 10, imageSize: 64),
            headSlot: "classifier"
        )
    }

    static func build(_ name: String, _ stages: [Stage], lastChannel: Int?, norm: BatchNormSettings,
                      classes: Int, image: ImageSize, head: ClassifierHead) throws -> Graph {
        let g = GraphBuilder(name: name)
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        g.sequential("features") {
            x = g.convNormActivation(x, out: stages[0].input, stride: 2, norm: norm, activation: .silu)
            for stage in stages {
                g.sequential {
                    for i in 0..<stage.layers {
                        // every block after a stage's first takes its output channels and stride 1
                        let input = i == 0 ? stage.input : stage.output, stride = i == 0 ? stage.stride : 1
                        x = block(g, x, stage.block, input: input, output: stage.output, expandRatio: stage.expandRatio,
                                  kernel: stage.kernel, stride: stride, norm: norm)
                    }
                }
            }
            let last = stages.last!.output
            x = g.convNormActivation(x, out: lastChannel ?? 4 * last, kernel: 1, norm: norm, activation: .silu)
        }
        x = g.globalPoolAndFlatten(x)
        // classifier = Sequential(Dropout, Linear), or what fine-tuning put in its place
        x = g.classifierHead(x, head, torch: "classifier", keras: "predictions", classes: classes)
        return try g.build(outputs: [x])
    }

    /// `MBConv` / `FusedMBConv` as the next item of the stage's Sequential: its layers in `block`,
    /// the residual (after stochastic depth, the identity here) when stride and channels allow.
    static func block(_ g: GraphBuilder, _ x: Value, _ kind: BlockKind, input: Int, output: Int, expandRatio: Double,
                      kernel: Int, stride: Int, norm: BatchNormSettings) -> Value {
        let expanded = adjustChannels(input, expandRatio)
        return g.item {
            var y = x
            g.sequential("block") {
                switch kind {
                case .mbConv:
                    if expanded != input { y = g.convNormActivation(y, out: expanded, kernel: 1, norm: norm, activation: .silu) }
                    y = g.convNormActivation(y, out: expanded, kernel: kernel, stride: stride, groups: expanded, norm: norm, activation: .silu)
                    y = g.squeezeExcitation(y, squeeze: max(1, input / 4), activation: .silu)
                    y = g.convNormActivation(y, out: output, kernel: 1, norm: norm, activation: nil)
                case .fusedMBConv:
                    if expanded != input {
                        y = g.convNormActivation(y, out: expanded, kernel: kernel, stride: stride, norm: norm, activation: .silu)
                        y = g.convNormActivation(y, out: output, kernel: 1, norm: norm, activation: nil)
                    } else {
                        y = g.convNormActivation(y, out: output, kernel: kernel, stride: stride, norm: norm, activation: .silu)
                    }
                }
            }
            return stride == 1 && input == output ? g.add(y, x) : y
        }
    }
}
