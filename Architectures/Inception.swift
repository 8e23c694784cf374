// GoogLeNet (Inception v1) and Inception v3 as torchvision builds them
// (torchvision/models/googlenet.py, inception.py). Both are made of `BasicConv2d` (conv without
// bias, BatchNorm eps 1e-3, functional ReLU) in parallel branches joined by channel
// concatenation, and both share two switches the weights do not fully state:
//
// - `transform_input`: the model first maps each channel x ↦ x·σ/0.5 + (μ − 0.5)/0.5 (ImageNet's
//   μ, σ), so ImageNet-normalised input reaches the convs scaled as the original weights expect.
//   torchvision turns it on when it loads its pretrained weights and leaves it off for a model
//   built without weights; the state dict is the same either way, so it is an option
//   (`--transform-input`, default off as the builders are) and never read off a checkpoint. In
//   Keras it is a Rescaling layer with per-channel scale and offset (exact; GoogLeNet's first
//   conv pads, so folding it into that conv would not be).
// - the auxiliary classifiers (`aux1`, `aux2`; `AuxLogits`), which PyTorch runs only in
//   training. They are present exactly when the checkpoint has them, matched strictly, and not
//   carried into Keras: the Keras model is the eval-mode model, whose one output is the main
//   logits.
//
// keras.applications.InceptionV3 is another function: its BatchNorm has no scale (scale=False)
// and its 3×3 average pools are `same` (padding not counted); the Keras names here are
// torchvision's module paths. GoogLeNet keeps torchvision's known 3×3 (not
// 5×5) conv in each module's third branch (pytorch/vision#906), and ceil-mode max pools (Keras:
// zero padding at the far edge, exact after a ReLU).
// Inception v3 is designed for 299×299 inputs (its pretrained transforms crop 299), which is its
// default input size here, as each family's is the size its weights were trained at; any size
// from 75 converts exactly (--image-size).
import ZooGraph

enum Inception {
    /// `_transform_input`'s per-channel scale and shift, as torchvision computes them in double.
    static let inputScale: [Float] = zip([0.229, 0.224, 0.225] as [Double], [0.5, 0.5, 0.5] as [Double]).map { Float($0 / $1) }
    static let inputShift: [Float] = zip([0.485, 0.456, 0.406] as [Double], [0.5, 0.5, 0.5] as [Double]).map { Float(($0 - 0.5) / $1) }

    /// `BasicConv2d` eps.
    static let norm = BatchNormSettings(eps: 1e-3, momentum: 0.1)

    static func architecture(_ name: String, summary: String, auxiliaryPrefixes: [String], smallSize: Int, imageSize: Int,
                             build: @escaping @Sendable (_ classes: Int, _ image: ImageSize, _ transformInput: Bool, _ auxiliary: Bool) throws -> Graph) -> Architecture {
        Architecture(
            name: name, family: "inception", summary: summary,
            // torchvision's builders without weights: transform_input off, aux_logits on
            defaults: ArchitectureOptions(classes: 1000, imageSize: imageSize, transformInput: false, auxiliaryClassifiers: true),
            make: { o in try build(o.classes!, o.image!, o.transformInput!, o.auxiliaryClassifiers!) },
            infer: { shapes in
                ArchitectureOptions(classes: shapes["fc.weight"]?.first,
                                    auxiliaryClassifiers: shapes.names.contains { key in auxiliaryPrefixes.contains { key.hasPrefix($0) } })
            },
            smallOptions: ArchitectureOptions(classes: 10, imageSize: smallSize)
        )
    }

    static let googLeNet = architecture(
        "googlenet", summary: "GoogLeNet / Inception v1 (torchvision): ceil-mode max pools, BatchNorm eps 1e-3; transform_input off unless --transform-input",
        auxiliaryPrefixes: ["aux1.", "aux2."], smallSize: 15, imageSize: 224) { try buildGoogLeNet(classes: $0, image: $1, transformInput: $2, auxiliary: $3) }

