// Hugging Face Swin (transformers/models/swin/modeling_swin.py, SwinModel; model_type swin): a
// patch-sized stride-patch conv (`embeddings.patch_embeddings.projection`) and a LayerNorm
// (`embeddings.norm`), then stages (`encoder.layers.N`) of blocks (`blocks.M`: layernorm_before
// → shifted-window attention with separate query/key/value/output Linears and a relative
// position bias → residual; layernorm_after → Linear, GELU, Linear → residual; every second
// block shifted by half a window), each stage but the last ending in `downsample` (torchvision's
// PatchMerging: gather, norm 4C, reduction without bias), a final `layernorm`, and the pooler: the
// tokens' mean. The network is torchvision's Swin (Swin.swift) — windows, shifts, masks and
// padding alike — where every stage's map is at least as large as the window; Hugging Face
// shrinks the window to a smaller map, where its bias table no longer fits, so such sizes are
// refused. SwinModel returns the last hidden state as tokens [H·W, C] and the pooled output [C];
// SwinForImageClassification the logits of `classifier` on the pooled output. Input
// `pixel_values`, NCHW in PyTorch, NHWC in Keras.
//
// Names: files hold transformers 4's names (`swin.encoder.layers.N.blocks.M.attention.self.query`,
// `attention.output.dense`, `intermediate.dense`, `output.dense`, and the index buffer
// `attention.self.relative_position_index`); transformers 5 builds `attention.q_proj … o_proj`,
// `attention.relative_position_bias.relative_position_bias_table`, `mlp.fc1/fc2`, and computes the
// index from the window (a buffer it neither saves nor loads). zoo states transformers 5's tree
// and reads either spelling; a stored index is transformers' own and is ignored, as it is there.
import ZooCore
import ZooGraph

enum HuggingFaceSwin {
    /// microsoft/swin-tiny-patch4-window7-224.
    static let base = config(embed: 96, depths: [2, 2, 6, 2], heads: [3, 6, 12, 24], window: 7, patch: 4)

    static func config(embed: Int, depths: [Int], heads: [Int], window: Int, patch: Int) -> TransformerConfig {
        var c = TransformerConfig(vocabularySize: 1, hiddenSize: embed, layers: depths.reduce(0, +), heads: heads.first ?? 0, intermediateSize: 4 * embed,
                                  maxPositions: 0, typeVocabularySize: 1, layerNormEps: 1e-5, activation: .gelu, pooler: true)
        (c.stageDepths, c.stageHeads, c.windowSize, c.patchSize) = (depths, heads, window, patch)
        return c
    }

    static let architecture = Architecture(
        name: "swin_hf", family: "swin_hf",
        summary: "Hugging Face Swin (SwinModel, SwinForImageClassification; model_type swin), sized by config.json or the weights",
        defaults: ArchitectureOptions(imageSize: 224, transformer: base),
        make: { options in try build(options.transformer!, image: options.image!) },
        infer: { infer($0) },
        normalizeKey: { normalize($0) },
        // transformers 4 saved the index, which transformers 5 (and zoo) compute from the window
        tolerated: { $0.hasSuffix(".attention.relative_position_bias.relative_position_index") },
        huggingFace: HuggingFaceConfig(
            modelTypes: ["swin"],
            read: { json, fromWeights in
                var c = try config(fromHuggingFace: json)
                c.task = try task(fromHuggingFace: json, fromWeights: fromWeights.transformer?.task ?? .encoder)
                return ArchitectureOptions(imageSize: try HuggingFaceFields(json).int("image_size", default: 224), transformer: c)
            }),
        // 40 at patch 2, window 4: maps 20, 10, 5 — each padded to whole windows and shifted,
        // the last merged from an odd size
        smallOptions: ArchitectureOptions(imageSize: 40, transformer: config(embed: 16, depths: [2, 2, 2], heads: [2, 4, 4], window: 4, patch: 2))
    )

    /// transformers 4's names (files) → transformers 5's (the module), without `swin.`.
    static func normalize(_ key: String) -> String {
        var k = key.hasPrefix("swin.") ? String(key.dropFirst(5)) : key
        guard k.hasPrefix("encoder.layers."), k.contains(".blocks.") else { return k }
        for (old, new) in [(".attention.self.query.", ".attention.q_proj."), (".attention.self.key.", ".attention.k_proj."),
                           (".attention.self.value.", ".attention.v_proj."), (".attention.output.dense.", ".attention.o_proj."),
                           (".attention.self.relative_position_bias_table", ".attention.relative_position_bias.relative_position_bias_table"),
                           (".attention.self.relative_position_index", ".attention.relative_position_bias.relative_position_index"),
                           (".intermediate.dense.", ".mlp.fc1."), (".output.dense.", ".mlp.fc2.")] where k.contains(old) {
            k = k.replacingAll(old, new)
            return k
        }
        return k
    }

