// Swin Transformers (v1) as torchvision builds them (torchvision/models/swin_transformer.py):
// `features.0` is a 4×4 stride-4 patch conv, a Permute to channels last and a LayerNorm; then
// stages of `SwinTransformerBlock`s (x + attn(norm1(x)), x + mlp(norm2(x)); the attention is
// windowed, every second block shifted by half a window; stochastic depth is the identity at
// inference), each stage but the last followed by `PatchMerging` (four-phase gather, LayerNorm
// 4C, Linear 4C → 2C without bias). The map stays channels last until `norm`, a permute back,
// average pool, flatten and `head`. Every LayerNorm eps 1e-5. The relative position bias does
// not fix the image size: any size from the window's up converts (torchvision pads each stage to
// whole windows; note that its module turns a shift off for good once a map is no larger than
// the window, so a PyTorch model run at two sizes may compute otherwise at the second).
//
// Keras: Conv2D, LayerNormalization, Dense, and the window attention and gather of
// Ops/Windows.swift — core layers only.
import ZooCore
import ZooGraph

enum Swin {
    struct Design {
        var embed: Int
        var depths: [Int]
        var heads: [Int]
        var window: Int
    }

    static let eps = 1e-5

    static func architecture(_ name: String, _ d: Design, summary: String) -> Architecture {
        Architecture(
            name: name, family: "swin", summary: summary,
            defaults: ArchitectureOptions(classes: 1000, imageSize: 224),
            make: { options in try build(name, d, classes: options.classes!, image: options.image!, head: options.head) },
            // 64: stage maps 16, 8, 4, 2 — the first two padded to whole windows and shifted
            // (the mask over padding), the last two smaller than one window
            smallOptions: ArchitectureOptions(classes: 10, imageSize: 64),
            headSlot: "head"
        )
    }

    static func build(_ name: String, _ d: Design, classes: Int, image: ImageSize, head: ClassifierHead?) throws -> Graph {
        guard min(image.height, image.width) >= 4 else { throw ZooError(.usage, "\(name): expected an image size of at least 4 (one 4×4 patch), found \(image)") }
        let g = GraphBuilder(name: name)
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        g.sequential("features") {
            g.sequential { // Conv2d(3, C, 4, stride 4), Permute([0, 2, 3, 1]), LayerNorm(C)
                x = g.conv2d(x, out: d.embed, kernel: 4, stride: 4, bias: true)
                x = g.permuteToChannelsLast(x)
                x = g.layerNorm(x, eps: eps)
            }
            for (stage, depth) in d.depths.enumerated() {
                let dim = d.embed << stage
                g.sequential {
                    for i in 0..<depth { x = block(g, x, dim: dim, heads: d.heads[stage], window: d.window, shift: i % 2 == 0 ? 0 : d.window / 2) }
                }
                if stage < d.depths.count - 1 {
                    g.item { // PatchMerging(dim): reduction is declared before norm, used after it
                        g.declareModules([g.moduleName("reduction"), g.moduleName("norm")])
                        x = g.patchGather(x)
                        x = g.layerNorm(x, torch: "norm", eps: eps)
                        x = g.linear(x, torch: "reduction", out: 2 * dim, bias: false)
                    }
                }
            }
        }
        x = g.layerNorm(x, torch: "norm", keras: "norm", eps: eps)
        x = g.permuteToChannelsFirst(x)
        x = g.adaptiveAvgPool2d(x, torch: "avgpool", height: 1, width: 1)
        x = g.flatten(x)
        x = g.classifierHead(x, head, torch: "head", keras: "head", classes: classes)
        return try g.build(outputs: [x])
    }

    /// `SwinTransformerBlock(dim, heads, window, shift)`.
    static func block(_ g: GraphBuilder, _ input: Value, dim: Int, heads: Int, window: Int, shift: Int) -> Value {
        g.item {
            var y = g.layerNorm(input, torch: "norm1", eps: eps)
            y = g.windowAttention(y, torch: "attn", heads: heads, window: window, shift: shift)
            let x = g.add(input, y)
            var z = g.layerNorm(x, torch: "norm2", eps: eps)
            g.sequential("mlp") { // Linear, GELU, Dropout, Linear, Dropout
                z = g.linear(z, out: 4 * dim, activation: .gelu)
                g.skip()
                z = g.linear(z, out: dim)
            }
            return g.add(x, z)
        }
    }

    static let architectures: [Architecture] = [
        architecture("swin_t", Design(embed: 96, depths: [2, 2, 6, 2], heads: [3, 6, 12, 24], window: 7),
                     summary: "Swin-T (torchvision): shifted-window attention with relative position bias, width 96"),
        architecture("swin_s", Design(embed: 96, depths: [2, 2, 18, 2], heads: [3, 6, 12, 24], window: 7),
                     summary: "Swin-S (torchvision): shifted-window attention, 18 blocks in stage 3"),
        architecture("swin_b", Design(embed: 128, depths: [2, 2, 18, 2], heads: [4, 8, 16, 32], window: 7),
                     summary: "Swin-B (torchvision): shifted-window attention, width 128"),
    ]
}