    static let v3 = architecture(
        "inception_v3", summary: "Inception v3 (torchvision): 1×7/7×1 convs, BatchNorm eps 1e-3, 299×299 inputs; transform_input off unless --transform-input",
        auxiliaryPrefixes: ["AuxLogits."], smallSize: 75, imageSize: 299) { try buildV3(classes: $0, image: $1, transformInput: $2, auxiliary: $3) }

    // MARK: - GoogLeNet

    static func buildGoogLeNet(classes: Int, image: ImageSize, transformInput: Bool, auxiliary: Bool) throws -> Graph {
        let g = GraphBuilder(name: "googlenet")
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        if transformInput { x = g.channelAffine(x, scale: inputScale, shift: inputShift, keras: "transform_input") }
        x = g.basicConv2d(x, torch: "conv1", out: 64, kernel: 7, stride: 2, padding: 3)
        x = g.maxPool2d(x, torch: "maxpool1", kernel: 3, stride: 2, ceilMode: true)
        x = g.basicConv2d(x, torch: "conv2", out: 64, kernel: 1)
        x = g.basicConv2d(x, torch: "conv3", out: 192, kernel: 3, padding: 1)
        x = g.maxPool2d(x, torch: "maxpool2", kernel: 3, stride: 2, ceilMode: true)
        x = inceptionModule(g, x, "inception3a", 64, 96, 128, 16, 32, 32)
        x = inceptionModule(g, x, "inception3b", 128, 128, 192, 32, 96, 64)
        x = g.maxPool2d(x, torch: "maxpool3", kernel: 3, stride: 2, ceilMode: true)
        x = inceptionModule(g, x, "inception4a", 192, 96, 208, 16, 48, 64)
        let aux1Channels = g.shape(x)[0]
        x = inceptionModule(g, x, "inception4b", 160, 112, 224, 24, 64, 64)
        x = inceptionModule(g, x, "inception4c", 128, 128, 256, 24, 64, 64)
        x = inceptionModule(g, x, "inception4d", 112, 144, 288, 32, 64, 64)
        let aux2Channels = g.shape(x)[0]
        x = inceptionModule(g, x, "inception4e", 256, 160, 320, 32, 128, 128)
        x = g.maxPool2d(x, torch: "maxpool4", kernel: 2, stride: 2, ceilMode: true)
        x = inceptionModule(g, x, "inception5a", 256, 160, 320, 32, 128, 128)
        x = inceptionModule(g, x, "inception5b", 384, 192, 384, 48, 128, 128)
        if auxiliary { // registered after inception5b; run on inception4a's and 4d's 14×14 outputs in training
            g.trainingOnly(torch: "aux1", input: [aux1Channels, 14, 14]) { h, y in googLeNetAux(h, y, classes: classes) }
            g.trainingOnly(torch: "aux2", input: [aux2Channels, 14, 14]) { h, y in googLeNetAux(h, y, classes: classes) }
        }
        x = g.globalPoolAndFlatten(x) // avgpool, flatten, dropout (the identity at inference)
        x = g.linear(x, torch: "fc", keras: "predictions", out: classes)
        return try g.build(outputs: [x])
    }

    /// GoogLeNet's `Inception(in, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)`.
    static func inceptionModule(_ g: GraphBuilder, _ x: Value, _ name: String, _ ch1x1: Int, _ ch3x3red: Int, _ ch3x3: Int,
                                _ ch5x5red: Int, _ ch5x5: Int, _ poolProjection: Int) -> Value {
        g.scope(name) {
            let branch1 = g.basicConv2d(x, torch: "branch1", out: ch1x1, kernel: 1)
            var branch2 = x, branch3 = x, branch4 = x
            g.sequential("branch2") {
                branch2 = g.basicConv2d(branch2, out: ch3x3red, kernel: 1)
                branch2 = g.basicConv2d(branch2, out: ch3x3, kernel: 3, padding: 1)
            }
            g.sequential("branch3") {
                branch3 = g.basicConv2d(branch3, out: ch5x5red, kernel: 1)
                branch3 = g.basicConv2d(branch3, out: ch5x5, kernel: 3, padding: 1) // torchvision's 3×3 where the paper has 5×5
            }
            g.sequential("branch4") {
                branch4 = g.maxPool2d(branch4, kernel: 3, stride: 1, padding: 1, ceilMode: true)
                branch4 = g.basicConv2d(branch4, out: poolProjection, kernel: 1)
            }
            return g.concat([branch1, branch2, branch3, branch4])
        }
    }

