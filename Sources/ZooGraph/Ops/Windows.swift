// Swin's two ops as torchvision builds them (torchvision/models/swin_transformer.py), on maps
// that are channels last in both frameworks ([H, W, C]):
//
// - `ShiftedWindowAttention` (v1): pad the map to whole windows, roll it by −shift, split it
//   into w×w windows, attend within each window with a learned relative position bias
//   (`relative_position_bias_table` indexed by the `relative_position_index` buffer) and, when
//   shifted, a −100 mask between tokens that came from different regions of the rolled map;
//   then merge the windows, roll back and crop. An axis the window covers whole is not shifted.
// - `PatchMerging`'s gather: pad to even, and concatenate x[0::2, 0::2], x[1::2, 0::2],
//   x[0::2, 1::2], x[1::2, 1::2] along channels (its LayerNorm and Linear are ops of their own).
//
// Keras, core layers only: ZeroPadding2D, Cropping2D + Concatenate for each roll, Reshape →
// Permute → Reshape for window partition and merge, and one MultiHeadAttention over axis 2 of
// [windows, w², features]. Its dot product cannot take an additive bias, so each token carries
// fixed features — a one-hot of its position in the window and of its shift region (an
// EinsumDense whose bias is that table) — concatenated to its channels; the query kernel maps
// them to extra key dimensions scaled by √key_dim, and the key kernel maps the key's one-hot
// position to the bias column of that position and its region one-hot to 100·onehot − 100
// (through the key bias), so q·k/√key_dim gains exactly bias(i, j) + mask(i, j). The query's own
// part is scaled by √(key_dim/d) to undo Keras's 1/√key_dim. Values keep the head size
// (value_dim = d; the value kernel has zero rows for the features), so the output projection is
// `proj` as it is. The query, key and value kernels are computed from several checkpoint
// entries at once (`KerasDerived`). The file is larger than the checkpoint by those kernels'
// extra rows and columns (swin_t: 1.3×).
import ZooCore
import ZooKernels

public struct WindowAttentionOp: GraphOp, Equatable {
    public var dimension: Int
    public var heads: Int
    public var window: Int
    /// The module's shift (0 or window/2); `shifts` says what is applied at this size.
    public var shift: Int
    public var height: Int
    public var width: Int
    /// Separate query/key/value/output Linears (Hugging Face); nil: torchvision's packed `qkv`
    /// and `proj`.
    public var projections: AttentionOp.Projections? = nil
    /// The bias table's name under the module: `relative_position_bias_table` (torchvision),
    /// `relative_position_bias.relative_position_bias_table` (transformers 5).
    public var tablePath = "relative_position_bias_table"
    /// Whether the index is a state-dict entry (torchvision's persistent buffer) or computed.
    public var indexStored = true

    public var opName: String { "window_attention" }

    var headDimension: Int { dimension / heads }
    /// Tokens per window.
    var tokens: Int { window * window }
    var paddedHeight: Int { height + (window - height % window) % window }
    var paddedWidth: Int { width + (window - width % window) % window }
    var windowRows: Int { paddedHeight / window }
    var windowColumns: Int { paddedWidth / window }
    var windows: Int { windowRows * windowColumns }
    /// torchvision shifts neither axis the window covers whole.
    var shifts: (Int, Int) { (window >= paddedHeight ? 0 : shift, window >= paddedWidth ? 0 : shift) }
    var shifted: Bool { shifts.0 + shifts.1 > 0 }
    /// Shift regions (one-hot features per token): 3 × 3 when shifted.
    var regions: Int { shifted ? 9 : 0 }
    /// Fixed features per token: its position in the window, then its region.
    var features: Int { tokens + regions }
    /// Per head: the query/key channels, then one per position, then one per region.
    var keyDimension: Int { headDimension + features }
    var tableRows: Int { (2 * window - 1) * (2 * window - 1) }

    /// torchvision's `relative_position_index`: for tokens i, j of a window, the table row of
    /// their offset, (Δrow + w − 1)·(2w − 1) + Δcolumn + w − 1.
    public static func standardIndex(window w: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(w * w * w * w)
        for i in 0..<(w * w) {
            for j in 0..<(w * w) {
                out.append((i / w - j / w + w - 1) * (2 * w - 1) + (i % w - j % w + w - 1))
            }
        }
        return out
    }

