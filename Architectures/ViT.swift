// Vision Transformers as torchvision builds them (torchvision/models/vision_transformer.py):
// a patch-sized stride-patch conv (`conv_proj`) read as tokens, the class token put first, the
// position table added (`encoder.pos_embedding`, which fixes the image size: (size/patch)² + 1
// rows), N pre-LayerNorm blocks (`ln_1` → nn.MultiheadAttention with one packed in_proj →
// residual; `ln_2` → MLP Linear, GELU, Linear → residual), a final LayerNorm (`encoder.ln`), and
// the class token's state through `heads.head`. Every LayerNorm eps 1e-6.
//
// Keras: Conv2D, Reshape, the class token and the table as EinsumDense layers over fixed
// kernels (Ops/Tokens.swift), MultiHeadAttention with the packed projection split three ways.
import ZooCore
import ZooGraph

enum ViT {
    struct Design {
        var patch: Int
        var layers: Int
        var heads: Int
        var hidden: Int
        var mlp: Int
    }

    static func architecture(_ name: String, _ d: Design, summary: String) -> Architecture {
        Architecture(
            name: name, family: "vit",
            summary: summary,
            defaults: ArchitectureOptions(classes: 1000, imageSize: 224),
            make: { options in try build(name, d, classes: options.classes!, image: options.image!, head: options.head) },
            infer: { infer($0, d) },
            // two patches a side: four patch tokens and the class token, every layer at full width
            smallOptions: ArchitectureOptions(classes: 10, imageSize: 2 * d.patch),
            headSlot: "heads.head",
            imageSizeFromWeights: true
        )
    }

    /// The image size the position table was trained for ((size/patch)² + 1 rows).
    static func infer(_ shapes: TensorShapes, _ d: Design) -> ArchitectureOptions {
        var options = ArchitectureOptions()
        if let table = shapes["encoder.pos_embedding"], table.count == 3, table[1] > 1 {
            let side = Int(Double(table[1] - 1).squareRoot().rounded())
            if side * side == table[1] - 1 { options.imageSize = side * d.patch }
        }
        return options
    }

    static func build(_ name: String, _ d: Design, classes: Int, image: ImageSize, head: ClassifierHead?) throws -> Graph {
        guard image.isSquare, image.height % d.patch == 0, image.height >= d.patch else {
            throw ZooError(.usage, "\(name): expected a square image whose size is a multiple of the patch size \(d.patch) (the position table has a row per patch), found \(image)")
        }
        let g = GraphBuilder(name: name)
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        x = g.conv2d(x, torch: "conv_proj", keras: "conv_proj", out: d.hidden, kernel: d.patch, stride: d.patch, bias: true)
        x = g.patchTokens(x, keras: "patch_tokens")
        x = g.classToken(x, parameter: "class_token", keras: "class_token")
        x = g.positionTable(x, parameter: "encoder.pos_embedding", keras: "pos_embedding")
        let tokens = g.shape(x)[0]
        for i in 0..<d.layers {
            let torch = "encoder.layers.encoder_layer_\(i)"
            let keras = "encoder_layer_\(i)"
            var y = g.layerNorm(x, torch: "\(torch).ln_1", keras: "\(keras)_ln_1", eps: 1e-6)
            y = g.attention(y, mask: nil, torch: "\(torch).self_attention", keras: "\(keras)_self_attention", heads: d.heads, projections: nil)
            x = g.add(y, x, keras: "\(keras)_attention_add")
            // MLPBlock: Linear, GELU, Dropout, Linear, Dropout
            var z = g.layerNorm(x, torch: "\(torch).ln_2", keras: "\(keras)_ln_2", eps: 1e-6)
            z = g.linear(z, torch: "\(torch).mlp.0", keras: "\(keras)_mlp_0", out: d.mlp, activation: .gelu)
            z = g.linear(z, torch: "\(torch).mlp.3", keras: "\(keras)_mlp_3", out: d.hidden)
            x = g.add(x, z, keras: "\(keras)_mlp_add")
        }
        x = g.layerNorm(x, torch: "encoder.ln", keras: "encoder_ln", eps: 1e-6)
        x = g.firstToken(x, keras: "class_token_state", maxLength: tokens)
        x = g.classifierHead(x, head, torch: "heads.head", keras: "head", classes: classes)
        return try g.build(outputs: [x])
    }

    static let architectures: [Architecture] = [
        architecture("vit_b_16", Design(patch: 16, layers: 12, heads: 12, hidden: 768, mlp: 3072), summary: "ViT-B/16 (torchvision): 16×16 patches, 12 layers, width 768"),
        architecture("vit_b_32", Design(patch: 32, layers: 12, heads: 12, hidden: 768, mlp: 3072), summary: "ViT-B/32 (torchvision): 32×32 patches, 12 layers, width 768"),
        architecture("vit_l_16", Design(patch: 16, layers: 24, heads: 16, hidden: 1024, mlp: 4096), summary: "ViT-L/16 (torchvision): 16×16 patches, 24 layers, width 1024"),
        architecture("vit_l_32", Design(patch: 32, layers: 24, heads: 16, hidden: 1024, mlp: 4096), summary: "ViT-L/32 (torchvision): 32×32 patches, 24 layers, width 1024"),
        architecture("vit_h_14", Design(patch: 14, layers: 32, heads: 16, hidden: 1280, mlp: 5120), summary: "ViT-H/14 (torchvision): 14×14 patches, 32 layers, width 1280"),
    ]
}
