import Foundation
import Testing
import ZooGraph
import ZooCore
@testable import ZooCompute
@testable import ZooKernels

/// Kernels against straightforward double-precision definitions, over geometries the fixtures
/// do not reach (tiles of the column buffer, odd strides, groups with dilation, both layouts).
@Suite struct KernelTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var n = 2, c = 6, h = 11, w = 9, o = 8, k = 3, stride = 1, pad = 1, dilation = 1, groups = 1
        var testDescription: String { "c\(c)→\(o) k\(k) s\(stride) p\(pad) d\(dilation) g\(groups) \(h)×\(w)" }
    }

    static let cases: [Case] = [
        Case(), Case(k: 1, pad: 0), Case(k: 1, stride: 2, pad: 0), Case(stride: 2), Case(k: 5, stride: 2, pad: 2),
        Case(c: 6, o: 9, groups: 3), Case(pad: 2, dilation: 2, groups: 2), Case(k: 7, stride: 2, pad: 3),
        Case(n: 1, c: 4, h: 5, w: 13, o: 4, k: 3, stride: 3, pad: 0), Case(c: 8, o: 8, k: 1, pad: 0, groups: 4),
        // depthwise (the direct kernel): plain, strided with a multiplier, dilated, 7×7
        Case(c: 6, o: 6, groups: 6), Case(c: 6, o: 12, k: 5, stride: 2, pad: 2, groups: 6),
        Case(c: 4, o: 4, pad: 2, dilation: 2, groups: 4), Case(n: 1, c: 5, h: 12, w: 10, o: 5, k: 7, pad: 3, groups: 5),
        Case(c: 8, o: 8, k: 3, stride: 2, pad: 0, groups: 8),
        // depthwise, every column phase of a stride-3 dilated filter; a plane narrower than the filter's reach
        Case(n: 1, c: 3, h: 9, w: 14, o: 6, k: 3, stride: 3, pad: 1, dilation: 2, groups: 3),
        Case(n: 1, c: 2, h: 4, w: 3, o: 2, k: 5, stride: 2, pad: 2, groups: 2),
    ]

    static func noise(_ count: Int, seed: UInt64) -> [Float] { Recipe.values(seed: seed, count: count, center: 0, scale: 1) }

    /// out[n, o, y, x] = b[o] + Σ w[o, ci, ky, kx] · in[n, g·cin + ci, y·s − p + ky·d, x·s − p + kx·d].
    static func reference(_ t: Case, x: [Float], w: [Float], b: [Float], oh: Int, ow: Int) -> [Double] {
        let cin = t.c / t.groups, cout = t.o / t.groups
        var out = [Double](repeating: 0, count: t.n * t.o * oh * ow)
        for n in 0..<t.n { for o in 0..<t.o { let g = o / cout
            for y in 0..<oh { for xx in 0..<ow {
                var s = Double(b[o])
                for ci in 0..<cin { for ky in 0..<t.k { for kx in 0..<t.k {
                    let iy = y * t.stride - t.pad + ky * t.dilation, ix = xx * t.stride - t.pad + kx * t.dilation
                    guard iy >= 0, iy < t.h, ix >= 0, ix < t.w else { continue }
                    s += Double(w[((o * cin + ci) * t.k + ky) * t.k + kx]) * Double(x[((n * t.c + g * cin + ci) * t.h + iy) * t.w + ix])
                } } }
                out[((n * t.o + o) * oh + y) * ow + xx] = s
            } }
        } }
        return out
    }

    @Test(arguments: cases, [Convolution.columnBudget, 200])
    func convolutionInBothLayoutsMatchesTheDefinition(_ t: Case, budget: Int) throws {
        let oh = (t.h + 2 * t.pad - t.dilation * (t.k - 1) - 1) / t.stride + 1
        let ow = (t.w + 2 * t.pad - t.dilation * (t.k - 1) - 1) / t.stride + 1
        let x = Self.noise(t.n * t.c * t.h * t.w, seed: 1), w = Self.noise(t.o * t.c / t.groups * t.k * t.k, seed: 2), b = Self.noise(t.o, seed: 3)
        let g = ConvGeometry(batch: t.n, inChannels: t.c, inHeight: t.h, inWidth: t.w, outChannels: t.o, outHeight: oh, outWidth: ow,
                             kernelHeight: t.k, kernelWidth: t.k, strideHeight: t.stride, strideWidth: t.stride,
                             dilationHeight: t.dilation, dilationWidth: t.dilation, padTop: t.pad, padLeft: t.pad, groups: t.groups)
        let expected = Self.reference(t, x: x, w: w, b: b, oh: oh, ow: ow)
        var nchw = [Float](repeating: .nan, count: expected.count)
        Convolution.nchw(x, weight: w, bias: b, g, out: &nchw, budget: budget)
        // NHWC: same numbers, HWIO kernel
        let xl = permuteNCHWtoNHWC(x, [t.n, t.c, t.h, t.w])
        let hwio = ZooGraph.permute(w, shape: [t.o, t.c / t.groups, t.k, t.k], order: [2, 3, 1, 0])
        var nhwc = [Float](repeating: .nan, count: expected.count)
        Convolution.nhwc(xl, kernel: hwio, bias: b, g, out: &nhwc, budget: budget)
        let back = permuteNHWCtoNCHW(nhwc, [t.n, oh, ow, t.o])
        let scale = expected.map(abs).max() ?? 1
        let e1 = zip(expected, nchw).map { abs($0 - Double($1)) }.max() ?? 0
        let e2 = zip(expected, back).map { abs($0 - Double($1)) }.max() ?? 0
        #expect(e1 / scale < 1e-6, "NCHW \(t.testDescription): \(e1 / scale)")
        #expect(e2 / scale < 1e-6, "NHWC \(t.testDescription): \(e2 / scale)")
        if g.isDepthwise { // the fallback without a scratch buffer, too
            var direct = [Float](repeating: .nan, count: expected.count)
            x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in b.withUnsafeBufferPointer { bp in
                direct.withUnsafeMutableBufferPointer { out in
                    Convolution.depthwiseNCHWDirect(xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!, g,
                                                    planes: 0..<(t.n * t.o), out: out.baseAddress!)
                }
            } } }
            let e3 = zip(expected, direct).map { abs($0 - Double($1)) }.max() ?? 0
            #expect(e3 / scale < 1e-6, "direct NCHW \(t.testDescription): \(e3 / scale)")
        }
    }

    @Test func poolingFollowsEachFrameworksPaddingRules() {
        // 1×1 channel, 3×3 input of −1s, 2×2 pool stride 2 with padding 1
        let x = [Float](repeating: -1, count: 9)
        let torch = PoolGeometry(batch: 1, channels: 1, inHeight: 3, inWidth: 3, outHeight: 2, outWidth: 2, kernelHeight: 2, kernelWidth: 2,
                                 strideHeight: 2, strideWidth: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1)
        var out = [Float](repeating: 0, count: 4)
        Pooling.nchw(x, torch, .max, out: &out)
        #expect(out == [-1, -1, -1, -1]) // padding is −∞ for max, never 0
        Pooling.nchw(x, torch, .average(countPadding: true), out: &out)
        #expect(out == [-0.25, -0.5, -0.5, -1]) // count_include_pad divides by the window
        Pooling.nchw(x, torch, .average(countPadding: false), out: &out)
        #expect(out == [-1, -1, -1, -1])
    }

    @Test func adaptivePoolingUsesPyTorchBins() {
        // 5 → 3 bins: [0,2), [1,4), [3,5)
        let x: [Float] = [1, 2, 3, 4, 5]
        var out = [Float](repeating: 0, count: 3)
        Pooling.adaptiveAverageNCHW(x, batch: 1, channels: 1, height: 1, width: 5, outHeight: 1, outWidth: 3, out: &out)
        #expect(out == [1.5, 3, 4.5])
        // 2 → 5 upsamples: bins [0,1), [0,1), [0,2), [1,2), [1,2)
        var up = [Float](repeating: 0, count: 5)
        Pooling.adaptiveAverageNCHW([2, 4], batch: 1, channels: 1, height: 1, width: 2, outHeight: 1, outWidth: 5, out: &up)
        #expect(up == [2, 2, 3, 4, 4])
    }

    @Test func activationsMatchTheirFormulas() {
        let xs: [Float] = [-3, -1, -0.5, 0, 0.5, 1, 3]
        for kind in [ActivationKind.relu, .tanh, .gelu, .geluTanh] {
            var y = xs
            kind.apply(&y)
            for (x, v) in zip(xs, y) {
                let d = Double(x)
                let expected: Double
                switch kind {
                case .relu: expected = max(d, 0)
                case .tanh: expected = Foundation.tanh(d)
                case .gelu: expected = 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot()))
                default: expected = 0.5 * d * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d)))
                }
                #expect(abs(Double(v) - expected) <= 1e-6, "\(kind) at \(x): \(v) vs \(expected)")
            }
        }
    }

    /// Large enough that batch × heads run concurrently (each task calls sgemm).
    @Test func concurrentAttentionMatchesTheDefinition() {
        let (n, t, heads, dk) = (3, 48, 4, 16)
        let width = heads * dk
        let q = Self.noise(n * t * width, seed: 11), k = Self.noise(n * t * width, seed: 12), v = Self.noise(n * t * width, seed: 13)
        let keep = (0..<(n * t)).map { i in i % t < t - 5 * (i / t) } // sample b has 5·b padded keys
        let context = Attention.scaledDotProduct(q: q, k: k, v: v, batch: n, steps: t, heads: heads, keyDim: dk, valueDim: dk,
                                                 keep: keep, maskedScore: -Float.greatestFiniteMagnitude)
        var worst = 0.0
        for b in 0..<n { for h in 0..<heads { for i in 0..<t {
            var scores = (0..<t).map { j -> Double in
                guard keep[b * t + j] else { return -.infinity }
                return (0..<dk).reduce(0.0) { $0 + Double(q[(b * t + i) * width + h * dk + $1]) * Double(k[(b * t + j) * width + h * dk + $1]) } / Double(dk).squareRoot()
            }
            let m = scores.max()!
            scores = scores.map { Foundation.exp($0 - m) }
            let sum = scores.reduce(0, +)
            for d in 0..<dk {
                let expected = (0..<t).reduce(0.0) { $0 + scores[$1] / sum * Double(v[(b * t + $1) * width + h * dk + d]) }
                worst = max(worst, abs(expected - Double(context[(b * t + i) * width + h * dk + d])))
            }
        } } }
        #expect(worst < 1e-5, "max |Δ| \(worst)")
    }

    @Test func maskedKeysGetNoWeight() {
        // one head, 3 steps, key 2 masked: its value must not leak into any context
        let q: [Float] = [1, 0, 0, 1, 1, 1], k: [Float] = [1, 0, 0, 1, 5, 5], v: [Float] = [1, 1, 2, 2, 1000, 1000]
        let context = Attention.scaledDotProduct(q: q, k: k, v: v, batch: 1, steps: 3, heads: 1, keyDim: 2, valueDim: 2,
                                                 keep: [true, true, false], maskedScore: -Float.greatestFiniteMagnitude)
        #expect(context.allSatisfy { $0 >= 1 && $0 <= 2 })
    }
}
