// ShuffleNetV2 as torchvision builds it (torchvision/models/shufflenetv2.py): a 3×3 stride-2
// conv and a 3×3 stride-2 max pool, three stages of `InvertedResidual` units, a 1×1 conv and a
// global mean. A stride-1 unit splits the channels in two (`x.chunk(2, dim=1)`), keeps the first
// half and runs the second through 1×1 → depthwise 3×3 → 1×1; a stride-2 unit runs the whole
// map through both branches. Either way the halves are concatenated and `channel_shuffle(x, 2)`d.
// BatchNorm eps 1e-5. keras.applications has no ShuffleNet. In Keras the split is two
// Cropping2D of the channel axis, the shuffle Reshape → Permute → Reshape, the symmetric
// paddings of the stride-2 conv, pool and depthwise convs explicit ZeroPadding2D (the pool's
// input follows a ReLU, so zero padding is PyTorch's −∞ padding there).
import ZooGraph

enum ShuffleNetV2 {
    static let repeats = [4, 8, 4]

    static func architecture(_ name: String, channels: [Int], summary: String) -> Architecture {
        Architecture(
            name: name, family: "shufflenet", summary: summary,
            defaults: ArchitectureOptions(classes: 1000, imageSize: 224),
            make: { options in try build(name, channels: channels, classes: options.classes!, image: options.image!, head: options.head) },
            // any size is exact (every conv and pool floors alike); 64 leaves stage 4 a 2×2 map
            smallOptions: ArchitectureOptions(classes: 10, imageSize: 64),
            headSlot: "fc"
        )
    }

    /// `stages_out_channels`: the stem, the three stages, conv5.
    static func build(_ name: String, channels: [Int], classes: Int, image: ImageSize, head: ClassifierHead? = nil) throws -> Graph {
        let g = GraphBuilder(name: name)
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        g.sequential("conv1") { // Conv2d 3×3 stride 2 padding 1, BatchNorm, ReLU
            x = g.conv2d(x, out: channels[0], kernel: 3, stride: 2, padding: 1, bias: false)
            x = g.batchNorm(x)
            x = g.activation(x, .relu)
        }
        x = g.maxPool2d(x, torch: "maxpool", kernel: 3, stride: 2, padding: 1)
        for (stage, count) in repeats.enumerated() {
            g.sequential("stage\(stage + 2)") {
                for i in 0..<count { x = unit(g, x, out: channels[stage + 1], stride: i == 0 ? 2 : 1) }
            }
        }
        g.sequential("conv5") { // Conv2d 1×1, BatchNorm, ReLU
            x = g.conv2d(x, out: channels[4], kernel: 1, bias: false)
            x = g.batchNorm(x)
            x = g.activation(x, .relu)
        }
        x = g.globalAvgPool(x, keras: "avg_pool") // x.mean([2, 3])
        x = g.classifierHead(x, head, torch: "fc", keras: "predictions", classes: classes)
        return try g.build(outputs: [x])
    }

    /// `InvertedResidual(inp, oup, stride)`.
    static func unit(_ g: GraphBuilder, _ input: Value, out: Int, stride: Int) -> Value {
        g.item {
            let inp = g.shape(input)[0], half = out / 2
            var kept: Value, branch: Value
            if stride > 1 {
                kept = input
                g.sequential("branch1") { // depthwise 3×3, BatchNorm, Conv2d 1×1, BatchNorm, ReLU
                    kept = g.conv2d(kept, out: inp, kernel: 3, stride: stride, padding: 1, groups: inp, bias: false)
                    kept = g.batchNorm(kept)
                    kept = g.conv2d(kept, out: half, kernel: 1, bias: false)
                    kept = g.batchNorm(kept)
                    kept = g.activation(kept, .relu)
                }
                branch = input
            } else {
                kept = g.channels(input, 0..<(inp / 2))
                branch = g.channels(input, (inp / 2)..<inp)
            }
            g.sequential("branch2") { // Conv2d 1×1, BatchNorm, ReLU, depthwise 3×3, BatchNorm, Conv2d 1×1, BatchNorm, ReLU
                branch = g.conv2d(branch, out: half, kernel: 1, bias: false)
                branch = g.batchNorm(branch)
                branch = g.activation(branch, .relu)
                branch = g.conv2d(branch, out: half, kernel: 3, stride: stride, padding: 1, groups: half, bias: false)
                branch = g.batchNorm(branch)
                branch = g.conv2d(branch, out: half, kernel: 1, bias: false)
                branch = g.batchNorm(branch)
                branch = g.activation(branch, .relu)
            }
            return g.channelShuffle(g.concat([kept, branch]), groups: 2)
        }
    }
}