    /// GoogLeNet's `InceptionAux`: adaptive 4×4 average pool, conv (128, 1×1), flatten, fc1
    /// (2048 → 1024) + ReLU, dropout, fc2.
    static func googLeNetAux(_ g: GraphBuilder, _ x: Value, classes: Int) -> Value {
        var y = g.adaptiveAvgPool2d(x, height: 4, width: 4)
        y = g.basicConv2d(y, torch: "conv", out: 128, kernel: 1)
        y = g.flatten(y)
        y = g.linear(y, torch: "fc1", out: 1024, activation: .relu)
        return g.linear(y, torch: "fc2", out: classes)
    }

    // MARK: - Inception v3

    static func buildV3(classes: Int, image: ImageSize, transformInput: Bool, auxiliary: Bool) throws -> Graph {
        let g = GraphBuilder(name: "inception_v3")
        var x = g.input("input", kind: .image, shape: [3, image.height, image.width])
        if transformInput { x = g.channelAffine(x, scale: inputScale, shift: inputShift, keras: "transform_input") }
        x = g.basicConv2d(x, torch: "Conv2d_1a_3x3", out: 32, kernel: 3, stride: 2)
        x = g.basicConv2d(x, torch: "Conv2d_2a_3x3", out: 32, kernel: 3)
        x = g.basicConv2d(x, torch: "Conv2d_2b_3x3", out: 64, kernel: 3, padding: 1)
        x = g.maxPool2d(x, torch: "maxpool1", kernel: 3, stride: 2)
        x = g.basicConv2d(x, torch: "Conv2d_3b_1x1", out: 80, kernel: 1)
        x = g.basicConv2d(x, torch: "Conv2d_4a_3x3", out: 192, kernel: 3)
        x = g.maxPool2d(x, torch: "maxpool2", kernel: 3, stride: 2)
        x = g.scope("Mixed_5b") { inceptionA(g, x, poolFeatures: 32) }
        x = g.scope("Mixed_5c") { inceptionA(g, x, poolFeatures: 64) }
        x = g.scope("Mixed_5d") { inceptionA(g, x, poolFeatures: 64) }
        x = g.scope("Mixed_6a") { inceptionB(g, x) }
        x = g.scope("Mixed_6b") { inceptionC(g, x, channels7x7: 128) }
        x = g.scope("Mixed_6c") { inceptionC(g, x, channels7x7: 160) }
        x = g.scope("Mixed_6d") { inceptionC(g, x, channels7x7: 160) }
        x = g.scope("Mixed_6e") { inceptionC(g, x, channels7x7: 192) }
        if auxiliary { // registered here; runs on Mixed_6e's output (17×17 at 299) in training
            g.trainingOnly(torch: "AuxLogits", input: [g.shape(x)[0], 17, 17]) { h, y in inceptionAux(h, y, classes: classes) }
        }
        x = g.scope("Mixed_7a") { inceptionD(g, x) }
        x = g.scope("Mixed_7b") { inceptionE(g, x) }
        x = g.scope("Mixed_7c") { inceptionE(g, x) }
        x = g.globalPoolAndFlatten(x) // avgpool, dropout (the identity at inference), flatten
        x = g.linear(x, torch: "fc", keras: "predictions", out: classes)
        return try g.build(outputs: [x])
    }

    /// `F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)`, padding counted (Keras: ZeroPadding2D + valid).
    static func branchPool(_ g: GraphBuilder, _ x: Value) -> Value { g.avgPool2d(x, kernel: 3, stride: 1, padding: 1) }

