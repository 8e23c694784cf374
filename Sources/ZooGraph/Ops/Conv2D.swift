// nn.Conv2d: any kernel, stride, symmetric padding, dilation and groups, with or without bias,
// optionally followed by an activation module that Keras fuses into the layer (VGG's ReLU).
// Keras: Conv2D (DepthwiseConv2D when every group is one input channel), `same` where PyTorch's
// symmetric padding equals it (stride 1, odd extent), else an explicit ZeroPadding2D + `valid`.
import ZooCore
import ZooKernels

public struct Conv2DOp: GraphOp, Equatable {
    public var inChannels: Int
    public var outChannels: Int
    public var kernel: (Int, Int)
    public var stride: (Int, Int)
    public var padding: (Int, Int)
    public var dilation: (Int, Int)
    public var groups: Int
    public var bias: Bool
    /// An activation module applied right after, fused into the Keras layer.
    public var fusedActivation: ActivationKind?

    public var opName: String { "conv2d" }

    /// Every group is one input channel (MobileNet's 3×3 convs): Keras's DepthwiseConv2D, with
    /// `outChannels / inChannels` filters per channel.
    public var isDepthwise: Bool { groups > 1 && groups == inChannels && outChannels % inChannels == 0 }

    public static func == (a: Conv2DOp, b: Conv2DOp) -> Bool {
        a.inChannels == b.inChannels && a.outChannels == b.outChannels && a.kernel == b.kernel && a.stride == b.stride
            && a.padding == b.padding && a.dilation == b.dilation && a.groups == b.groups && a.bias == b.bias
            && a.fusedActivation == b.fusedActivation
    }

    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] {
        let shape = [outChannels, inChannels / groups, kernel.0, kernel.1]
        let transform: Transform = isDepthwise ? .depthwiseKernel(multiplier: outChannels / inChannels) : .convKernel
        var out = [node.parameter("weight", shape, keras: isDepthwise ? "depthwise_kernel" : "kernel", transform, role: .weight)]
        if bias { out.append(node.parameter("bias", [outChannels], keras: "bias", .identity, role: .bias)) }
        return out
    }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        let (n, ch, h, wd) = try x.map()
        guard ch == inChannels else { throw ZooError(.mismatch, "expected \(inChannels) input channels, found \(ch)") }
        // a negative span is no window at all (Swift's division would round it up to one)
        let spanH = h + 2 * padding.0 - dilation.0 * (kernel.0 - 1) - 1, spanW = wd + 2 * padding.1 - dilation.1 * (kernel.1 - 1) - 1
        guard spanH >= 0, spanW >= 0 else { throw ZooError(.mismatch, "expected an input large enough for the kernel, found \(h)×\(wd)") }
        let oh = spanH / stride.0 + 1, ow = spanW / stride.1 + 1
        let g = ConvGeometry(batch: n, inChannels: ch, inHeight: h, inWidth: wd, outChannels: outChannels, outHeight: oh, outWidth: ow,
                             kernelHeight: kernel.0, kernelWidth: kernel.1, strideHeight: stride.0, strideWidth: stride.1,
                             dilationHeight: dilation.0, dilationWidth: dilation.1, padTop: padding.0, padLeft: padding.1, groups: groups)
        var y = FloatTensor(uninitialized: [n, outChannels, oh, ow])
        let weight = weights[node.torchPath + ".weight"], b = bias ? weights[node.torchPath + ".bias"] : nil
        x.data.withUnsafeBufferPointer { xb in
            weight.withUnsafeBufferPointer { wb in
                y.data.withUnsafeMutableBufferPointer { yb in
                    if let b {
                        b.withUnsafeBufferPointer { Convolution.nchw(xb.baseAddress!, weight: wb.baseAddress!, bias: $0.baseAddress!, g, out: yb.baseAddress!) }
                    } else {
                        Convolution.nchw(xb.baseAddress!, weight: wb.baseAddress!, bias: nil, g, out: yb.baseAddress!)
                    }
                }
            }
        }
        fusedActivation?.apply(&y.data)
        return y
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        var source = l.input(node)
        var mode = "valid"
        if padding != (0, 0) {
            let sameIsSymmetric = stride == (1, 1) && dilation.0 * (kernel.0 - 1) == 2 * padding.0 && dilation.1 * (kernel.1 - 1) == 2 * padding.1
            if sameIsSymmetric {
                mode = "same"
            } else {
                source = l.zeroPadding(node, (padding.0, padding.0, padding.1, padding.1))
            }
        }
        func pair(_ p: (Int, Int)) -> JSONValue { .array([.int(p.0), .int(p.1)]) }
        let activation = try kerasActivation(fusedActivation, node)
        var layer: KerasLayer
        if isDepthwise {
            layer = l.layer(for: node, className: "DepthwiseConv2D", config: [
                ("kernel_size", pair(kernel)), ("strides", pair(stride)), ("padding", .string(mode)),
                ("data_format", .string("channels_last")), ("dilation_rate", pair(dilation)),
                ("depth_multiplier", .int(outChannels / inChannels)), ("activation", .string(activation)), ("use_bias", .bool(bias)),
            ], weightOrder: ["depthwise_kernel", "bias"])
        } else {
            layer = l.layer(for: node, className: "Conv2D", config: [
                ("filters", .int(outChannels)), ("kernel_size", pair(kernel)), ("strides", pair(stride)), ("padding", .string(mode)),
                ("data_format", .string("channels_last")), ("dilation_rate", pair(dilation)), ("groups", .int(groups)),
                ("activation", .string(activation)), ("use_bias", .bool(bias)),
            ], weightOrder: ["kernel", "bias"])
        }
        layer.inbound = [source]
        l.emit(layer, producing: node)
    }

    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { fusedActivation?.isNonNegative == true }
}

