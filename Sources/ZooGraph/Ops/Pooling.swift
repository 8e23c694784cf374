// nn.MaxPool2d / nn.AvgPool2d (padding, ceil_mode, count_include_pad), nn.AdaptiveAvgPool2d and
// the global average pool + flatten of every classifier. Keras: MaxPooling2D / AveragePooling2D
// (`valid`) after an explicit ZeroPadding2D where PyTorch pads, GlobalAveragePooling2D.
// PyTorch pads a max pool with −∞ and Keras's ZeroPadding2D with 0: the same only for an input
// that cannot be negative (after a ReLU), which is checked; an average pool that must not count
// its padding has no `valid` equivalent and uses `same` only where that is the same geometry.
import ZooCore
import ZooKernels

public struct Pool2DOp: GraphOp, Equatable {
    public enum Kind: String, Sendable { case max, average }
    public var kind: Kind
    public var kernel: Int
    public var stride: Int
    public var padding: Int
    /// PyTorch's `ceil_mode`: a last, partial window where the floor would drop it.
    public var ceilMode: Bool = false
    /// `AvgPool2d`'s `count_include_pad` (PyTorch's default true).
    public var countIncludePad: Bool = true

    public var opName: String { kind == .max ? "max_pool" : "avg_pool" }

    /// PyTorch's output size along an axis of `size` (`pooling_output_shape`). With ceil_mode a
    /// window may be larger than the padded input: a 3×3 stride-2 pool of a 2×2 map gives 1×1.
    public func outputSize(_ size: Int) -> Int {
        let numerator = size + 2 * padding - kernel + (ceilMode ? stride - 1 : 0)
        guard numerator >= 0 else { return 0 } // PyTorch's division rounds down: no window
        var out = numerator / stride + 1
        // the last window must start inside the input or its left padding
        if ceilMode && (out - 1) * stride >= size + padding { out -= 1 }
        return out
    }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        let (n, ch, h, wd) = try x.map()
        let oh = outputSize(h), ow = outputSize(wd)
        guard oh > 0, ow > 0 else { throw ZooError(.mismatch, "expected an input of at least \(kernel)×\(kernel), found \(h)×\(wd)") }
        let g = PoolGeometry(batch: n, channels: ch, inHeight: h, inWidth: wd, outHeight: oh, outWidth: ow,
                             kernelHeight: kernel, kernelWidth: kernel, strideHeight: stride, strideWidth: stride,
                             padTop: padding, padLeft: padding, padBottom: padding, padRight: padding)
        var y = FloatTensor(uninitialized: [n, ch, oh, ow])
        let k: Pooling.Kind = kind == .max ? .max : .average(countPadding: countIncludePad)
        x.data.withUnsafeBufferPointer { xb in y.data.withUnsafeMutableBufferPointer { Pooling.nchw(xb.baseAddress!, g, k, out: $0.baseAddress!) } }
        return y
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        let input = l.inputNode(node)
        let (h, w) = (input.shape[1], input.shape[2])
        // cells past the padded input that ceil_mode's last window reaches
        let extraH = max(0, (outputSize(h) - 1) * stride + kernel - (h + 2 * padding))
        let extraW = max(0, (outputSize(w) - 1) * stride + kernel - (w + 2 * padding))
        var source = l.input(node)
        var mode = "valid"
        if padding > 0 || extraH > 0 || extraW > 0 {
            switch kind {
            case .max:
                guard l.graph.isNonNegative(input.id) else {
                    throw ZooError(.mismatch, "\(node.kerasName): padded max pooling of a possibly negative input has no exact Keras core-layer equivalent")
                }
                source = l.zeroPadding(node, (padding, padding + extraH, padding, padding + extraW))
            case .average where countIncludePad && extraH == 0 && extraW == 0:
                source = l.zeroPadding(node, (padding, padding, padding, padding))
            case .average where !countIncludePad && stride == 1 && kernel == 2 * padding + 1 && extraH == 0 && extraW == 0:
                mode = "same" // Keras's `same` averages only real cells, and is symmetric here
            case .average:
                throw ZooError(.mismatch, "\(node.kerasName): average pooling with padding \(padding), stride \(stride)\(ceilMode ? ", ceil_mode" : "")\(countIncludePad ? "" : " that does not count padding") has no exact Keras core-layer equivalent")
            }
        }
        var layer = l.layer(for: node, className: kind == .max ? "MaxPooling2D" : "AveragePooling2D", config: [
            ("pool_size", .array([.int(kernel), .int(kernel)])), ("padding", .string(mode)),
            ("strides", .array([.int(stride), .int(stride)])), ("data_format", .string("channels_last")),
        ])
        layer.inbound = [source]
        l.emit(layer, producing: node)
    }

    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { kind == .max && graph.isNonNegative(node.inputs[0]) }
}

