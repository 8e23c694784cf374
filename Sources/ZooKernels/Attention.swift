// Scaled dot-product attention over projected queries, keys and values. Both frameworks keep a
// masked key out of the softmax by giving its score a huge negative value (Hugging Face adds
// float32's lowest value, Keras 3 substitutes −0.7·float32.max with `where`), so a padded key gets
// weight exactly 0 and a row with every key masked becomes uniform.

public enum Attention {
    /// - Parameters:
    ///   - q, k: [batch·steps, heads·keyDim], heads contiguous along a row (PyTorch's head-major
    ///     columns and Keras's (heads, key_dim) axes are the same memory).
    ///   - v: [batch·steps, heads·valueDim].
    ///   - keep: [batch·steps] key padding mask, true where a key may be attended to.
    ///   - maskedScore: the score a masked key gets.
    ///   - causal: query t attends to keys 0…t only (GPT-2's causal mask; Keras's
    ///     `use_causal_mask`), on top of `keep`.
    /// - Returns: the per-head contexts [batch·steps, heads·valueDim].
    public static func scaledDotProduct(q: [Float], k: [Float], v: [Float], batch: Int, steps: Int, heads: Int,
                                 keyDim: Int, valueDim: Int, keep: [Bool]?, maskedScore: Float, causal: Bool = false) -> [Float] {
        var context = [Float](repeating: 0, count: batch * steps * heads * valueDim)
        let scale = 1 / Float(keyDim).squareRoot()
        let qkStride = heads * keyDim, vStride = heads * valueDim
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    context.withUnsafeMutableBufferPointer { cb in
                        let qp = qb.baseAddress!, kp = kb.baseAddress!, vp = vb.baseAddress!, cp = cb.baseAddress!
                        Parallel.forEach(batch * heads, work: batch * heads * steps * steps * keyDim) { task in
                            let n = task / heads, h = task % heads
                            var scores = [Float](repeating: 0, count: steps * steps)
                            scores.withUnsafeMutableBufferPointer { sb in
                                let s = sb.baseAddress!
                                // scores[t, u] = q[t]·k[u] / √keyDim
                                BLAS.sgemm(transB: true, m: steps, n: steps, k: keyDim, alpha: scale,
                                           a: qp + n * steps * qkStride + h * keyDim, lda: qkStride,
                                           b: kp + n * steps * qkStride + h * keyDim, ldb: qkStride, c: s, ldc: steps)
                                for t in 0..<steps {
                                    let row = s + t * steps
                                    if let keep {
                                        for u in 0..<steps where !keep[n * steps + u] { row[u] = maskedScore }
                                    }
                                    if causal { for u in (t + 1)..<max(t + 1, steps) { row[u] = maskedScore } }
                                    Elementwise.softmax(row, count: steps)
                                }
                                BLAS.sgemm(m: steps, n: valueDim, k: steps, a: s, lda: steps,
                                           b: vp + n * steps * vStride + h * valueDim, ldb: vStride,
                                           c: cp + n * steps * vStride + h * valueDim, ldc: vStride)
                            }
                        }
                    }
                }
            }
        }
        return context
    }
}
