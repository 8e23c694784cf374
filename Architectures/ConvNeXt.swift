// ConvNeXt as torchvision builds it (torchvision/models/convnext.py): a 4×4 stride-4 stem and
// 2×2 stride-2 downsamplings, each with a channel LayerNorm (`LayerNorm2d`, eps 1e-6); blocks of
// depthwise 7×7 conv, permute to channels last, LayerNorm (eps 1e-6), Linear 4C, exact GELU,
// Linear C, permute back, layer scale γ [C, 1, 1] and a residual (stochastic depth is the
// identity at inference); the classifier is average pool, LayerNorm2d, flatten, Linear.
// In Keras the permutes vanish (the map is channels last throughout), the Linears are Dense on
// the last axis and γ is a 1×1 DepthwiseConv2D. keras.applications.ConvNeXtTiny computes the
// same function, but nests its stem and downsamplings in Sequentials, runs the 7×7 as a grouped
// Conv2D (kernel (7, 7, 1, C)) and keeps γ in a custom LayerScale layer (shape (C,)), so zoo's
// files do not load into it; zoo's names are torchvision's paths.
import ZooGraph

enum ConvNeXt {
    /// One `CNBlockConfig`: (input channels, output channels of the downsampling after it, blocks).
    typealias Stage = (channels: Int, next: Int?, blocks: Int)

    static let tiny: [Stage] = [(96, 192, 3), (192, 384, 3), (384, 768, 9), (768, nil, 3)]
    static let small: [Stage] = [(96, 192, 3), (192, 384, 3), (384, 768, 27), (768, nil, 3)]
    static let base: [Stage] = [(128, 256, 3), (256, 512, 3), (512, 1024, 27), (1024, nil, 3)]
    static let large: [Stage] = [(192, 384, 3), (384, 768, 3), (768, 1536, 27), (1536, nil, 3)]

    static let eps = 1e-6

    static func architecture(_ name: String, _ stages: [Stage], summary: String) -> Architecture {
        Architecture(
            name: name, family: "convnext", summary: summary,
            defaults: ArchitectureOptions(classes: 1000, imageSize: 224),
            make: { options in try build(name, stages, classes: options.classes!, image: options.image!, head: options.head) },
            // any size from 32 (torchvision's min_size) is exact: every conv floors alike in
            // both frameworks; 64 leaves the last stage a 2×2 map, so its 7×7 taps are exercised
            smallOptions: ArchitectureOptions(classes: 10, imageSize: 64),
            headSlot: "classifier.2"
        )
    }

    static func build(_ name: String, _ stages: [Stage], classes: Int, image: ImageSize, head: ClassifierHead? = nil) throws -> Graph {
        let g = GraphBuilder(name: name)
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        g.sequential("features") {
            g.sequential { // Conv2dNormActivation(3, C, 4, stride 4, padding 0, LayerNorm2d, no activation, bias)
                x = g.conv2d(x, out: stages[0].channels, kernel: 4, stride: 4, bias: true)
                x = g.layerNorm2d(x, eps: eps)
            }
            for stage in stages {
                g.sequential {
                    for _ in 0..<stage.blocks { x = block(g, x) }
                }
                if let next = stage.next {
                    g.sequential { // LayerNorm2d, Conv2d(C, next, 2, stride 2)
                        x = g.layerNorm2d(x, eps: eps)
                        x = g.conv2d(x, out: next, kernel: 2, stride: 2, bias: true)
                    }
                }
            }
        }
        x = g.adaptiveAvgPool2d(x, torch: "avgpool", height: 1, width: 1)
        g.sequential("classifier") { // LayerNorm2d, Flatten, Linear
            x = g.layerNorm2d(x, eps: eps)
            x = g.flatten(x)
            x = g.classifierHead(x, head, keras: "predictions", classes: classes)
        }
        return try g.build(outputs: [x])
    }

    /// `CNBlock(dim)`: x + layer_scale · block(x).
    static func block(_ g: GraphBuilder, _ input: Value) -> Value {
        g.item {
            let channels = g.shape(input)[0]
            var y = input
            g.sequential("block") { // Conv2d dw 7×7, Permute, LayerNorm, Linear, GELU, Linear, Permute
                y = g.conv2d(y, out: channels, kernel: 7, padding: 3, groups: channels, bias: true)
                y = g.permuteToChannelsLast(y)
                y = g.layerNorm(y, eps: eps)
                y = g.linear(y, out: 4 * channels, activation: .gelu)
                y = g.linear(y, out: channels)
                y = g.permuteToChannelsFirst(y)
            }
            y = g.layerScale(y, parameter: "layer_scale")
            return g.add(y, input) // stochastic_depth: the identity at inference
        }
    }
}