/// `nn.AdaptiveAvgPool2d((h, w))`: PyTorch's bins at any input size. Keras: nothing at the same
/// size, GlobalAveragePooling2D for 1×1, AveragePooling2D for a whole multiple, and two Dense
/// layers with fixed averaging kernels for every other size (uneven or overlapping bins).
public struct AdaptiveAvgPool2DOp: GraphOp, Equatable {
    public var height: Int
    public var width: Int

    public var opName: String { "adaptive_avg_pool" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        let (n, ch, h, wd) = try x.map()
        var y = FloatTensor(uninitialized: [n, ch, height, width])
        x.data.withUnsafeBufferPointer { xb in
            y.data.withUnsafeMutableBufferPointer {
                Pooling.adaptiveAverageNCHW(xb.baseAddress!, batch: n, channels: ch, height: h, width: wd,
                                            outHeight: height, outWidth: width, out: $0.baseAddress!)
            }
        }
        return y
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        let s = l.inputNode(node).shape
        if s[1] == height && s[2] == width { return l.alias(node) } // identity at this input size
        if height == 1 && width == 1 {
            return l.emit(l.layer(for: node, className: "GlobalAveragePooling2D",
                                  config: [("data_format", .string("channels_last")), ("keepdims", .bool(true))]), producing: node)
        }
        guard s[1] % height == 0, s[2] % width == 0 else {
            return lowerByAveragingMatrices(node, &l, inHeight: s[1], inWidth: s[2], channels: s[0])
        }
        l.emit(l.layer(for: node, className: "AveragePooling2D", config: [
            ("pool_size", .array([.int(s[1] / height), .int(s[2] / width)])), ("padding", .string("valid")),
            ("strides", .array([.int(s[1] / height), .int(s[2] / width)])), ("data_format", .string("channels_last")),
        ]), producing: node)
    }

    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { graph.isNonNegative(node.inputs[0]) }

    /// PyTorch's bins along one axis: output i averages inputs ⌊i·n/out⌋ ..< ⌈(i+1)·n/out⌉.
    static func bins(_ n: Int, _ out: Int) -> [Range<Int>] {
        (0..<out).map { i in (i * n / out)..<(((i + 1) * n + out - 1) / out) }
    }

    /// The (n, out) matrix of a Dense averaging along one axis: column i holds 1/|bin i| on the bin.
    static func averagingKernel(_ n: Int, _ out: Int) -> [Float] {
        var k = [Float](repeating: 0, count: n * out)
        for (i, bin) in bins(n, out).enumerated() { for j in bin { k[j * out + i] = 1 / Float(bin.count) } }
        return k
    }

    public func constants(of node: Node, in graph: Graph) -> [KerasConstant] {
        let s = graph.node(node.inputs[0]).shape
        guard s.count == 3, !(s[1] == height && s[2] == width), !(height == 1 && width == 1), s[1] % height != 0 || s[2] % width != 0 else { return [] }
        let base = node.kerasName
        return [KerasConstant(layer: base + "_rows", weight: "kernel", shape: [s[1], height], values: Self.averagingKernel(s[1], height)),
                KerasConstant(layer: base + "_cols", weight: "kernel", shape: [s[2], width], values: Self.averagingKernel(s[2], width))]
    }

