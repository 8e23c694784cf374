import CZooKernels

// 2-D convolution as im2col + sgemm, in both layouts. The column buffer is built a tile of
// output pixels at a time (at most `columnBudget` floats), so memory stays bounded at 224×224 and
// the tile is still in cache when sgemm packs it. 1×1 stride-1 unpadded convolutions skip im2col.

/// Sizes of one convolution. Padding is given as top/left offsets: the output size already says
/// how far past the bottom/right edge the window reaches (zeros there), which covers PyTorch's
/// symmetric padding and Keras's asymmetric `same`.
public struct ConvGeometry: Equatable {
    public var batch: Int
    public var inChannels: Int, inHeight: Int, inWidth: Int
    public var outChannels: Int, outHeight: Int, outWidth: Int
    public var kernelHeight: Int, kernelWidth: Int
    public var strideHeight = 1, strideWidth = 1
    public var dilationHeight = 1, dilationWidth = 1
    public var padTop = 0, padLeft = 0
    public var groups = 1

    public init(batch: Int, inChannels: Int, inHeight: Int, inWidth: Int, outChannels: Int, outHeight: Int, outWidth: Int,
                kernelHeight: Int, kernelWidth: Int, strideHeight: Int = 1, strideWidth: Int = 1,
                dilationHeight: Int = 1, dilationWidth: Int = 1, padTop: Int = 0, padLeft: Int = 0, groups: Int = 1) {
        self.batch = batch
        self.inChannels = inChannels; self.inHeight = inHeight; self.inWidth = inWidth
        self.outChannels = outChannels; self.outHeight = outHeight; self.outWidth = outWidth
        self.kernelHeight = kernelHeight; self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight; self.strideWidth = strideWidth
        self.dilationHeight = dilationHeight; self.dilationWidth = dilationWidth
        self.padTop = padTop; self.padLeft = padLeft; self.groups = groups
    }

    public var groupInChannels: Int { inChannels / groups }
    public var groupOutChannels: Int { outChannels / groups }
    public var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideHeight == 1 && strideWidth == 1 && padTop == 0 && padLeft == 0
            && outHeight == inHeight && outWidth == inWidth
    }
    /// Every group is one input channel (MobileNet's and ConvNeXt's depthwise convs): too little
    /// work per group for a GEMM, so it gets a direct kernel.
    public var isDepthwise: Bool { groups > 1 && groups == inChannels }

    /// Multiply-adds of the whole convolution.
    public var multiplyAdds: Int { batch * outHeight * outWidth * outChannels * groupInChannels * kernelHeight * kernelWidth }

    /// Output positions `o` in `0..<outSize` whose input `o·stride − pad + offset` lies in `0..<inSize`.
    public static func validRange(outSize: Int, inSize: Int, stride: Int, pad: Int, offset: Int) -> Range<Int> {
        func ceilDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? (a + b - 1) / b : -((-a) / b) }
        let lo = max(0, ceilDiv(pad - offset, stride))
        let hi = min(outSize, ceilDiv(inSize + pad - offset, stride))
        return lo..<max(lo, hi)
    }
}

public enum Convolution {
    /// Column-buffer budget in floats (16 MB).
    public static let columnBudget = 1 << 22

