// AlexNet as torchvision builds it (torchvision/models/alexnet.py, the "one weird trick" variant:
// 64-192-384-256-256 filters, adaptive 6×6 pooling, dropout before each hidden Linear).
// Written as the worked example of docs/adding-an-architecture.md.
import ZooGraph

enum AlexNet {
    static let architecture = Architecture(
        name: "alexnet", family: "alexnet",
        summary: "AlexNet (torchvision)",
        defaults: ArchitectureOptions(classes: 1000, imageSize: 224),
        make: { options in try build(classes: options.classes!, image: options.image!, head: options.head) },
        smallOptions: ArchitectureOptions(classes: 10, imageSize: 128), // the 3×3 map is pooled up to 6×6
        headSlot: "classifier.6"
    )

    static func build(classes: Int, image: ImageSize, head: ClassifierHead? = nil) throws -> Graph {
        let g = GraphBuilder(name: "alexnet")
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        g.sequential("features") { // Conv, ReLU, MaxPool, Conv, ReLU, MaxPool, (Conv, ReLU) ×3, MaxPool
            x = g.conv2d(x, keras: "conv1", out: 64, kernel: 11, stride: 4, padding: 2, bias: true, activation: .relu)
            x = g.maxPool2d(x, keras: "pool1", kernel: 3, stride: 2)
            x = g.conv2d(x, keras: "conv2", out: 192, kernel: 5, padding: 2, bias: true, activation: .relu)
            x = g.maxPool2d(x, keras: "pool2", kernel: 3, stride: 2)
            x = g.conv2d(x, keras: "conv3", out: 384, kernel: 3, padding: 1, bias: true, activation: .relu)
            x = g.conv2d(x, keras: "conv4", out: 256, kernel: 3, padding: 1, bias: true, activation: .relu)
            x = g.conv2d(x, keras: "conv5", out: 256, kernel: 3, padding: 1, bias: true, activation: .relu)
            x = g.maxPool2d(x, keras: "pool5", kernel: 3, stride: 2)
        }
        x = g.adaptiveAvgPool2d(x, keras: "avg_pool", height: 6, width: 6)
        x = g.flatten(x, keras: "flatten")
        g.sequential("classifier") { // Dropout, Linear, ReLU, Dropout, Linear, ReLU, Linear
            g.skip() // Dropout: the identity at inference
            x = g.linear(x, keras: "fc6", out: 4096, activation: .relu)
            g.skip()
            x = g.linear(x, keras: "fc7", out: 4096, activation: .relu)
            x = g.classifierHead(x, head, keras: "predictions", classes: classes)
        }
        return try g.build(outputs: [x])
    }
}
