// Ops over the channels of a feature map: gating (`x * s`, squeeze-and-excitation's scale),
// concatenation (`torch.cat(…, 1)`: DenseNet, Inception), a channel range (ShuffleNet's
// `chunk`), channel shuffle, a per-channel affine with constants (Inception's transform_input),
// layer scale (ConvNeXt's γ), the channel LayerNorm of ConvNeXt (`LayerNorm2d`) and the
// NCHW ↔ NHWC permutes PyTorch code uses around channels-last work. Every one lowers to core
// Keras layers: Multiply, Concatenate, Cropping2D, Reshape + Permute, Rescaling,
// DepthwiseConv2D 1×1, LayerNormalization — or to nothing, where Keras's layout already is
// what PyTorch permutes to.
import ZooCore
import ZooKernels

/// `x * s` where `s` is `x`'s shape or [C, 1, 1] (broadcast over the map).
public struct MultiplyOp: GraphOp, Equatable {
    public var opName: String { "multiply" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let s = inputs[1]
        var x = inputs.take(0)
        if x.shape == s.shape {
            Elementwise.multiply(&x.data, s.data)
            return x
        }
        let (n, c, h, w) = try x.map()
        guard s.shape == [n, c, 1, 1] else {
            throw ZooError(.mismatch, "expected a gate of shape \(shapeDescription([n, c, 1, 1])) or \(shapeDescription(x.shape)), found \(shapeDescription(s.shape))")
        }
        Elementwise.scalePlanes(&x.data, by: s.data, inner: h * w)
        return x
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "Multiply", config: []), producing: node)
    }
}

/// `torch.cat([a, b, …], dim=1)` of maps with the same height and width.
public struct ConcatOp: GraphOp, Equatable {
    public var opName: String { "concat" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let parts = (0..<inputs.count).map { inputs[$0] }
        let (n, _, h, w) = try parts[0].map()
        var channels = 0
        for p in parts {
            let (pn, pc, ph, pw) = try p.map()
            guard pn == n, ph == h, pw == w else { throw ZooError(.mismatch, "expected maps of one size to concatenate, found \(shapeDescription(parts[0].shape)) and \(shapeDescription(p.shape))") }
            channels += pc
        }
        var y = FloatTensor(uninitialized: [n, channels, h, w])
        let plane = h * w
        y.data.withUnsafeMutableBufferPointer { yb in
            for i in 0..<n {
                var offset = i * channels * plane
                for p in parts {
                    let block = p.shape[1] * plane
                    p.data.withUnsafeBufferPointer { (yb.baseAddress! + offset).update(from: $0.baseAddress! + i * block, count: block) }
                    offset += block
                }
            }
        }
        return y
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "Concatenate", config: [("axis", .int(-1))]), producing: node)
    }

    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { node.inputs.allSatisfy(graph.isNonNegative) }
}

/// Channels `start..<end` of a map (`x.chunk(2, dim=1)[i]`).
public struct ChannelSliceOp: GraphOp, Equatable {
    public var start: Int
    public var end: Int

    public var opName: String { "channels" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        let (n, c, h, w) = try x.map()
        guard 0 <= start, start < end, end <= c else { throw ZooError(.mismatch, "expected channels \(start)..<\(end) of a map, found \(c) channels") }
        let plane = h * w, width = end - start
        var y = FloatTensor(uninitialized: [n, width, h, w])
        x.data.withUnsafeBufferPointer { xb in
            y.data.withUnsafeMutableBufferPointer { yb in
                for i in 0..<n {
                    (yb.baseAddress! + i * width * plane).update(from: xb.baseAddress! + (i * c + start) * plane, count: width * plane)
                }
            }
        }
        return y
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        // Cropping2D in channels_first mode crops the last two axes: on a channels-last
        // [H, W, C] value those are W (kept whole) and C.
        let c = l.inputNode(node).shape[0]
        l.emit(l.layer(for: node, className: "Cropping2D", config: [
            ("cropping", .array([.array([.int(0), .int(0)]), .array([.int(start), .int(c - end)])])),
            ("data_format", .string("channels_first")),
        ]), producing: node)
    }

    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { graph.isNonNegative(node.inputs[0]) }
}

/// ShuffleNet's `channel_shuffle(x, groups)`: view (g, C/g), transpose, flatten.
public struct ChannelShuffleOp: GraphOp, Equatable {
    public var groups: Int