    static func inceptionA(_ g: GraphBuilder, _ x: Value, poolFeatures: Int) -> Value {
        let branch1x1 = g.basicConv2d(x, torch: "branch1x1", out: 64, kernel: 1)
        var branch5x5 = g.basicConv2d(x, torch: "branch5x5_1", out: 48, kernel: 1)
        branch5x5 = g.basicConv2d(branch5x5, torch: "branch5x5_2", out: 64, kernel: 5, padding: 2)
        var branch3x3dbl = g.basicConv2d(x, torch: "branch3x3dbl_1", out: 64, kernel: 1)
        branch3x3dbl = g.basicConv2d(branch3x3dbl, torch: "branch3x3dbl_2", out: 96, kernel: 3, padding: 1)
        branch3x3dbl = g.basicConv2d(branch3x3dbl, torch: "branch3x3dbl_3", out: 96, kernel: 3, padding: 1)
        let pool = g.basicConv2d(branchPool(g, x), torch: "branch_pool", out: poolFeatures, kernel: 1)
        return g.concat([branch1x1, branch5x5, branch3x3dbl, pool])
    }

    static func inceptionB(_ g: GraphBuilder, _ x: Value) -> Value {
        let branch3x3 = g.basicConv2d(x, torch: "branch3x3", out: 384, kernel: 3, stride: 2)
        var branch3x3dbl = g.basicConv2d(x, torch: "branch3x3dbl_1", out: 64, kernel: 1)
        branch3x3dbl = g.basicConv2d(branch3x3dbl, torch: "branch3x3dbl_2", out: 96, kernel: 3, padding: 1)
        branch3x3dbl = g.basicConv2d(branch3x3dbl, torch: "branch3x3dbl_3", out: 96, kernel: 3, stride: 2)
        let pool = g.maxPool2d(x, kernel: 3, stride: 2)
        return g.concat([branch3x3, branch3x3dbl, pool])
    }

    static func inceptionC(_ g: GraphBuilder, _ x: Value, channels7x7 c7: Int) -> Value {
        let branch1x1 = g.basicConv2d(x, torch: "branch1x1", out: 192, kernel: 1)
        var branch7x7 = g.basicConv2d(x, torch: "branch7x7_1", out: c7, kernel: 1)
        branch7x7 = g.basicConv2d(branch7x7, torch: "branch7x7_2", out: c7, kernel: (1, 7), padding: (0, 3))
        branch7x7 = g.basicConv2d(branch7x7, torch: "branch7x7_3", out: 192, kernel: (7, 1), padding: (3, 0))
        var branch7x7dbl = g.basicConv2d(x, torch: "branch7x7dbl_1", out: c7, kernel: 1)
        branch7x7dbl = g.basicConv2d(branch7x7dbl, torch: "branch7x7dbl_2", out: c7, kernel: (7, 1), padding: (3, 0))
        branch7x7dbl = g.basicConv2d(branch7x7dbl, torch: "branch7x7dbl_3", out: c7, kernel: (1, 7), padding: (0, 3))
        branch7x7dbl = g.basicConv2d(branch7x7dbl, torch: "branch7x7dbl_4", out: c7, kernel: (7, 1), padding: (3, 0))
        branch7x7dbl = g.basicConv2d(branch7x7dbl, torch: "branch7x7dbl_5", out: 192, kernel: (1, 7), padding: (0, 3))
        let pool = g.basicConv2d(branchPool(g, x), torch: "branch_pool", out: 192, kernel: 1)
        return g.concat([branch1x1, branch7x7, branch7x7dbl, pool])
    }