    /// PyTorch layout: x [N, C, H, W], weight [O, C/groups, kh, kw] (OIHW), out [N, O, Ho, Wo].
    public static func nchw(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                     _ g: ConvGeometry, out: UnsafeMutablePointer<Float>, budget: Int = columnBudget) {
        if g.isDepthwise { return depthwiseNCHW(x, weight: weight, bias: bias, g, out: out) }
        let cinG = g.groupInChannels, coutG = g.groupOutChannels
        let k = cinG * g.kernelHeight * g.kernelWidth
        let plane = g.outHeight * g.outWidth, inPlane = g.inHeight * g.inWidth
        let beta: Float = bias == nil ? 0 : 1
        if let bias {
            Parallel.forEach(g.batch * g.outChannels, work: g.batch * g.outChannels * plane) { i in
                (out + i * plane).update(repeating: bias[i % g.outChannels], count: plane)
            }
        }
        if g.isPointwise {
            for n in 0..<g.batch {
                for group in 0..<g.groups {
                    BLAS.sgemm(m: coutG, n: plane, k: cinG, a: weight + group * coutG * k, lda: k,
                               b: x + (n * g.inChannels + group * cinG) * inPlane, ldb: inPlane,
                               beta: beta, c: out + (n * g.outChannels + group * coutG) * plane, ldc: plane)
                }
            }
            return
        }
        let rowsPerTile = max(1, min(g.outHeight, budget / max(1, k * g.outWidth)))
        var columns = [Float](repeating: 0, count: k * rowsPerTile * g.outWidth)
        columns.withUnsafeMutableBufferPointer { col in
            for n in 0..<g.batch {
                for group in 0..<g.groups {
                    let source = x + (n * g.inChannels + group * cinG) * inPlane
                    var row0 = 0
                    while row0 < g.outHeight {
                        let rows = min(rowsPerTile, g.outHeight - row0)
                        let width = rows * g.outWidth
                        im2colNCHW(source, g, channels: cinG, rows: row0..<(row0 + rows), into: col.baseAddress!)
                        BLAS.sgemm(m: coutG, n: width, k: k, a: weight + group * coutG * k, lda: k,
                                   b: col.baseAddress!, ldb: width, beta: beta,
                                   c: out + (n * g.outChannels + group * coutG) * plane + row0 * g.outWidth, ldc: plane)
                        row0 += rows
                    }
                }
            }
        }
    }

    /// Columns [C·kh·kw, rows·Wo] for output rows `rows` of one sample and group: column row
    /// (c, ky, kx) holds x[c, oy·s − p + ky·d, ox·s − p + kx·d], zero outside the input.
    public static func im2colNCHW(_ x: UnsafePointer<Float>, _ g: ConvGeometry, channels: Int, rows: Range<Int>,
                           into col: UnsafeMutablePointer<Float>) {
        let kh = g.kernelHeight, kw = g.kernelWidth, wo = g.outWidth
        let width = rows.count * wo
        let total = channels * kh * kw
        Parallel.ranges(total, work: total * width) { range in
            for r in range {
                let c = r / (kh * kw), ky = (r / kw) % kh, kx = r % kw
                let valid = ConvGeometry.validRange(outSize: wo, inSize: g.inWidth, stride: g.strideWidth, pad: g.padLeft,
                                                    offset: kx * g.dilationWidth)
                let plane = x + c * g.inHeight * g.inWidth
                var dst = col + r * width
                for oy in rows {
                    let iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight
                    if iy < 0 || iy >= g.inHeight || valid.isEmpty {
                        dst.update(repeating: 0, count: wo)
                    } else {
                        let line = plane + iy * g.inWidth
                        if valid.lowerBound > 0 { dst.update(repeating: 0, count: valid.lowerBound) }
                        let ix0 = valid.lowerBound * g.strideWidth - g.padLeft + kx * g.dilationWidth
                        if g.strideWidth == 1 {
                            (dst + valid.lowerBound).update(from: line + ix0, count: valid.count)
                        } else {
                            var ix = ix0
                            for ox in valid { dst[ox] = line[ix]; ix += g.strideWidth }
                        }
                        if valid.upperBound < wo { (dst + valid.upperBound).update(repeating: 0, count: wo - valid.upperBound) }
                    }
                    dst += wo
                }
            }
        }
    }