    /// Each padded position's region label as torchvision assigns it (slices of the rolled map
    /// in order, later ones overwriting, with Python's slice bounds).
    func regionLabels() -> [Int] {
        let (ph, pw) = (paddedHeight, paddedWidth), (sh, sw) = shifts
        func bounds(_ start: Int, _ end: Int?, _ n: Int) -> Range<Int> {
            func clamp(_ v: Int) -> Int { v < 0 ? max(0, v + n) : min(v, n) }
            let (a, b) = (clamp(start), end.map(clamp) ?? n)
            return a..<max(a, b)
        }
        let hs: [(Int, Int?)] = [(0, -window), (-window, -sh), (-sh, nil)]
        let ws: [(Int, Int?)] = [(0, -window), (-window, -sw), (-sw, nil)]
        var labels = [Int](repeating: 0, count: ph * pw)
        var count = 0
        for h in hs {
            for w in ws {
                for r in bounds(h.0, h.1, ph) { for c in bounds(w.0, w.1, pw) { labels[r * pw + c] = count } }
                count += 1
            }
        }
        return labels
    }

    /// Each window's tokens' region labels, [windows, tokens].
    func windowRegions() -> [Int] {
        let labels = regionLabels(), pw = paddedWidth
        var out = [Int](repeating: 0, count: windows * tokens)
        for wr in 0..<windowRows {
            for wc in 0..<windowColumns {
                for t in 0..<tokens {
                    out[(wr * windowColumns + wc) * tokens + t] = labels[(wr * window + t / window) * pw + wc * window + t % window]
                }
            }
        }
        return out
    }

    // MARK: parameters

    var kernelShape: [Int] { [dimension + features, heads, keyDimension] }
    var biasShape: [Int] { [heads, keyDimension] }
    /// Values keep the head's own size: the fixed features only steer the scores.
    var valueKernelShape: [Int] { [dimension + features, heads, headDimension] }

    /// Where the query, key, value and output projections live: torchvision packs q, k, v into
    /// one `qkv` Linear (3C, C) beside `proj`; Hugging Face has four Linears.
    struct Sources {
        /// Per part (0 q, 1 k, 2 v): the weight's and the bias's names and the part's row offset.
        var weight: [(name: String, offset: Int)]
        var bias: [(name: String, offset: Int)]
        var output: String
        var table: String
        /// nil: the index is not stored (computed from the window, as transformers 5 does).
        var index: String?
    }