    /// Sizes whose bins are uneven or overlap (VGG's 7×7 pool of a 4×4 map at 128×128): the
    /// average is linear and separable, so core layers compute it exactly as two Dense layers
    /// with fixed kernels, each on the axis moved last: [H, W, C] → Permute → [W, C, H] · A →
    /// [W, C, h] → Permute → [h, C, W] · B → [h, C, w] → Permute → [h, w, C].
    func lowerByAveragingMatrices(_ node: Node, _ l: inout KerasLowering, inHeight h: Int, inWidth w: Int, channels c: Int) {
        let base = node.kerasName
        func permute(_ name: String, _ dims: [Int], from: String, shape: [Int]) {
            l.emit(KerasLayer(name: name, className: "Permute", config: [("dims", .array(dims.map(JSONValue.int)))], inbound: [from], outputShape: shape))
        }
        func dense(_ name: String, _ units: Int, from: String, shape: [Int], rows: Int) {
            l.emit(KerasLayer(name: name, className: "Dense", config: [("units", .int(units)), ("activation", .string("linear")), ("use_bias", .bool(false))],
                              inbound: [from], weights: [("kernel", [rows, units])], outputShape: shape))
        }
        permute(base + "_rows_in", [2, 3, 1], from: l.input(node), shape: [w, c, h])
        dense(base + "_rows", height, from: base + "_rows_in", shape: [w, c, height], rows: h)
        permute(base + "_cols_in", [3, 2, 1], from: base + "_rows", shape: [height, c, w])
        dense(base + "_cols", width, from: base + "_cols_in", shape: [height, c, width], rows: w)
        l.emit(KerasLayer(name: base, className: "Permute", config: [("dims", .array([.int(1), .int(3), .int(2)]))],
                          inbound: [base + "_cols"], outputShape: [height, width, c]), producing: node)
    }
}

/// `AdaptiveAvgPool2d(1)` followed by `flatten(x, 1)`: [C, H, W] → [C].
public struct GlobalAvgPoolOp: GraphOp, Equatable {
    public var opName: String { "global_avg_pool" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        let (n, ch, h, wd) = try x.map()
        var y = FloatTensor(uninitialized: [n, ch])
        x.data.withUnsafeBufferPointer { xb in
            y.data.withUnsafeMutableBufferPointer { Pooling.globalAverageNCHW(xb.baseAddress!, batch: n, channels: ch, plane: h * wd, out: $0.baseAddress!) }
        }
        return y
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "GlobalAveragePooling2D",
                       config: [("data_format", .string("channels_last")), ("keepdims", .bool(false))]), producing: node)
    }
}

extension GraphBuilder {
    public func maxPool2d(_ x: Value, torch: String? = nil, keras: String? = nil, kernel: Int, stride: Int? = nil, padding: Int = 0,
                          ceilMode: Bool = false) -> Value {
        pool(Pool2DOp(kind: .max, kernel: kernel, stride: stride ?? kernel, padding: padding, ceilMode: ceilMode), x, torch: torch, keras: keras)
    }

    public func avgPool2d(_ x: Value, torch: String? = nil, keras: String? = nil, kernel: Int, stride: Int? = nil, padding: Int = 0,
                          ceilMode: Bool = false, countIncludePad: Bool = true) -> Value {
        pool(Pool2DOp(kind: .average, kernel: kernel, stride: stride ?? kernel, padding: padding, ceilMode: ceilMode,
                      countIncludePad: countIncludePad), x, torch: torch, keras: keras)
    }

    private func pool(_ op: Pool2DOp, _ x: Value, torch: String?, keras: String?) -> Value {
        let s = shape(x)
        let h = op.outputSize(s[1]), w = op.outputSize(s[2])
        guard h > 0, w > 0 else { fail("\(keras ?? op.opName): input \(s[1])×\(s[2]) is too small to pool with \(op.kernel)×\(op.kernel)"); return x }
        return add(op, [x], module: false, torch: torch, keras: keras, shape: [s[0], h, w], layout: .channelsFirst)
    }

    public func adaptiveAvgPool2d(_ x: Value, torch: String? = nil, keras: String? = nil, height: Int, width: Int) -> Value {
        add(AdaptiveAvgPool2DOp(height: height, width: width), [x], module: false, torch: torch, keras: keras,
            shape: [shape(x)[0], height, width], layout: .channelsFirst)
    }

    public func globalAvgPool(_ x: Value, keras: String? = nil) -> Value {
        add(GlobalAvgPoolOp(), [x], module: false, torch: nil, keras: keras, shape: [shape(x)[0]], layout: .same)
    }
}