    /// The largest window read from a file (published Swins use 7 to 24): the attention kernels
    /// grow with the window's square, the position index with its fourth power.
    static let maxWindow = 32

    static func block(_ stage: Int, _ block: Int) -> String { "encoder.layers.\(stage).blocks.\(block)" }

    /// Everything but the image size is in the weights: the stages count their blocks, and each
    /// bias table, (2w − 1)² rows of one column per head, says the window and the heads.
    static func infer(_ shapes: TensorShapes) -> ArchitectureOptions {
        var byName: [String: [Int]] = [:]
        for e in shapes.entries { byName[normalize(e.name)] = e.shape }
        guard let projection = byName["embeddings.patch_embeddings.projection.weight"], projection.count == 4,
              projection[1] == 3, projection[2] == projection[3] else { return ArchitectureOptions() }
        var depths: [Int] = [], heads: [Int] = [], window = 0
        while byName["\(block(depths.count, 0)).attention.q_proj.weight"] != nil {
            var n = 0
            while byName["\(block(depths.count, n)).attention.q_proj.weight"] != nil { n += 1 }
            let table = byName["\(block(depths.count, 0)).attention.relative_position_bias.relative_position_bias_table"] ?? [0, 0]
            let side = Int(Double(max(table[0], 0)).squareRoot().rounded())
            if table.count == 2, side * side == table[0], side % 2 == 1, side <= 2 * maxWindow - 1 { window = (side + 1) / 2 }
            heads.append(table.count == 2 ? table[1] : 0)
            depths.append(n)
        }
        guard !depths.isEmpty, window > 0 else { return ArchitectureOptions() }
        var c = config(embed: projection[0], depths: depths, heads: heads, window: window, patch: projection[2])
        if let fc1 = byName["\(block(0, 0)).mlp.fc1.weight"], fc1.count == 2, projection[0] > 0 { c.mlpRatio = Double(fc1[0]) / Double(projection[0]) }
        if let classifier = byName["classifier.weight"], classifier.count == 2 { c.task = .sequenceClassification(labels: classifier[0]) }
        return ArchitectureOptions(transformer: c)
    }

    static func config(fromHuggingFace json: JSONValue) throws -> TransformerConfig {
        let f = HuggingFaceFields(json)
        func list(_ key: String, _ fallback: [Int]) throws -> [Int] {
            guard let v = json[key] else { return fallback }
            guard let a = v.array, !a.isEmpty, a.count <= 16, let ints = Optional(a.compactMap(\.int)), ints.count == a.count,
                  ints.allSatisfy({ (1...1024).contains($0) }) else {
                throw ZooError(.format, "config.json: expected '\(key)' to be a list of 1 to 16 integers from 1 to 1024, found \(v.serialized.prefix(40))")
            }
            return ints
        }
        let depths = try list("depths", base.stageDepths), heads = try list("num_heads", base.stageHeads)
        guard depths.count == heads.count else {
            throw ZooError(.mismatch, "config.json: expected as many num_heads as depths (a stage each), found \(heads.count) and \(depths.count)")
        }
        var c = config(embed: try f.int("embed_dim", default: 96, limit: 1 << 16), depths: depths, heads: heads,
                       window: try f.int("window_size", default: 7, limit: maxWindow), patch: try f.int("patch_size", default: 4, limit: 1024))
        c.layerNormEps = try f.epsilon("layer_norm_eps", default: c.layerNormEps)
        c.activation = try f.activation("hidden_act")
        if let r = json["mlp_ratio"] {
            guard let ratio = r.double, ratio > 0, ratio <= 64 else { throw ZooError(.format, "config.json: expected 'mlp_ratio' to be a number from 0 to 64, found \(r.serialized.prefix(40))") }
            c.mlpRatio = ratio
        }
        if try f.int("num_channels", default: 3) != 3 {
            throw ZooError(.mismatch, "config.json says num_channels \(json["num_channels"]!.serialized); zoo converts Swins of RGB images (3 channels)")
        }
        if json["qkv_bias"]?.bool == false {
            throw ZooError(.mismatch, "config.json says qkv_bias false; zoo converts Swin attention with query/key/value biases")
        }
        if json["use_absolute_embeddings"]?.bool == true {
            throw ZooError(.mismatch, "config.json says use_absolute_embeddings true; zoo converts Swins with the relative position bias alone")
        }
        return c
    }

    /// The task config.json's `architectures` names; the weights' when it names none.
    static func task(fromHuggingFace json: JSONValue, fromWeights: EncoderTask) throws -> EncoderTask {
        guard let named = json["architectures"]?.array?.first?.string else { return fromWeights }
        switch named {
        case "SwinModel": return .encoder
        case "SwinForImageClassification":
            if case .sequenceClassification = fromWeights { return fromWeights }
            return .sequenceClassification(labels: try HuggingFaceFields(json).labels())
        default:
            throw ZooError(.mismatch, "config.json: architectures names '\(shown: named)'; zoo converts SwinModel and SwinForImageClassification of the Hugging Face Swin family")
        }
    }

