// Pooling in both layouts. PyTorch pads max pools with −∞ and, by default, counts padding in
// average pools (`count_include_pad=True`); Keras `same` pooling ignores padded cells in both.
// The windows here never include padded cells for max, and include them for average only when
// `countPadding` says so.

public struct PoolGeometry: Equatable {
    public var batch: Int, channels: Int
    public var inHeight: Int, inWidth: Int
    public var outHeight: Int, outWidth: Int
    public var kernelHeight: Int, kernelWidth: Int
    public var strideHeight: Int, strideWidth: Int
    public var padTop = 0, padLeft = 0
    /// The far padding (bottom/right) PyTorch's divisor counts; 0 for Keras.
    public var padBottom = 0, padRight = 0

    public init(batch: Int, channels: Int, inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int,
                kernelHeight: Int, kernelWidth: Int, strideHeight: Int, strideWidth: Int,
                padTop: Int = 0, padLeft: Int = 0, padBottom: Int = 0, padRight: Int = 0) {
        self.batch = batch; self.channels = channels
        self.inHeight = inHeight; self.inWidth = inWidth
        self.outHeight = outHeight; self.outWidth = outWidth
        self.kernelHeight = kernelHeight; self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight; self.strideWidth = strideWidth
        self.padTop = padTop; self.padLeft = padLeft; self.padBottom = padBottom; self.padRight = padRight
    }

    /// Window rows for output row `o`: the clipped input range and the padded extent
    /// (PyTorch's divisor with count_include_pad counts the padded extent, clipped to input + pad).
    public func rows(_ o: Int) -> (valid: Range<Int>, padded: Int) {
        window(o, stride: strideHeight, pad: padTop, kernel: kernelHeight, size: inHeight, farPad: padBottom)
    }

    public func columns(_ o: Int) -> (valid: Range<Int>, padded: Int) {
        window(o, stride: strideWidth, pad: padLeft, kernel: kernelWidth, size: inWidth, farPad: padRight)
    }

    private func window(_ o: Int, stride: Int, pad: Int, kernel: Int, size: Int, farPad: Int) -> (valid: Range<Int>, padded: Int) {
        let start = o * stride - pad
        let end = min(start + kernel, size + farPad)
        let lo = max(start, 0), hi = min(end, size)
        return (lo..<max(lo, hi), end - start)
    }
}

public enum Pooling {
    public enum Kind { case max, average(countPadding: Bool) }

    /// x [N, C, H, W] → [N, C, Ho, Wo].
    public static func nchw(_ x: UnsafePointer<Float>, _ g: PoolGeometry, _ kind: Kind, out: UnsafeMutablePointer<Float>) {
        let inPlane = g.inHeight * g.inWidth, outPlane = g.outHeight * g.outWidth
        Parallel.forEach(g.batch * g.channels, work: g.batch * g.channels * inPlane) { p in
            let src = x + p * inPlane, dst = out + p * outPlane
            for oy in 0..<g.outHeight {
                let (ys, ph) = g.rows(oy)
                for ox in 0..<g.outWidth {
                    let (xs, pw) = g.columns(ox)
                    switch kind {
                    case .max:
                        var m = -Float.infinity
                        for iy in ys { for ix in xs { let v = src[iy * g.inWidth + ix]; if v > m || v.isNaN { m = v } } }
                        dst[oy * g.outWidth + ox] = m
                    case .average(let countPadding):
                        var s: Float = 0
                        for iy in ys { for ix in xs { s += src[iy * g.inWidth + ix] } }
                        let divisor = countPadding ? ph * pw : ys.count * xs.count
                        dst[oy * g.outWidth + ox] = s / Float(divisor)
                    }
                }
            }
        }
    }