    public var opName: String { "channel_shuffle" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        let (n, c, h, w) = try x.map()
        guard c % groups == 0 else { throw ZooError(.mismatch, "expected channels divisible by \(groups) groups, found \(c)") }
        let per = c / groups, plane = h * w
        var y = FloatTensor(uninitialized: x.shape)
        x.data.withUnsafeBufferPointer { xb in
            y.data.withUnsafeMutableBufferPointer { yb in
                for i in 0..<n {
                    for g in 0..<groups {
                        for j in 0..<per {
                            // channel g·per + j moves to j·groups + g
                            (yb.baseAddress! + (i * c + j * groups + g) * plane).update(from: xb.baseAddress! + (i * c + g * per + j) * plane, count: plane)
                        }
                    }
                }
            }
        }
        return y
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        let s = node.kerasShape // [H, W, C]
        let (h, w, c) = (s[0], s[1], s[2])
        let split = l.uniqueName(node.kerasName + "_split")
        l.emit(KerasLayer(name: split, className: "Reshape", config: [("target_shape", .array([.int(h), .int(w), .int(groups), .int(c / groups)]))],
                          inbound: [l.input(node)], outputShape: [h, w, groups, c / groups]))
        let swap = l.uniqueName(node.kerasName + "_transpose")
        l.emit(KerasLayer(name: swap, className: "Permute", config: [("dims", .array([.int(1), .int(2), .int(4), .int(3)]))],
                          inbound: [split], outputShape: [h, w, c / groups, groups]))
        l.emit(KerasLayer(name: node.kerasName, className: "Reshape", config: [("target_shape", .array([.int(h), .int(w), .int(c)]))],
                          inbound: [swap], outputShape: [h, w, c]), producing: node)
    }

    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { graph.isNonNegative(node.inputs[0]) }
}

/// `x[:, c] * scale[c] + shift[c]` with constants (Inception's transform_input).
public struct ChannelAffineOp: GraphOp, Equatable {
    public var scale: [Float]
    public var shift: [Float]

    public var opName: String { "channel_affine" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        var x = inputs.take(0)
        let (_, c, h, w) = try x.map()
        guard c == scale.count else { throw ZooError(.mismatch, "expected \(scale.count) channels, found \(c)") }
        Elementwise.scaleShift(&x.data, scale: scale, shift: shift, inner: h * w)
        return x
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "Rescaling", config: [
            ("scale", .array(scale.map { .double(Double($0)) })), ("offset", .array(shift.map { .double(Double($0)) })),
        ]), producing: node)
    }
}

/// ConvNeXt's layer scale: a learnt γ of shape [C, 1, 1] times the map. Keras: a 1×1
/// DepthwiseConv2D without bias whose kernel (1, 1, C, 1) is γ — exact, and a core layer.
public struct LayerScaleOp: GraphOp, Equatable {
    public var channels: Int
    /// The parameter's name under the module (`layer_scale`).
    public var parameterName: String

    public var opName: String { "layer_scale" }

    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] {
        [ParameterSpec(torchName: node.torchPath, torchShape: [channels, 1, 1], kerasLayer: node.kerasName, kerasWeight: "depthwise_kernel",
                       kerasShape: [1, 1, channels, 1], transform: .identity, role: .scale, node: node.id)]
    }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        var x = inputs.take(0)
        let (_, c, h, w) = try x.map()
        guard c == channels else { throw ZooError(.mismatch, "expected \(channels) channels, found \(c)") }
        Elementwise.scalePlanes(&x.data, by: weights[node.torchPath], inner: h * w, channels: c)
        return x
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "DepthwiseConv2D", config: [
            ("kernel_size", .array([.int(1), .int(1)])), ("strides", .array([.int(1), .int(1)])), ("padding", .string("valid")),
            ("data_format", .string("channels_last")), ("dilation_rate", .array([.int(1), .int(1)])), ("depth_multiplier", .int(1)),
            ("activation", .string("linear")), ("use_bias", .bool(false)),
        ], weightOrder: ["depthwise_kernel"]), producing: node)
    }
}

/// torchvision's `LayerNorm2d`: LayerNorm over the channels of an NCHW map (permute, normalise,
/// permute back). Keras: LayerNormalization over the last axis of the channels-last map.
public struct ChannelLayerNormOp: GraphOp, Equatable {
    public var channels: Int
    public var eps: Double

    public var opName: String { "layer_norm_2d" }

    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] {
        [node.parameter("weight", [channels], keras: "gamma", .identity, role: .scale),
         node.parameter("bias", [channels], keras: "beta", .identity, role: .shift)]
    }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        let (n, c, h, w) = try x.map()
        guard c == channels else { throw ZooError(.mismatch, "expected \(channels) channels, found \(c)") }
        var nhwc = FloatTensor(shape: [n, h, w, c], data: Layout.nchwToNHWC(x.data, n: n, c: c, h: h, w: w))
        Elementwise.layerNorm(&nhwc.data, width: c, gamma: weights[node.torchPath + ".weight"], beta: weights[node.torchPath + ".bias"], eps: eps)
        return FloatTensor(shape: [n, c, h, w], data: Layout.nhwcToNCHW(nhwc.data, n: n, h: h, w: w, c: c))
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "LayerNormalization", config: [
            ("axis", .int(-1)), ("epsilon", .double(eps)), ("center", .bool(true)), ("scale", .bool(true)),
        ], weightOrder: ["gamma", "beta"]), producing: node)
    }
}

/// `x.permute(0, 2, 3, 1)` (to channels last) or `x.permute(0, 3, 1, 2)` (back). In Keras the
/// map is channels last throughout, so both are the identity there.
public struct PermuteOp: GraphOp, Equatable {
    public var toChannelsLast: Bool

