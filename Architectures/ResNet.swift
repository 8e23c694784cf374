// ResNet as torchvision builds it (torchvision/models/resnet.py): "v1.5" bottlenecks with the
// stride on the 3×3 conv, convs without bias, BatchNorm eps 1e-5, symmetric padding.
// keras.applications.ResNet50 is v1 (stride on the first 1×1, biased convs, eps 1.001e-5): a
// different function, so zoo builds torchvision's structure and only borrows the Keras names
// (`conv1_conv`, `conv2_block1_1_conv`, `conv2_block1_0_conv` for the shortcut, `predictions`).
import ZooGraph

enum ResNet {
    enum Block { case basic, bottleneck }

    static func architecture(_ name: String, _ block: Block, _ stages: [Int], groups: Int = 1, widthPerGroup: Int = 64,
                             summary: String) -> Architecture {
        Architecture(
            name: name, family: "resnet", summary: summary,
            defaults: ArchitectureOptions(classes: 1000, imageSize: 224),
            make: { options in
                try build(name, block, stages, groups: groups, widthPerGroup: widthPerGroup,
                          classes: options.classes!, image: options.image!, head: options.head)
            },
            smallOptions: ArchitectureOptions(classes: 10, imageSize: 64),
            headSlot: "fc"
        )
    }

    static func build(_ name: String, _ block: Block, _ stages: [Int], groups: Int, widthPerGroup: Int,
                      classes: Int, image: ImageSize, head: ClassifierHead? = nil) throws -> Graph {
        let g = GraphBuilder(name: name)
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        x = g.conv2d(x, torch: "conv1", keras: "conv1_conv", out: 64, kernel: 7, stride: 2, padding: 3, bias: false)
        x = g.batchNorm(x, torch: "bn1", keras: "conv1_bn")
        x = g.activation(x, .relu, torch: "relu", keras: "conv1_relu")
        x = g.maxPool2d(x, keras: "pool1_pool", kernel: 3, stride: 2, padding: 1)
        let expansion = block == .basic ? 1 : 4
        for (stage, count) in stages.enumerated() {
            let planes = 64 << stage
            g.sequential("layer\(stage + 1)") {
                for index in 0..<count {
                    let stride = stage > 0 && index == 0 ? 2 : 1
                    let keras = "conv\(stage + 2)_block\(index + 1)"
                    let input = x
                    var y = input
                    g.item { // BasicBlock / Bottleneck: conv1, bn1, conv2, bn2 (, conv3, bn3), downsample
                        switch block {
                        case .basic:
                            y = g.conv2d(y, torch: "conv1", keras: "\(keras)_1_conv", out: planes, kernel: 3, stride: stride, padding: 1, bias: false)
                            y = g.batchNorm(y, torch: "bn1", keras: "\(keras)_1_bn")
                            y = g.activation(y, .relu, torch: "relu", keras: "\(keras)_1_relu")
                            y = g.conv2d(y, torch: "conv2", keras: "\(keras)_2_conv", out: planes, kernel: 3, padding: 1, bias: false)
                            y = g.batchNorm(y, torch: "bn2", keras: "\(keras)_2_bn")
                        case .bottleneck:
                            let width = planes * widthPerGroup / 64 * groups
                            y = g.conv2d(y, torch: "conv1", keras: "\(keras)_1_conv", out: width, kernel: 1, bias: false)
                            y = g.batchNorm(y, torch: "bn1", keras: "\(keras)_1_bn")
                            y = g.activation(y, .relu, torch: "relu", keras: "\(keras)_1_relu")
                            y = g.conv2d(y, torch: "conv2", keras: "\(keras)_2_conv", out: width, kernel: 3, stride: stride,
                                         padding: 1, groups: groups, bias: false)
                            y = g.batchNorm(y, torch: "bn2", keras: "\(keras)_2_bn")
                            y = g.activation(y, .relu, torch: "relu", keras: "\(keras)_2_relu")
                            y = g.conv2d(y, torch: "conv3", keras: "\(keras)_3_conv", out: planes * expansion, kernel: 1, bias: false)
                            y = g.batchNorm(y, torch: "bn3", keras: "\(keras)_3_bn")
                        }
                        var shortcut = input
                        if stride != 1 || g.shape(input)[0] != planes * expansion {
                            g.sequential("downsample") {
                                shortcut = g.conv2d(input, keras: "\(keras)_0_conv", out: planes * expansion, kernel: 1, stride: stride, bias: false)
                                shortcut = g.batchNorm(shortcut, keras: "\(keras)_0_bn")
                            }
                        }
                        x = g.add(y, shortcut, keras: "\(keras)_add")
                        x = g.activation(x, .relu, torch: "relu", keras: "\(keras)_out")
                    }
                }
            }
        }
        x = g.globalAvgPool(x, keras: "avg_pool")
        x = g.classifierHead(x, head, torch: "fc", keras: "predictions", classes: classes)
        return try g.build(outputs: [x])
    }
}
