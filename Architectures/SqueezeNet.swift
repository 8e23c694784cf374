// SqueezeNet 1.0 and 1.1 as torchvision builds them (torchvision/models/squeezenet.py): a
// biased stem conv with ReLU, Fire modules (squeeze 1×1 + ReLU, then expand 1×1 + ReLU and
// expand 3×3 padding 1 + ReLU, concatenated along channels) between 3×3 stride-2 max pools with
// `ceil_mode=True`, and a classifier of Dropout, 1×1 conv to the classes, ReLU, adaptive
// average pool to 1×1 and flatten. 1.1 has a 3×3 stem of 64 filters and pools earlier.
// keras.applications has no SqueezeNet. In Keras, ceil_mode's last partial window is a
// ZeroPadding2D at the bottom and right before a `valid` MaxPooling2D: exact, because every
// pool follows a ReLU (PyTorch's window simply ends at the border; a zero cannot win a max over
// values ≥ 0).
import ZooGraph

enum SqueezeNet {
    enum Version { case v1_0, v1_1 }

    /// An entry of `features`: a ceil-mode max pool or `Fire(squeeze, expand1x1, expand3x3)`.
    enum Feature { case pool, fire(Int, Int, Int) }

    static func features(_ version: Version) -> (stem: (filters: Int, kernel: Int), items: [Feature]) {
        switch version {
        case .v1_0:
            return ((96, 7), [.pool, .fire(16, 64, 64), .fire(16, 64, 64), .fire(32, 128, 128), .pool, .fire(32, 128, 128),
                              .fire(48, 192, 192), .fire(48, 192, 192), .fire(64, 256, 256), .pool, .fire(64, 256, 256)])
        case .v1_1:
            return ((64, 3), [.pool, .fire(16, 64, 64), .fire(16, 64, 64), .pool, .fire(32, 128, 128), .fire(32, 128, 128), .pool,
                              .fire(48, 192, 192), .fire(48, 192, 192), .fire(64, 256, 256), .fire(64, 256, 256)])
        }
    }

    static func architecture(_ name: String, _ version: Version, summary: String) -> Architecture {
        Architecture(
            name: name, family: "squeezenet", summary: summary,
            defaults: ArchitectureOptions(classes: 1000, imageSize: 224),
            make: { options in try build(name, version, classes: options.classes!, image: options.image!) },
            infer: { shapes in ArchitectureOptions(classes: shapes["classifier.1.weight"]?.first) },
            // any size the model accepts is exact (21 and up for 1.0, 17 for 1.1); at 64 the
            // last pool of 1.0 has a partial ceil_mode window
            smallOptions: ArchitectureOptions(classes: 10, imageSize: 64)
        )
    }

    static func build(_ name: String, _ version: Version, classes: Int, image: ImageSize) throws -> Graph {
        let g = GraphBuilder(name: name)
        let (stem, items) = features(version)
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        g.sequential("features") {
            x = g.conv2d(x, out: stem.filters, kernel: stem.kernel, stride: 2, bias: true, activation: .relu)
            for item in items {
                switch item {
                case .pool: x = g.maxPool2d(x, kernel: 3, stride: 2, ceilMode: true)
                case .fire(let squeeze, let e1, let e3): x = fire(g, x, squeeze: squeeze, expand1x1: e1, expand3x3: e3)
                }
            }
        }
        g.sequential("classifier") { // Dropout, Conv2d 1×1, ReLU, AdaptiveAvgPool2d((1, 1))
            g.skip()
            x = g.conv2d(x, out: classes, kernel: 1, bias: true, activation: .relu)
            x = g.adaptiveAvgPool2d(x, keras: "avg_pool", height: 1, width: 1)
        }
        x = g.flatten(x, keras: "flatten")
        return try g.build(outputs: [x])
    }

    /// `Fire(inplanes, squeeze, expand1x1, expand3x3)`.
    static func fire(_ g: GraphBuilder, _ x: Value, squeeze: Int, expand1x1: Int, expand3x3: Int) -> Value {
        g.item {
            let s = g.conv2d(x, torch: "squeeze", out: squeeze, kernel: 1, bias: true, activation: .relu)
            let a = g.conv2d(s, torch: "expand1x1", out: expand1x1, kernel: 1, bias: true, activation: .relu)
            let b = g.conv2d(s, torch: "expand3x3", out: expand3x3, kernel: 3, padding: 1, bias: true, activation: .relu)
            return g.concat([a, b])
        }
    }
}