    static func inceptionD(_ g: GraphBuilder, _ x: Value) -> Value {
        var branch3x3 = g.basicConv2d(x, torch: "branch3x3_1", out: 192, kernel: 1)
        branch3x3 = g.basicConv2d(branch3x3, torch: "branch3x3_2", out: 320, kernel: 3, stride: 2)
        var branch7x7x3 = g.basicConv2d(x, torch: "branch7x7x3_1", out: 192, kernel: 1)
        branch7x7x3 = g.basicConv2d(branch7x7x3, torch: "branch7x7x3_2", out: 192, kernel: (1, 7), padding: (0, 3))
        branch7x7x3 = g.basicConv2d(branch7x7x3, torch: "branch7x7x3_3", out: 192, kernel: (7, 1), padding: (3, 0))
        branch7x7x3 = g.basicConv2d(branch7x7x3, torch: "branch7x7x3_4", out: 192, kernel: 3, stride: 2)
        let pool = g.maxPool2d(x, kernel: 3, stride: 2)
        return g.concat([branch3x3, branch7x7x3, pool])
    }

    static func inceptionE(_ g: GraphBuilder, _ x: Value) -> Value {
        let branch1x1 = g.basicConv2d(x, torch: "branch1x1", out: 320, kernel: 1)
        let branch3x3In = g.basicConv2d(x, torch: "branch3x3_1", out: 384, kernel: 1)
        let branch3x3 = g.concat([g.basicConv2d(branch3x3In, torch: "branch3x3_2a", out: 384, kernel: (1, 3), padding: (0, 1)),
                                  g.basicConv2d(branch3x3In, torch: "branch3x3_2b", out: 384, kernel: (3, 1), padding: (1, 0))])
        var branch3x3dblIn = g.basicConv2d(x, torch: "branch3x3dbl_1", out: 448, kernel: 1)
        branch3x3dblIn = g.basicConv2d(branch3x3dblIn, torch: "branch3x3dbl_2", out: 384, kernel: 3, padding: 1)
        let branch3x3dbl = g.concat([g.basicConv2d(branch3x3dblIn, torch: "branch3x3dbl_3a", out: 384, kernel: (1, 3), padding: (0, 1)),
                                     g.basicConv2d(branch3x3dblIn, torch: "branch3x3dbl_3b", out: 384, kernel: (3, 1), padding: (1, 0))])
        let pool = g.basicConv2d(branchPool(g, x), torch: "branch_pool", out: 192, kernel: 1)
        return g.concat([branch1x1, branch3x3, branch3x3dbl, pool])
    }

    /// Inception v3's `InceptionAux`: 5×5 stride-3 average pool, conv0 (128, 1×1), conv1 (768,
    /// 5×5), adaptive 1×1 average pool, flatten, fc.
    static func inceptionAux(_ g: GraphBuilder, _ x: Value, classes: Int) -> Value {
        var y = g.avgPool2d(x, kernel: 5, stride: 3)
        y = g.basicConv2d(y, torch: "conv0", out: 128, kernel: 1)
        y = g.basicConv2d(y, torch: "conv1", out: 768, kernel: 5)
        y = g.globalAvgPool(y)
        return g.linear(y, torch: "fc", out: classes)
    }
}

extension GraphBuilder {
    /// `BasicConv2d(in, out, kernel, stride, padding)` of googlenet.py and inception.py: conv
    /// without bias, BatchNorm eps 1e-3, functional ReLU. A module named `torch`, or the next
    /// item of the enclosing Sequential.
    func basicConv2d(_ x: Value, torch: String? = nil, out: Int, kernel: (Int, Int), stride: Int = 1, padding: (Int, Int) = (0, 0)) -> Value {
        let body = {
            var y = self.conv2d(x, torch: "conv", out: out, kernel: kernel, stride: (stride, stride), padding: padding, bias: false)
            y = self.batchNorm(y, torch: "bn", eps: Inception.norm.eps, momentum: Inception.norm.momentum)
            return self.activation(y, .relu)
        }
        if let torch { return scope(torch, body) }
        return item(body)
    }

    func basicConv2d(_ x: Value, torch: String? = nil, out: Int, kernel: Int, stride: Int = 1, padding: Int = 0) -> Value {
        basicConv2d(x, torch: torch, out: out, kernel: (kernel, kernel), stride: stride, padding: (padding, padding))
    }
}