    public var opName: String { "permute" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        guard x.shape.count == 4 else { throw ZooError(.mismatch, "expected a 4-D value to permute, found \(shapeDescription(x.shape))") }
        let s = x.shape
        if toChannelsLast {
            return FloatTensor(shape: [s[0], s[2], s[3], s[1]], data: Layout.nchwToNHWC(x.data, n: s[0], c: s[1], h: s[2], w: s[3]))
        }
        return FloatTensor(shape: [s[0], s[3], s[1], s[2]], data: Layout.nhwcToNCHW(x.data, n: s[0], h: s[1], w: s[2], c: s[3]))
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws { l.alias(node) }

    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { graph.isNonNegative(node.inputs[0]) }
}

extension GraphBuilder {
    /// `x * s`, `s` of `x`'s shape or [C, 1, 1].
    public func multiply(_ x: Value, _ s: Value, keras: String? = nil) -> Value {
        let (a, b) = (shape(x), shape(s))
        if a != b && !(a.count == 3 && b == [a[0], 1, 1]) { fail("\(keras ?? "multiply"): expected a gate of shape \(a) or [\(a.first ?? 0), 1, 1], found \(b)") }
        return add(MultiplyOp(), [x, s], module: false, torch: nil, keras: keras, shape: a, layout: layout(x))
    }

    /// `torch.cat(parts, 1)`.
    public func concat(_ parts: [Value], keras: String? = nil) -> Value {
        let shapes = parts.map(shape)
        guard let first = shapes.first, first.count == 3, shapes.allSatisfy({ $0.count == 3 && $0[1] == first[1] && $0[2] == first[2] }) else {
            fail("\(keras ?? "concat"): expected [C, H, W] maps of one size to concatenate, found \(shapes)")
            return parts[0]
        }
        return add(ConcatOp(), parts, module: false, torch: nil, keras: keras, shape: [shapes.reduce(0) { $0 + $1[0] }, first[1], first[2]],
                   layout: .channelsFirst)
    }

    /// Channels `range` of a map.
    public func channels(_ x: Value, _ range: Range<Int>, keras: String? = nil) -> Value {
        let s = shape(x)
        if range.lowerBound < 0 || range.upperBound > s[0] || range.isEmpty { fail("\(keras ?? "channels"): expected a channel range within \(s[0]), found \(range)") }
        return add(ChannelSliceOp(start: range.lowerBound, end: range.upperBound), [x], module: false, torch: nil, keras: keras,
                   shape: [range.count, s[1], s[2]], layout: .channelsFirst)
    }

    public func channelShuffle(_ x: Value, groups: Int, keras: String? = nil) -> Value {
        if shape(x)[0] % groups != 0 { fail("\(keras ?? "channel_shuffle"): expected channels divisible by \(groups), found \(shape(x)[0])") }
        return add(ChannelShuffleOp(groups: groups), [x], module: false, torch: nil, keras: keras, shape: shape(x), layout: .channelsFirst)
    }

    public func channelAffine(_ x: Value, scale: [Float], shift: [Float], keras: String? = nil) -> Value {
        if scale.count != shape(x)[0] || shift.count != scale.count { fail("\(keras ?? "channel_affine"): expected \(shape(x)[0]) scales and shifts") }
        return add(ChannelAffineOp(scale: scale, shift: shift), [x], module: false, torch: nil, keras: keras, shape: shape(x), layout: layout(x))
    }

    /// A [C, 1, 1] parameter `name` of the current module times the map.
    public func layerScale(_ x: Value, parameter name: String, keras: String? = nil) -> Value {
        add(LayerScaleOp(channels: shape(x)[0], parameterName: name), [x], module: true, torch: name, keras: keras,
            shape: shape(x), layout: layout(x))
    }

    public func layerNorm2d(_ x: Value, torch: String? = nil, keras: String? = nil, eps: Double) -> Value {
        add(ChannelLayerNormOp(channels: shape(x)[0], eps: eps), [x], module: true, torch: torch, keras: keras, shape: shape(x), layout: layout(x))
    }

    /// `x.permute(0, 2, 3, 1)` of a [C, H, W] map → [H, W, C] (the same order as Keras's).
    public func permuteToChannelsLast(_ x: Value, keras: String? = nil) -> Value {
        let s = shape(x)
        return add(PermuteOp(toChannelsLast: true), [x], module: false, torch: nil, keras: keras, shape: [s[1], s[2], s[0]], layout: .same)
    }

    /// `x.permute(0, 3, 1, 2)` of an [H, W, C] value → a [C, H, W] map.
    public func permuteToChannelsFirst(_ x: Value, keras: String? = nil) -> Value {
        let s = shape(x)
        return add(PermuteOp(toChannelsLast: false), [x], module: false, torch: nil, keras: keras, shape: [s[2], s[0], s[1]], layout: .channelsFirst)
    }
}