    /// Keras layout: x [N, H, W, C], kernel [kh, kw, C/groups, O] (HWIO), out [N, Ho, Wo, O].
    public static func nhwc(_ x: UnsafePointer<Float>, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                     _ g: ConvGeometry, out: UnsafeMutablePointer<Float>, budget: Int = columnBudget) {
        if g.isDepthwise { return depthwiseNHWC(x, kernel: kernel, bias: bias, g, out: out) }
        let cinG = g.groupInChannels, coutG = g.groupOutChannels
        let k = g.kernelHeight * g.kernelWidth * cinG
        let pixels = g.batch * g.outHeight * g.outWidth
        let beta: Float = bias == nil ? 0 : 1
        if let bias {
            Parallel.forEach(pixels, work: pixels * g.outChannels) { p in
                (out + p * g.outChannels).update(from: bias, count: g.outChannels)
            }
        }
        if g.isPointwise {
            for group in 0..<g.groups {
                BLAS.sgemm(m: pixels, n: coutG, k: cinG, a: x + group * cinG, lda: g.inChannels,
                           b: kernel + group * coutG, ldb: g.outChannels, beta: beta,
                           c: out + group * coutG, ldc: g.outChannels)
            }
            return
        }
        let pixelsPerTile = max(1, min(pixels, budget / max(1, k)))
        var columns = [Float](repeating: 0, count: pixelsPerTile * k)
        columns.withUnsafeMutableBufferPointer { col in
            var p0 = 0
            while p0 < pixels {
                let count = min(pixelsPerTile, pixels - p0)
                for group in 0..<g.groups {
                    im2colNHWC(x, g, group: group, pixels: p0..<(p0 + count), into: col.baseAddress!)
                    BLAS.sgemm(m: count, n: coutG, k: k, a: col.baseAddress!, lda: k,
                               b: kernel + group * coutG, ldb: g.outChannels, beta: beta,
                               c: out + p0 * g.outChannels + group * coutG, ldc: g.outChannels)
                }
                p0 += count
            }
        }
    }

    /// Columns [pixels, kh·kw·C/groups]: row p (a flat output position n, oy, ox) holds, for each
    /// (ky, kx), the group's channels of x[n, oy·s − p + ky·d, ox·s − p + kx·d], zero outside.
    public static func im2colNHWC(_ x: UnsafePointer<Float>, _ g: ConvGeometry, group: Int, pixels: Range<Int>,
                           into col: UnsafeMutablePointer<Float>) {
        let cinG = g.groupInChannels, kh = g.kernelHeight, kw = g.kernelWidth
        let k = kh * kw * cinG
        let perImage = g.outHeight * g.outWidth
        let contiguousRow = g.groups == 1 && g.dilationWidth == 1
        Parallel.ranges(pixels.count, work: pixels.count * k) { range in
            for local in range {
                let p = pixels.lowerBound + local
                let n = p / perImage, oy = (p % perImage) / g.outWidth, ox = p % g.outWidth
                var dst = col + local * k
                let image = x + n * g.inHeight * g.inWidth * g.inChannels + group * cinG
                for ky in 0..<kh {
                    let iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight
                    if iy < 0 || iy >= g.inHeight {
                        dst.update(repeating: 0, count: kw * cinG)
                        dst += kw * cinG
                        continue
                    }
                    let ixFirst = ox * g.strideWidth - g.padLeft
                    if contiguousRow && ixFirst >= 0 && ixFirst + kw <= g.inWidth {
                        // kw neighbouring pixels with all their channels are one run of memory
                        dst.update(from: image + (iy * g.inWidth + ixFirst) * g.inChannels, count: kw * cinG)
                        dst += kw * cinG
                        continue
                    }
                    for kx in 0..<kw {
                        let ix = ixFirst + kx * g.dilationWidth
                        if ix < 0 || ix >= g.inWidth {
                            dst.update(repeating: 0, count: cinG)
                        } else {
                            dst.update(from: image + (iy * g.inWidth + ix) * g.inChannels, count: cinG)
                        }
                        dst += cinG
                    }
                }
            }
        }
    }
}

extension Convolution {
    /// Depthwise convolution, PyTorch layout: output plane o (of sample n) reads input plane
    /// o / multiplier with the kh×kw filter `weight[o]`. zoo_depthwise_nchw (depthwise.c) over
    /// ranges of planes: a tap's run of output columns at a time, contiguous at any stride.
    public static func depthwiseNCHW(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                     _ g: ConvGeometry, out: UnsafeMutablePointer<Float>) {
        var geometry = zoo_depthwise_geometry(
            batch: g.batch, in_channels: g.inChannels, in_height: g.inHeight, in_width: g.inWidth,
            out_channels: g.outChannels, out_height: g.outHeight, out_width: g.outWidth,
            kernel_height: g.kernelHeight, kernel_width: g.kernelWidth, stride_height: g.strideHeight,
            stride_width: g.strideWidth, dilation_height: g.dilationHeight, dilation_width: g.dilationWidth,
            pad_top: g.padTop, pad_left: g.padLeft)
        Parallel.ranges(g.batch * g.outChannels, work: g.multiplyAdds) { planes in
            if zoo_depthwise_nchw(x, weight, bias, out, &geometry, planes.lowerBound, planes.upperBound) != 0 {
                depthwiseNCHWDirect(x, weight: weight, bias: bias, g, planes: planes, out: out)
            }
        }
    }

