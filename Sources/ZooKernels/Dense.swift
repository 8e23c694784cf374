// Fully connected layers and embedding lookups.
import ZooCore

public enum Dense {
    /// y[rows, out] = x[rows, in]·Wᵀ + b with PyTorch's `Linear` weight W [out, in].
    public static func linear(_ x: [Float], rows: Int, weight: [Float], bias: [Float]?, inFeatures: Int, outFeatures: Int) -> [Float] {
        multiply(x, rows: rows, weight, transposed: true, bias: bias, inFeatures: inFeatures, outFeatures: outFeatures)
    }

    /// y[rows, out] = x[rows, in]·K + b with Keras's `Dense` kernel K [in, out].
    public static func dense(_ x: [Float], rows: Int, kernel: [Float], bias: [Float]?, inFeatures: Int, outFeatures: Int) -> [Float] {
        multiply(x, rows: rows, kernel, transposed: false, bias: bias, inFeatures: inFeatures, outFeatures: outFeatures)
    }

    private static func multiply(_ x: [Float], rows: Int, _ w: [Float], transposed: Bool, bias: [Float]?,
                                 inFeatures: Int, outFeatures: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outFeatures)
        if let bias {
            for r in 0..<rows { y.withUnsafeMutableBufferPointer { ($0.baseAddress! + r * outFeatures).update(from: bias, count: outFeatures) } }
        }
        x.withUnsafeBufferPointer { a in
            w.withUnsafeBufferPointer { b in
                y.withUnsafeMutableBufferPointer { c in
                    if rows == 1 {
                        // one row (a batch-1 classifier): a matrix-vector product streams the
                        // weight once, where sgemm with a transposed operand does not
                        BLAS.sgemv(trans: !transposed, m: transposed ? outFeatures : inFeatures, n: transposed ? inFeatures : outFeatures,
                                   a: b.baseAddress!, lda: transposed ? inFeatures : outFeatures, x: a.baseAddress!,
                                   beta: bias == nil ? 0 : 1, y: c.baseAddress!)
                        return
                    }
                    BLAS.sgemm(transB: transposed, m: rows, n: outFeatures, k: inFeatures, a: a.baseAddress!, lda: inFeatures,
                               b: b.baseAddress!, ldb: transposed ? inFeatures : outFeatures,
                               beta: bias == nil ? 0 : 1, c: c.baseAddress!, ldc: outFeatures)
                }
            }
        }
        return y
    }

    /// Rows of `table` [count, width] picked by `ids` (integers held in floats).
    /// - Throws: when an id is not an integer in `0..<count`; `layer` names the culprit.
    public static func embedding(_ ids: [Float], table: [Float], count: Int, width: Int, layer: String) throws -> [Float] {
        var y = [Float](repeating: 0, count: ids.count * width)
        try y.withUnsafeMutableBufferPointer { dst in
            try table.withUnsafeBufferPointer { src in
                for (i, id) in ids.enumerated() {
                    guard id >= 0, id < Float(count), id.rounded() == id else {
                        throw ZooError(.mismatch, "\(layer): expected token ids that are integers in 0..<\(count), found \(id) at position \(i)")
                    }
                    (dst.baseAddress! + i * width).update(from: src.baseAddress! + Int(id) * width, count: width)
                }
            }
        }
        return y
    }
}
