// Building blocks torchvision's models share (torchvision/ops/misc.py, models/_utils.py), stated
// once for every family that uses them.
import ZooGraph

/// BatchNorm2d's settings, which torchvision varies per model (MobileNetV3: eps 1e-3,
/// momentum 0.01; EfficientNet-B5…B7 and V2: eps 1e-3).
struct BatchNormSettings {
    var eps = 1e-5
    var momentum = 0.1

    static let standard = BatchNormSettings()
}

/// `_make_divisible(v, divisor, min_value)`: the nearest multiple of `divisor`, never below
/// `min_value` (default `divisor`) nor more than 10% below `v`.
func makeDivisible(_ v: Double, _ divisor: Int, minValue: Int? = nil) -> Int {
    let minimum = minValue ?? divisor
    var rounded = max(minimum, Int(v + Double(divisor) / 2) / divisor * divisor)
    if Double(rounded) < 0.9 * v { rounded += divisor }
    return rounded
}

extension GraphBuilder {
    /// `Conv2dNormActivation(in, out, kernel, stride, padding=(k-1)//2·d, groups, norm, activation)`:
    /// a Sequential of conv, BatchNorm (optional) and activation (optional). As the next item of
    /// the enclosing Sequential unless `torch` names it.
    func convNormActivation(_ x: Value, torch: String? = nil, out: Int, kernel: Int = 3, stride: Int = 1, padding: Int? = nil,
                            groups: Int = 1, dilation: Int = 1, norm: BatchNormSettings? = .standard,
                            activation: ActivationKind? = .relu, bias: Bool? = nil) -> Value {
        var y = x
        sequential(torch) {
            y = conv2d(y, out: out, kernel: kernel, stride: stride, padding: padding ?? (kernel - 1) / 2 * dilation,
                       dilation: dilation, groups: groups, bias: bias ?? (norm == nil))
            if let norm { y = batchNorm(y, eps: norm.eps, momentum: norm.momentum) }
            if let activation { y = self.activation(y, activation) }
        }
        return y
    }

    /// `SqueezeExcitation(C, squeeze, activation, scale_activation)`: x · gate(fc2(act(fc1(avgpool(x))))).
    /// Keras: GlobalAveragePooling2D(keepdims) → Conv2D 1×1 → act → Conv2D 1×1 → gate → Multiply.
    func squeezeExcitation(_ x: Value, torch: String? = nil, squeeze: Int, activation: ActivationKind = .relu,
                           gate: ActivationKind = .sigmoid) -> Value {
        let channels = shape(x)[0]
        let body = {
            var s = self.adaptiveAvgPool2d(x, torch: "avgpool", height: 1, width: 1)
            s = self.conv2d(s, torch: "fc1", out: squeeze, kernel: 1, bias: true)
            s = self.activation(s, activation, torch: "activation")
            s = self.conv2d(s, torch: "fc2", out: channels, kernel: 1, bias: true)
            s = self.activation(s, gate, torch: "scale_activation")
            return self.multiply(x, s)
        }
        if let torch { return scope(torch, body) }
        return item(body)
    }

    /// The classifier torchvision's image models end with: global average pool, flatten, then
    /// `classifier` (or `fc`) as the descriptor states it.
    func globalPoolAndFlatten(_ x: Value) -> Value { globalAvgPool(x, keras: "avg_pool") }
}

/// Heads torchvision builds that fine-tuning replaces as a whole.
enum TorchvisionHead {
    /// `classifier = nn.Sequential(nn.Dropout(p), nn.Linear(features, classes))` (MobileNetV2,
    /// EfficientNet, MNASNet).
    static let dropoutLinear = ClassifierHead.sequential([.dropout, .linear(out: nil)])
}