    /// The same convolution without a scratch buffer (a tap at a time with bounds checks): what
    /// zoo_depthwise_nchw falls back to when it cannot allocate its row buffer, and the
    /// reference the kernel tests compare it with.
    static func depthwiseNCHWDirect(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                    _ g: ConvGeometry, planes: Range<Int>, out: UnsafeMutablePointer<Float>) {
        let multiplier = g.outChannels / g.inChannels
        let (kh, kw) = (g.kernelHeight, g.kernelWidth)
        let inPlane = g.inHeight * g.inWidth, plane = g.outHeight * g.outWidth
        let columns = (0..<kw).map { kx in
            ConvGeometry.validRange(outSize: g.outWidth, inSize: g.inWidth, stride: g.strideWidth, pad: g.padLeft, offset: kx * g.dilationWidth)
        }
        for p in planes {
            let n = p / g.outChannels, o = p % g.outChannels
            let src = x + (n * g.inChannels + o / multiplier) * inPlane
            let dst = out + p * plane
            let filter = weight + o * kh * kw
            dst.update(repeating: bias?[o] ?? 0, count: plane)
            for oy in 0..<g.outHeight {
                let row = dst + oy * g.outWidth
                for ky in 0..<kh {
                    let iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight
                    if iy < 0 || iy >= g.inHeight { continue }
                    let line = src + iy * g.inWidth
                    for kx in 0..<kw {
                        let valid = columns[kx]
                        if valid.isEmpty { continue }
                        let w = filter[ky * kw + kx]
                        let shift = kx * g.dilationWidth - g.padLeft
                        if g.strideWidth == 1 {
                            let from = line + shift
                            for ox in valid { row[ox] += w * from[ox] }
                        } else {
                            for ox in valid { row[ox] += w * line[ox * g.strideWidth + shift] }
                        }
                    }
                }
            }
        }
    }

    /// Depthwise convolution, Keras layout: kernel (kh, kw, C, multiplier), output channel
    /// c·multiplier + j. Accumulates a whole row of channels per filter tap (vectorises over C).
    public static func depthwiseNHWC(_ x: UnsafePointer<Float>, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                     _ g: ConvGeometry, out: UnsafeMutablePointer<Float>) {
        let c = g.inChannels, m = g.outChannels / g.inChannels, o = g.outChannels
        let (kh, kw) = (g.kernelHeight, g.kernelWidth)
        Parallel.forEach(g.batch * g.outHeight, work: g.multiplyAdds) { r in
            let n = r / g.outHeight, oy = r % g.outHeight
            let image = x + n * g.inHeight * g.inWidth * c
            for ox in 0..<g.outWidth {
                let dst = out + (r * g.outWidth + ox) * o
                if let bias { dst.update(from: bias, count: o) } else { dst.update(repeating: 0, count: o) }
                for ky in 0..<kh {
                    let iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight
                    if iy < 0 || iy >= g.inHeight { continue }
                    for kx in 0..<kw {
                        let ix = ox * g.strideWidth - g.padLeft + kx * g.dilationWidth
                        if ix < 0 || ix >= g.inWidth { continue }
                        let src = image + (iy * g.inWidth + ix) * c
                        let tap = kernel + (ky * kw + kx) * o
                        if m == 1 {
                            for j in 0..<c { dst[j] += tap[j] * src[j] }
                        } else {
                            for ch in 0..<c { for j in 0..<m { dst[ch * m + j] += tap[ch * m + j] * src[ch] } }
                        }
                    }
                }
            }
        }
    }
}