    func sources(_ node: Node) -> Sources {
        let p = node.torchPath, c = dimension
        if let q = projections {
            let names = [q.query, q.key, q.value]
            return Sources(weight: names.map { ($0 + ".weight", 0) }, bias: names.map { ($0 + ".bias", 0) }, output: q.output,
                           table: p + "." + tablePath, index: indexStored ? p + ".relative_position_index" : nil)
        }
        return Sources(weight: (0..<3).map { (p + ".qkv.weight", $0 * c * c) }, bias: (0..<3).map { (p + ".qkv.bias", $0 * c) },
                       output: p + ".proj", table: p + "." + tablePath, index: indexStored ? p + ".relative_position_index" : nil)
    }

    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] {
        let (c, h) = (dimension, heads), src = sources(node)
        let layer = Self.attentionLayer(node)
        func entry(_ name: String, _ shape: [Int], keras weight: String, _ transform: Transform, kerasShape: [Int]? = nil, role: ParameterRole,
                   dtype: DType = .float32) -> ParameterSpec {
            ParameterSpec(torchName: name, torchShape: shape, torchDType: dtype, kerasLayer: layer, kerasWeight: weight, kerasShape: kerasShape,
                          transform: transform, role: role, node: node.id)
        }
        let packed = projections == nil
        let (wShape, bShape) = packed ? ([3 * c, c], [3 * c]) : ([c, c], [c])
        let part = packed ? ["slice(q of 3)+", "slice(k of 3)+", "slice(v of 3)+"] : ["", "", ""]
        var table = [entry(src.table, [tableRows, h], keras: "key/kernel", .derived("bias rows of the key kernel (by relative_position_index)"),
                           kerasShape: kernelShape, role: .table)]
        if let index = src.index {
            table.append(entry(index, [tokens * tokens], keras: "key/kernel", .derived("indexes the bias table"), kerasShape: kernelShape,
                               role: .index(values: Self.standardIndex(window: window)), dtype: .int64))
        }
        let valueBias: Transform = packed ? .slice(part: 2, of: 3, then: .headsBias(heads: h)) : .headsBias(heads: h)
        let projections = [
            entry(src.weight[0].name, wShape, keras: "query/kernel", .derived(part[0] + "transpose+split_heads(\(h)), scaled, + position/region one-hots"),
                  kerasShape: kernelShape, role: .weight),
            entry(src.bias[0].name, bShape, keras: "query/bias", .derived(part[0] + "split_heads(\(h)), scaled, zero-padded"), kerasShape: biasShape, role: .bias),
            entry(src.weight[1].name, wShape, keras: "key/kernel", .derived(part[1] + "transpose+split_heads(\(h)) + bias table + region mask"),
                  kerasShape: kernelShape, role: .weight),
            entry(src.bias[1].name, bShape, keras: "key/bias", .derived(part[1] + "split_heads(\(h)), region offset"), kerasShape: biasShape, role: .bias),
            entry(src.weight[2].name, wShape, keras: "value/kernel", .derived(part[2] + "transpose+split_heads(\(h)), zero rows for the fixed features"),
                  kerasShape: valueKernelShape, role: .weight),
            entry(src.bias[2].name, bShape, keras: "value/bias", valueBias, role: .bias),
            entry(src.output + ".weight", [c, c], keras: "attention_output/kernel", .headsOutputKernel(heads: h), role: .weight),
            entry(src.output + ".bias", [c], keras: "attention_output/bias", .identity, role: .bias),
        ]
        // torchvision registers the table and the index before qkv and proj; Hugging Face's
        // relative_position_bias module comes after the four Linears
        return packed ? table + projections : projections + table
    }

    /// The MultiHeadAttention layer's name (the node's own name goes to its output).
    static func attentionLayer(_ node: Node) -> String { node.kerasName + "_attention" }

    /// The relative position index as floats, checked to point into the table.
    static func checkedIndex(_ positions: [Float], rows: Int, name: String) throws -> [Int] {
        try positions.enumerated().map { at, v in
            guard v >= 0, v < Float(rows), v == v.rounded() else {
                throw ZooError(.mismatch, "'\(name)': expected indices from 0 to \(rows - 1) into the bias table, found \(v) at \(at)")
            }
            return Int(v)
        }
    }

    public func derived(of node: Node, in graph: Graph) -> [KerasDerived] {
        let (c, h, d, n, kd, f) = (dimension, heads, headDimension, tokens, keyDimension, features)
        let (rows, regions, tableRows) = (c + f, self.regions, self.tableRows)
        let src = sources(node), standard = Self.standardIndex(window: window)
        let (w, b) = (src.weight, src.bias)
        let layer = Self.attentionLayer(node)
        let scale = Float((Double(kd) / Double(d)).squareRoot()), root = Float(Double(kd).squareRoot())
        // kernel[row, head, k] of a part's (C, C) block starting at `offset`
        @Sendable func main(_ weight: [Float], offset: Int, into out: inout [Float], width: Int, times s: Float) {
            for row in 0..<c { for hh in 0..<h { for k in 0..<d { out[(row * h + hh) * width + k] = weight[offset + (hh * d + k) * c + row] * s } } }
        }
        @Sendable func bias(_ values: [Float], offset: Int, times s: Float) -> [Float] {
            var out = [Float](repeating: 0, count: h * kd)
            for hh in 0..<h { for k in 0..<d { out[hh * kd + k] = values[offset + hh * d + k] * s } }
            return out
        }
        let (qOffset, kOffset, vOffset) = (w[0].offset, w[1].offset, w[2].offset)
        let (qbOffset, kbOffset) = (b[0].offset, b[1].offset)
        let indexName = src.index
        return [
            KerasDerived(layer: layer, weight: "query/kernel", shape: kernelShape, sources: [w[0].name]) { s in
                var out = [Float](repeating: 0, count: rows * h * kd)
                main(s[0], offset: qOffset, into: &out, width: kd, times: scale)
                // each fixed feature lands in its own key dimension of every head
                for e in 0..<f { for hh in 0..<h { out[((c + e) * h + hh) * kd + d + e] = root } }
                return out
            },
            KerasDerived(layer: layer, weight: "key/kernel", shape: kernelShape, sources: [w[1].name, src.table] + (indexName.map { [$0] } ?? [])) { s in
                var out = [Float](repeating: 0, count: rows * h * kd)
                main(s[0], offset: kOffset, into: &out, width: kd, times: 1)
                let table = s[1]
                let positions = try indexName.map { try Self.checkedIndex(s[2], rows: tableRows, name: $0) } ?? standard
                // key j's position one-hot → bias(i, j) in query position i's dimension
                for j in 0..<n {
                    for i in 0..<n {
                        let r = positions[i * n + j]
                        for hh in 0..<h { out[((c + j) * h + hh) * kd + d + i] = table[r * h + hh] }
                    }
                }
                for r in 0..<regions { for hh in 0..<h { out[((c + n + r) * h + hh) * kd + d + n + r] = 100 } }
                return out
            },
            KerasDerived(layer: layer, weight: "value/kernel", shape: valueKernelShape, sources: [w[2].name]) { s in
                var out = [Float](repeating: 0, count: rows * h * d)
                main(s[0], offset: vOffset, into: &out, width: d, times: 1)
                return out
            },
            KerasDerived(layer: layer, weight: "query/bias", shape: biasShape, sources: [b[0].name]) { s in bias(s[0], offset: qbOffset, times: scale) },
            KerasDerived(layer: layer, weight: "key/bias", shape: biasShape, sources: [b[1].name]) { s in
                var out = bias(s[0], offset: kbOffset, times: 1)
                // 100·onehot(region of j) − 100: 0 where the regions agree, −100 where they differ
                for hh in 0..<h { for r in 0..<regions { out[hh * kd + d + n + r] = -100 } }
                return out
            },
        ]
    }

    public func constants(of node: Node, in graph: Graph) -> [KerasConstant] {
        let (n, f) = (tokens, features)
        let regionOf = windowRegions()
        var table = [Float](repeating: 0, count: windows * n * f)
        for w in 0..<windows {
            for t in 0..<n {
                table[(w * n + t) * f + t] = 1
                if regions > 0 { table[(w * n + t) * f + n + regionOf[w * n + t]] = 1 }
            }
        }
        let layer = node.kerasName + "_position"
        return [KerasConstant(layer: layer, weight: "kernel", shape: [dimension, f], values: [Float](repeating: 0, count: dimension * f)),
                KerasConstant(layer: layer, weight: "bias", shape: [windows, n, f], values: table)]
    }

    // MARK: PyTorch

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        guard x.shape.count == 4, x.shape[1] == height, x.shape[2] == width, x.shape[3] == dimension else {
            throw ZooError(.mismatch, "expected a map [N, \(height), \(width), \(dimension)], found \(shapeDescription(x.shape))")
        }
        let (batch, c, h, d, n) = (x.shape[0], dimension, heads, headDimension, tokens)
        let (ph, pw) = (paddedHeight, paddedWidth), (sh, sw) = shifts
        let src = sources(node)
        let table = weights[src.table]
        let positions = try src.index.map { try Self.checkedIndex(weights[$0], rows: tableRows, name: $0) } ?? Self.standardIndex(window: window)
        /// Each window token's place in the map (padded, rolled by −shift: window-major token
        /// offset, map offset), for the tokens that are not padding.
        func eachToken(_ body: (_ token: Int, _ pixel: Int) -> Void) {
            for b in 0..<batch {
                for wr in 0..<windowRows {
                    for wc in 0..<windowColumns {
                        for t in 0..<n {
                            let (r, col) = ((wr * window + t / window + sh) % ph, (wc * window + t % window + sw) % pw)
                            guard r < height, col < width else { continue }
                            body(((b * windows + wr * windowColumns + wc) * n + t) * c, ((b * height + r) * width + col) * c)
                        }
                    }
                }
            }
        }
        // pad (zeros at the bottom and right), roll by −shift, partition: window-major tokens
        let rows = batch * windows * n
        var tokensIn = [Float](repeating: 0, count: rows * c)
        eachToken { to, from in for k in 0..<c { tokensIn[to + k] = x.data[from + k] } }
        // q, k, v side by side per token ([rows, 3C]), from the packed Linear or the three
        var qkv: [Float]
        if projections == nil {
            qkv = Dense.linear(tokensIn, rows: rows, weight: weights[src.weight[0].name], bias: weights[src.bias[0].name], inFeatures: c, outFeatures: 3 * c)
        } else {
            qkv = [Float](repeating: 0, count: rows * 3 * c)
            for part in 0..<3 {
                let y = Dense.linear(tokensIn, rows: rows, weight: weights[src.weight[part].name], bias: weights[src.bias[part].name], inFeatures: c, outFeatures: c)
                for r in 0..<rows { for k in 0..<c { qkv[r * 3 * c + part * c + k] = y[r * c + k] } }
            }
        }
        // bias[h][i][j] = table[index[i·N + j], h]; mask −100 between regions
        var bias = [Float](repeating: 0, count: h * n * n)
        for hh in 0..<h { for i in 0..<(n * n) { bias[hh * n * n + i] = table[positions[i] * h + hh] } }
        let regionOf = shifted ? windowRegions() : []
        var context = [Float](repeating: 0, count: rows * c)
        let scale = 1 / Float(d).squareRoot()
        qkv.withUnsafeBufferPointer { qb in
            context.withUnsafeMutableBufferPointer { cb in
                let q = qb.baseAddress!, out = cb.baseAddress!
                Parallel.forEach(batch * windows * h, work: batch * windows * h * n * n * d) { task in
                    let (bw, hh) = task.quotientAndRemainder(dividingBy: h)
                    let w = bw % windows, base = bw * n
                    var scores = [Float](repeating: 0, count: n * n)
                    scores.withUnsafeMutableBufferPointer { sb in
                        let s = sb.baseAddress!
                        BLAS.sgemm(transB: true, m: n, n: n, k: d, alpha: scale, a: q + base * 3 * c + hh * d, lda: 3 * c,
                                   b: q + base * 3 * c + c + hh * d, ldb: 3 * c, c: s, ldc: n)
                        for i in 0..<n {
                            let row = s + i * n
                            for j in 0..<n {
                                row[j] += bias[(hh * n + i) * n + j]
                                if !regionOf.isEmpty && regionOf[w * n + i] != regionOf[w * n + j] { row[j] += -100 }
                            }
                            Elementwise.softmax(row, count: n)
                        }
                        BLAS.sgemm(m: n, n: d, k: n, a: s, lda: n, b: q + base * 3 * c + 2 * c + hh * d, ldb: 3 * c,
                                   c: out + base * c + hh * d, ldc: c)
                    }
                }
            }
        }
        let projected = Dense.linear(context, rows: rows, weight: weights[src.output + ".weight"], bias: weights[src.output + ".bias"], inFeatures: c, outFeatures: c)
        // merge windows, roll back by +shift, crop
        var y = FloatTensor(zeros: [batch, height, width, c])
        eachToken { from, to in for k in 0..<c { y.data[to + k] = projected[from + k] } }
        return y
    }

    // MARK: Keras

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        let base = node.kerasName, c = dimension
        let (ph, pw) = (paddedHeight, paddedWidth), (sh, sw) = shifts
        let (padBottom, padRight) = (ph - height, pw - width)
        var current = l.input(node)
        func emit(_ suffix: String, _ className: String, _ config: [(String, JSONValue)], _ inbound: [String], _ shape: [Int],
                  weights: [(name: String, shape: [Int])] = []) -> String {
            let name = l.uniqueName(base + "_" + suffix)
            l.emit(KerasLayer(name: name, className: className, config: config, inbound: inbound, weights: weights, outputShape: shape))
            return name
        }
        func ints(_ v: [Int]) -> JSONValue { .array(v.map(JSONValue.int)) }
        func crop(_ t: Int, _ b: Int, _ le: Int, _ r: Int) -> JSONValue { .array([ints([t, b]), ints([le, r])]) }
        /// x ↦ concat(x[k:], x[:k]) along axis 1 (rows) or 2 (columns): torch.roll by −k.
        func roll(_ x: String, axis: Int, by k: Int, size: Int, _ suffix: String) -> String {
            let (h, w) = axis == 1 ? (size, pw) : (ph, size)
            let first = axis == 1 ? crop(k, 0, 0, 0) : crop(0, 0, k, 0), second = axis == 1 ? crop(0, size - k, 0, 0) : crop(0, 0, 0, size - k)
            let firstShape = axis == 1 ? [h - k, w, c] : [h, w - k, c], secondShape = axis == 1 ? [k, w, c] : [h, k, c]
            let a = emit(suffix + "_tail", "Cropping2D", [("cropping", first), ("data_format", .string("channels_last"))], [x], firstShape)
            let b = emit(suffix + "_head", "Cropping2D", [("cropping", second), ("data_format", .string("channels_last"))], [x], secondShape)
            return emit(suffix, "Concatenate", [("axis", .int(axis))], [a, b], [h, w, c])
        }
        if padBottom + padRight > 0 {
            current = emit("pad", "ZeroPadding2D", [("padding", crop(0, padBottom, 0, padRight)), ("data_format", .string("channels_last"))], [current], [ph, pw, c])
        }
        if sh > 0 { current = roll(current, axis: 1, by: sh, size: ph, "roll_rows") }
        if sw > 0 { current = roll(current, axis: 2, by: sw, size: pw, "roll_columns") }
        current = emit("window_split", "Reshape", [("target_shape", ints([windowRows, window, windowColumns, window, c]))], [current],
                       [windowRows, window, windowColumns, window, c])
        current = emit("window_order", "Permute", [("dims", ints([1, 3, 2, 4, 5]))], [current], [windowRows, windowColumns, window, window, c])
        let windowed = emit("windows", "Reshape", [("target_shape", ints([windows, tokens, c]))], [current], [windows, tokens, c])
        let position = emit("position", "EinsumDense", [("output_shape", ints([windows, tokens, features])), ("equation", .string("abcd,de->abce")),
                                                        ("activation", .string("linear")), ("bias_axes", .string("bce"))], [windowed],
                            [windows, tokens, features], weights: l.weights(of: node, layer: base + "_position", order: ["kernel", "bias"]))
        let augmented = emit("features", "Concatenate", [("axis", .int(-1))], [windowed, position], [windows, tokens, c + features])
        let attention = Self.attentionLayer(node)
        l.emit(KerasLayer(name: attention, className: "MultiHeadAttention", config: [
            ("num_heads", .int(heads)), ("key_dim", .int(keyDimension)), ("value_dim", .int(headDimension)), ("use_bias", .bool(true)),
            ("output_shape", ints([c])), ("attention_axes", ints([2])),
        ], inbound: [augmented, augmented], weights: l.weights(of: node, layer: attention, order: [
            "query/kernel", "query/bias", "key/kernel", "key/bias", "value/kernel", "value/bias", "attention_output/kernel", "attention_output/bias",
        ]), outputShape: [windows, tokens, c]))
        current = emit("merge_split", "Reshape", [("target_shape", ints([windowRows, windowColumns, window, window, c]))], [attention],
                       [windowRows, windowColumns, window, window, c])
        current = emit("merge_order", "Permute", [("dims", ints([1, 3, 2, 4, 5]))], [current], [windowRows, window, windowColumns, window, c])
        current = emit("merged", "Reshape", [("target_shape", ints([ph, pw, c]))], [current], [ph, pw, c])
        if sh > 0 { current = roll(current, axis: 1, by: ph - sh, size: ph, "unroll_rows") }
        if sw > 0 { current = roll(current, axis: 2, by: pw - sw, size: pw, "unroll_columns") }
        if padBottom + padRight > 0 {
            current = emit("crop", "Cropping2D", [("cropping", crop(0, padBottom, 0, padRight)), ("data_format", .string("channels_last"))], [current],
                           [height, width, c])
        }
        // the node's value under its own name, for the layer-by-layer comparison
        l.emit(KerasLayer(name: base, className: "Reshape", config: [("target_shape", ints([height, width, c]))], inbound: [current],
                          outputShape: [height, width, c]), producing: node)
    }
}

