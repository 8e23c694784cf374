// Moving a batch of maps between channels-first and channels-last order.

public enum Layout {
    /// [N, C, H, W] → [N, H, W, C].
    public static func nchwToNHWC(_ x: [Float], n: Int, c: Int, h: Int, w: Int) -> [Float] {
        let plane = h * w
        return [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
            x.withUnsafeBufferPointer { src in
                let s = src.baseAddress!, d = out.baseAddress!
                Parallel.forEach(n * plane, work: x.count) { row in
                    let i = row / plane, p = row % plane
                    let from = s + i * c * plane + p, to = d + row * c
                    for ch in 0..<c { to[ch] = from[ch * plane] }
                }
            }
            initialized = x.count
        }
    }

    /// [N, H, W, C] → [N, C, H, W].
    public static func nhwcToNCHW(_ x: [Float], n: Int, h: Int, w: Int, c: Int) -> [Float] {
        let plane = h * w
        return [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
            x.withUnsafeBufferPointer { src in
                let s = src.baseAddress!, d = out.baseAddress!
                Parallel.forEach(n * c, work: x.count) { channelPlane in
                    let i = channelPlane / c, ch = channelPlane % c
                    let from = s + i * plane * c + ch, to = d + channelPlane * plane
                    for p in 0..<plane { to[p] = from[p * c] }
                }
            }
            initialized = x.count
        }
    }
}