extension ActivationKind {
    /// Whether every output is ≥ 0 (ReLU, ReLU6, the sigmoids).
    public var isNonNegative: Bool { self == .relu || self == .relu6 || self == .sigmoid || self == .hardSigmoid }
}

/// The Keras name of a fused activation ("linear" for none); refused when Keras has no name for it.
func kerasActivation(_ kind: ActivationKind?, _ node: Node) throws -> String {
    guard let kind else { return "linear" }
    guard let name = kind.kerasName else {
        throw ZooError(.mismatch, "\(node.kerasName): \(kind.torchModule) has no Keras core activation name, so it cannot be fused into a layer")
    }
    return name
}

extension GraphBuilder {
    /// `nn.Conv2d(in, out, kernel, stride, padding, dilation, groups, bias)` on a [C, H, W] map;
    /// `activation` is the activation module right after it, fused into the Keras layer (in a
    /// Sequential it takes the next index).
    public func conv2d(_ x: Value, torch: String? = nil, keras: String? = nil, out: Int, kernel: Int, stride: Int = 1,
                       padding: Int = 0, dilation: Int = 1, groups: Int = 1, bias: Bool,
                       activation: ActivationKind? = nil) -> Value {
        conv2d(x, torch: torch, keras: keras, out: out, kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding),
               dilation: (dilation, dilation), groups: groups, bias: bias, activation: activation)
    }

    /// The same with separate heights and widths (Inception's 1×7 and 7×1 kernels).
    public func conv2d(_ x: Value, torch: String? = nil, keras: String? = nil, out: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                       padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool,
                       activation: ActivationKind? = nil) -> Value {
        let s = shape(x)
        guard s.count == 3 else { fail("\(torch ?? "conv2d"): expected a [C, H, W] input, found \(s)"); return x }
        guard groups > 0, s[0] % groups == 0, out % groups == 0 else {
            fail("\(torch ?? "conv2d"): expected channels divisible by groups \(groups), found \(s[0]) → \(out)"); return x
        }
        let spanH = s[1] + 2 * padding.0 - (dilation.0 * (kernel.0 - 1) + 1), spanW = s[2] + 2 * padding.1 - (dilation.1 * (kernel.1 - 1) + 1)
        guard spanH >= 0, spanW >= 0 else {
            fail("\(torch ?? "conv2d"): input \(s[1])×\(s[2]) is too small for a \(kernel.0)×\(kernel.1) kernel; choose a larger input size")
            return x
        }
        let h = spanH / stride.0 + 1, w = spanW / stride.1 + 1
        let op = Conv2DOp(inChannels: s[0], outChannels: out, kernel: kernel, stride: stride, padding: padding, dilation: dilation,
                          groups: groups, bias: bias, fusedActivation: activation)
        let v = add(op, [x], module: true, torch: torch, keras: keras, shape: [out, h, w], layout: .channelsFirst)
        if activation != nil { skip() } // the activation module's index
        return v
    }
}