/// `PatchMerging`'s gather: [H, W, C] → [⌈H/2⌉, ⌈W/2⌉, 4C], the four phases in the order (0,0),
/// (1,0), (0,1), (1,1) (row offset first). Keras: ZeroPadding2D to even, then Reshape to
/// (H/2, 2, W/2, 2, C), Permute to (H/2, W/2, column offset, row offset, C), Reshape.
public struct PatchGatherOp: GraphOp, Equatable {
    public var opName: String { "patch_gather" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        guard x.shape.count == 4 else { throw ZooError(.mismatch, "expected a map [N, H, W, C], found \(shapeDescription(x.shape))") }
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = ((h + 1) / 2, (w + 1) / 2)
        var y = FloatTensor(zeros: [n, oh, ow, 4 * c])
        for b in 0..<n {
            for i in 0..<oh {
                for j in 0..<ow {
                    for (q, (dr, dc)) in [(0, 0), (1, 0), (0, 1), (1, 1)].enumerated() {
                        let (r, col) = (2 * i + dr, 2 * j + dc)
                        guard r < h, col < w else { continue }
                        let from = ((b * h + r) * w + col) * c, to = ((b * oh + i) * ow + j) * 4 * c + q * c
                        for k in 0..<c { y.data[to + k] = x.data[from + k] }
                    }
                }
            }
        }
        return y
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        let s = l.inputNode(node).kerasShape
        let (h, w, c) = (s[0], s[1], s[2]), (oh, ow) = ((h + 1) / 2, (w + 1) / 2)
        var current = l.input(node)
        func ints(_ v: [Int]) -> JSONValue { .array(v.map(JSONValue.int)) }
        if h % 2 + w % 2 > 0 {
            current = l.zeroPadding(node, (0, h % 2, 0, w % 2))
        }
        let split = l.uniqueName(node.kerasName + "_split"), order = l.uniqueName(node.kerasName + "_order")
        l.emit(KerasLayer(name: split, className: "Reshape", config: [("target_shape", ints([oh, 2, ow, 2, c]))], inbound: [current],
                          outputShape: [oh, 2, ow, 2, c]))
        l.emit(KerasLayer(name: order, className: "Permute", config: [("dims", ints([1, 3, 4, 2, 5]))], inbound: [split], outputShape: [oh, ow, 2, 2, c]))
        l.emit(KerasLayer(name: node.kerasName, className: "Reshape", config: [("target_shape", ints([oh, ow, 4 * c]))], inbound: [order],
                          outputShape: [oh, ow, 4 * c]), producing: node)
    }
}

