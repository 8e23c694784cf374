// VGG as torchvision builds it (torchvision/models/vgg.py, configurations A, B, D, E, with and
// without BatchNorm). keras.applications VGG16/VGG19 compute the same function, so the Keras names
// are exactly theirs (`block1_conv1` … `block5_pool`, `flatten`, `fc1`, `fc2`, `predictions`) and a
// converted legacy .h5 loads straight into them. The first Dense follows a Flatten of a 512×7×7
// map: its kernel rows are permuted from C,H,W to H,W,C order (the mapping does this).
import ZooGraph

enum VGG {
    /// Convolution widths per block; each block ends with a 2×2 max pool.
    static let configurations: [String: [[Int]]] = [
        "A": [[64], [128], [256, 256], [512, 512], [512, 512]],
        "B": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
        "D": [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
        "E": [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
    ]

    static func architecture(_ name: String, _ configuration: String, batchNorm: Bool, summary: String) -> Architecture {
        Architecture(
            name: name, family: "vgg", summary: summary,
            defaults: ArchitectureOptions(classes: 1000, imageSize: 224),
            make: { options in
                try build(name, configurations[configuration]!, batchNorm: batchNorm, classes: options.classes!, image: options.image!, head: options.head)
            },
            smallOptions: ArchitectureOptions(classes: 10, imageSize: 128), // the 4×4 map is pooled up to 7×7
            headSlot: "classifier.6"
        )
    }

    static func build(_ name: String, _ blocks: [[Int]], batchNorm: Bool, classes: Int, image: ImageSize, head: ClassifierHead? = nil) throws -> Graph {
        let g = GraphBuilder(name: name)
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        g.sequential("features") {
            for (b, widths) in blocks.enumerated() {
                for (c, width) in widths.enumerated() {
                    let keras = "block\(b + 1)_conv\(c + 1)"
                    if batchNorm { // Conv2d, BatchNorm2d, ReLU
                        x = g.conv2d(x, keras: keras, out: width, kernel: 3, padding: 1, bias: true)
                        x = g.batchNorm(x, keras: "\(keras)_bn")
                        x = g.activation(x, .relu, keras: "\(keras)_relu")
                    } else { // Conv2d, ReLU (fused)
                        x = g.conv2d(x, keras: keras, out: width, kernel: 3, padding: 1, bias: true, activation: .relu)
                    }
                }
                x = g.maxPool2d(x, keras: "block\(b + 1)_pool", kernel: 2, stride: 2)
            }
        }
        x = g.adaptiveAvgPool2d(x, keras: "avg_pool", height: 7, width: 7)
        x = g.flatten(x, keras: "flatten")
        g.sequential("classifier") { // Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear
            x = g.linear(x, keras: "fc1", out: 4096, activation: .relu)
            g.skip() // Dropout: the identity at inference
            x = g.linear(x, keras: "fc2", out: 4096, activation: .relu)
            g.skip()
            x = g.classifierHead(x, head, keras: "predictions", classes: classes)
        }
        return try g.build(outputs: [x])
    }
}