    /// x [N, H, W, C] → [N, Ho, Wo, C].
    public static func nhwc(_ x: UnsafePointer<Float>, _ g: PoolGeometry, _ kind: Kind, out: UnsafeMutablePointer<Float>) {
        let c = g.channels
        Parallel.forEach(g.batch * g.outHeight, work: g.batch * g.inHeight * g.inWidth * c) { row in
            let n = row / g.outHeight, oy = row % g.outHeight
            let image = x + n * g.inHeight * g.inWidth * c
            let (ys, ph) = g.rows(oy)
            for ox in 0..<g.outWidth {
                let (xs, pw) = g.columns(ox)
                let dst = out + (row * g.outWidth + ox) * c
                switch kind {
                case .max:
                    dst.update(repeating: -Float.infinity, count: c)
                    for iy in ys {
                        for ix in xs {
                            let src = image + (iy * g.inWidth + ix) * c
                            for j in 0..<c where src[j] > dst[j] || src[j].isNaN { dst[j] = src[j] }
                        }
                    }
                case .average(let countPadding):
                    dst.update(repeating: 0, count: c)
                    for iy in ys { for ix in xs { let src = image + (iy * g.inWidth + ix) * c; for j in 0..<c { dst[j] += src[j] } } }
                    let divisor = Float(countPadding ? ph * pw : ys.count * xs.count)
                    for j in 0..<c { dst[j] /= divisor }
                }
            }
        }
    }

    /// PyTorch `AdaptiveAvgPool2d((oh, ow))`: bin i covers [⌊i·H/oh⌋, ⌈(i+1)·H/oh⌉), so it also
    /// upsamples when the map is smaller than the target. x [N, C, H, W] → [N, C, oh, ow].
    public static func adaptiveAverageNCHW(_ x: UnsafePointer<Float>, batch: Int, channels: Int, height: Int, width: Int,
                                    outHeight: Int, outWidth: Int, out: UnsafeMutablePointer<Float>) {
        let inPlane = height * width, outPlane = outHeight * outWidth
        Parallel.forEach(batch * channels, work: batch * channels * max(inPlane, outPlane)) { p in
            let src = x + p * inPlane, dst = out + p * outPlane
            for oy in 0..<outHeight {
                let y0 = oy * height / outHeight, y1 = ((oy + 1) * height + outHeight - 1) / outHeight
                for ox in 0..<outWidth {
                    let x0 = ox * width / outWidth, x1 = ((ox + 1) * width + outWidth - 1) / outWidth
                    var s: Float = 0
                    for iy in y0..<y1 { for ix in x0..<x1 { s += src[iy * width + ix] } }
                    dst[oy * outWidth + ox] = s / Float((y1 - y0) * (x1 - x0))
                }
            }
        }
    }

    /// Mean over H·W: x [N, C, H·W] → [N, C].
    public static func globalAverageNCHW(_ x: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int, out: UnsafeMutablePointer<Float>) {
        Parallel.forEach(batch * channels, work: batch * channels * plane) { p in
            var s: Float = 0
            let src = x + p * plane
            for i in 0..<plane { s += src[i] }
            out[p] = s / Float(plane)
        }
    }

    /// Mean over H·W: x [N, H·W, C] → [N, C].
    public static func globalAverageNHWC(_ x: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int, out: UnsafeMutablePointer<Float>) {
        Parallel.forEach(batch, work: batch * channels * plane) { n in
            let dst = out + n * channels
            dst.update(repeating: 0, count: channels)
            for i in 0..<plane {
                let src = x + (n * plane + i) * channels
                for j in 0..<channels { dst[j] += src[j] }
            }
            for j in 0..<channels { dst[j] /= Float(plane) }
        }
    }

    /// Keras `MaxPooling1D` over steps: x [N, T, C] → [N, To, C] (a 1-row 2-D pool).
    public static func max1D(_ x: UnsafePointer<Float>, batch: Int, steps: Int, channels: Int, outSteps: Int,
                      pool: Int, stride: Int, padLeft: Int, out: UnsafeMutablePointer<Float>) {
        let g = PoolGeometry(batch: batch, channels: channels, inHeight: 1, inWidth: steps, outHeight: 1, outWidth: outSteps,
                             kernelHeight: 1, kernelWidth: pool, strideHeight: 1, strideWidth: stride, padTop: 0, padLeft: padLeft)
        nhwc(x, g, .max, out: out)
    }
}