extension GraphBuilder {
    /// torchvision's `ShiftedWindowAttention(C, [w, w], [shift, shift], heads)` on an [H, W, C] map.
    public func windowAttention(_ x: Value, torch: String? = nil, keras: String? = nil, heads: Int, window: Int, shift: Int,
                                projections: AttentionOp.Projections? = nil, tablePath: String = "relative_position_bias_table",
                                indexStored: Bool = true) -> Value {
        let s = shape(x)
        if s.count != 3 || heads <= 0 || s[2] % max(heads, 1) != 0 || window <= 0 || shift < 0 || shift >= window {
            fail("\(torch ?? "attn"): expected an [H, W, C] map with C divisible by \(heads) heads and a shift below the window \(window), found \(shapeDescription(s))")
            return x
        }
        var op = WindowAttentionOp(dimension: s[2], heads: heads, window: window, shift: shift, height: s[0], width: s[1])
        (op.projections, op.tablePath, op.indexStored) = (projections, tablePath, indexStored)
        return add(op, [x], module: true, torch: torch, keras: keras, shape: s, layout: .same)
    }

    /// `PatchMerging`'s pad and four-phase concatenation of an [H, W, C] map.
    public func patchGather(_ x: Value, keras: String? = nil) -> Value {
        let s = shape(x)
        if s.count != 3 { fail("\(keras ?? "patch_gather"): expected an [H, W, C] map, found \(shapeDescription(s))"); return x }
        return add(PatchGatherOp(), [x], module: false, torch: nil, keras: keras, shape: [(s[0] + 1) / 2, (s[1] + 1) / 2, 4 * s[2]], layout: .same)
    }
}

/// An [H, W, C] map as its tokens, [H·W, C] row by row (`hidden_states.view(B, H·W, C)`).
/// Keras: Reshape.
public struct MapTokensOp: GraphOp, Equatable {
    public var opName: String { "map_tokens" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        var x = inputs.take(0)
        guard x.shape.count == 4 else { throw ZooError(.mismatch, "expected a map [N, H, W, C], found \(shapeDescription(x.shape))") }
        x.shape = [x.shape[0], x.shape[1] * x.shape[2], x.shape[3]]
        return x
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "Reshape", config: [("target_shape", .array(node.kerasShape.map(JSONValue.int)))]), producing: node)
    }
}

extension GraphBuilder {
    /// An [H, W, C] map's tokens, [H·W, C].
    public func mapTokens(_ x: Value, keras: String? = nil) -> Value {
        let s = shape(x)
        if s.count != 3 { fail("\(keras ?? "map_tokens"): expected an [H, W, C] map, found \(shapeDescription(s))"); return x }
        return add(MapTokensOp(), [x], module: false, torch: nil, keras: keras, shape: [s[0] * s[1], s[2]], layout: .same)
    }
}