    static func build(_ c: TransformerConfig, image: ImageSize) throws -> Graph {
        let (p, w) = (c.patchSize, c.windowSize)
        guard p > 0, w > 0, !c.stageDepths.isEmpty, c.stageDepths.count == c.stageHeads.count else {
            throw ZooError(.mismatch, "swin_hf: expected a patch size, a window and a head count per stage, found patch \(p), window \(w), \(c.stageDepths.count) stages and \(c.stageHeads.count) head counts")
        }
        guard image.height % p == 0, image.width % p == 0, min(image.height, image.width) >= p else {
            throw ZooError(.usage, "swin_hf: expected an image size that is a multiple of the patch size \(p), found \(image)")
        }
        let g = GraphBuilder(name: "swin_hf")
        var x = g.input("pixel_values", kind: .image, shape: [3, image.height, image.width])
        x = g.conv2d(x, torch: "embeddings.patch_embeddings.projection", keras: "patch_embeddings", out: c.hiddenSize, kernel: p, stride: p, bias: true)
        x = g.permuteToChannelsLast(x, keras: "patch_map")
        x = g.layerNorm(x, torch: "embeddings.norm", keras: "embeddings_norm", eps: c.layerNormEps)
        for (stage, depth) in c.stageDepths.enumerated() {
            let dim = c.hiddenSize << stage, map = g.shape(x)
            guard min(map[0], map[1]) >= w else {
                throw ZooError(.usage, "swin_hf: stage \(stage + 1) of a \(image) image is \(map[0])×\(map[1]), smaller than the \(w)×\(w) window, where Hugging Face's Swin shrinks the window its bias table was made for; give a larger --image-size")
            }
            for i in 0..<depth {
                let b = block(stage, i), keras = "stage_\(stage)_block_\(i)"
                // SwinLayer registers attention, layernorm_before, layernorm_after, mlp
                g.declareModules(["attention", "layernorm_before", "layernorm_after", "mlp"].map { "\(b).\($0)" })
                let projections = AttentionOp.Projections(query: "\(b).attention.q_proj", key: "\(b).attention.k_proj",
                                                          value: "\(b).attention.v_proj", output: "\(b).attention.o_proj")
                var y = g.layerNorm(x, torch: "\(b).layernorm_before", keras: "\(keras)_layernorm_before", eps: c.layerNormEps)
                y = g.windowAttention(y, torch: "\(b).attention", keras: "\(keras)_attention", heads: c.stageHeads[stage], window: w,
                                      shift: i % 2 == 0 ? 0 : w / 2, projections: projections,
                                      tablePath: "relative_position_bias.relative_position_bias_table", indexStored: false)
                x = g.add(x, y, keras: "\(keras)_attention_add")
                var z = g.layerNorm(x, torch: "\(b).layernorm_after", keras: "\(keras)_layernorm_after", eps: c.layerNormEps)
                z = g.linear(z, torch: "\(b).mlp.fc1", keras: "\(keras)_mlp_fc1", out: Int(c.mlpRatio * Double(dim)), activation: c.activation)
                x = g.add(x, g.linear(z, torch: "\(b).mlp.fc2", keras: "\(keras)_mlp_fc2", out: dim), keras: "\(keras)_mlp_add")
            }
            if stage < c.stageDepths.count - 1 {
                let d = "encoder.layers.\(stage).downsample"
                g.declareModules(["\(d).reduction", "\(d).norm"])
                x = g.patchGather(x, keras: "stage_\(stage)_downsample_gather")
                x = g.layerNorm(x, torch: "\(d).norm", keras: "stage_\(stage)_downsample_norm", eps: c.layerNormEps)
                x = g.linear(x, torch: "\(d).reduction", keras: "stage_\(stage)_downsample_reduction", out: 2 * dim, bias: false)
            }
        }
        x = g.layerNorm(x, torch: "layernorm", keras: "layernorm", eps: c.layerNormEps)
        // the pooler: AdaptiveAvgPool1d over the tokens, the mean of the map
        let pooled = g.flatten(g.adaptiveAvgPool2d(g.permuteToChannelsFirst(x, keras: "pooler_map"), keras: "pooler", height: 1, width: 1),
                               keras: "pooler_output")
        switch c.task {
        case .encoder:
            return try g.build(outputs: [g.mapTokens(x, keras: "last_hidden_state"), pooled])
        case .sequenceClassification(let labels):
            return try g.build(outputs: [g.linear(pooled, torch: "classifier", keras: "classifier", out: labels)])
        case .tokenClassification, .questionAnswering, .maskedLM, .causalLM:
            throw ZooError(.mismatch, "the Hugging Face Swin family has no \(c.task.className("Swin")) head (zoo converts SwinModel and SwinForImageClassification)")
        }
    }
}
