// nn.TransformerEncoder as users compose it (torch/nn/modules/transformer.py):
//   nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, activation,
//                         norm_first, batch_first=True), num_layers, norm)
// with its state-dict names: layers.N.self_attn (one packed in_proj), linear1, linear2, norm1,
// norm2, and `norm` when a final LayerNorm is given. Sizes come from the weights; what they do
// not record comes from options: the head count (--heads, refused without it), the activation
// (--activation, PyTorch's default relu) and where the norms sit (--norm-first). LayerNorm eps
// is PyTorch's default 1e-5. Inputs [batch, T, d_model]: the Keras model is batch-first, as a
// batch_first=True encoder is called (a batch_first=False one computes the same per sample).
// With --strip-prefix (`encoder.`) this converts the encoder inside a user's own model.
import ZooCore
import ZooGraph

enum TransformerEncoder {
    /// nn.TransformerEncoderLayer's defaults (d_model 512, nhead 8, dim_feedforward 2048, relu,
    /// post-norm), six layers as nn.Transformer builds them.
    static let base: TransformerConfig = {
        var c = TransformerConfig(vocabularySize: 1, hiddenSize: 512, layers: 6, heads: 8, intermediateSize: 2048, maxPositions: 1,
                                  typeVocabularySize: 1, layerNormEps: 1e-5, activation: .relu, pooler: false)
        c.normFirst = false
        return c
    }()

    static let architecture = Architecture(
        name: "transformer_encoder", family: "transformer_encoder",
        summary: "nn.TransformerEncoder of nn.TransformerEncoderLayer (batch_first), sized by the weights; --heads, --activation, --norm-first",
        defaults: ArchitectureOptions(transformer: base),
        make: { options in try build(options.transformer!) },
        infer: { infer($0) },
        smallOptions: ArchitectureOptions(transformer: {
            var c = base
            (c.hiddenSize, c.layers, c.heads, c.intermediateSize, c.finalNorm) = (32, 2, 4, 37, true)
            return c
        }())
    )

    static func infer(_ shapes: TensorShapes) -> ArchitectureOptions {
        guard let packed = shapes["layers.0.self_attn.in_proj_weight"], packed.count == 2 else { return ArchitectureOptions() }
        var c = base
        c.hiddenSize = packed[1]
        c.layers = 0
        while shapes["layers.\(c.layers).self_attn.in_proj_weight"] != nil { c.layers += 1 }
        c.heads = 0 // not recorded in the weights
        c.intermediateSize = shapes["layers.0.linear1.weight"]?.first ?? base.intermediateSize
        c.finalNorm = shapes["norm.weight"] != nil
        return ArchitectureOptions(transformer: c)
    }

    static func build(_ c: TransformerConfig) throws -> Graph {
        let g = GraphBuilder(name: "transformer_encoder")
        let heads = c.heads > 0 ? c.heads : 1 // unknown heads change no shape; conversion insists on knowing them
        let (d, normFirst) = (c.hiddenSize, c.normFirst ?? false)
        var x = g.input("src", kind: .features, shape: [-1, d], fill: .features)
        for i in 0..<c.layers {
            let torch = "layers.\(i)", keras = "layers_\(i)"
            // TransformerEncoderLayer registers self_attn, linear1, linear2, norm1, norm2 in that order
            g.declareModules(["self_attn", "linear1", "linear2", "norm1", "norm2"].map { "\(torch).\($0)" })
            func attention(_ y: Value) -> Value {
                g.attention(y, mask: nil, torch: "\(torch).self_attn", keras: "\(keras)_self_attn", heads: heads, projections: nil)
            }
            func feedForward(_ y: Value) -> Value {
                let hidden = g.linear(y, torch: "\(torch).linear1", keras: "\(keras)_linear1", out: c.intermediateSize, activation: c.activation)
                return g.linear(hidden, torch: "\(torch).linear2", keras: "\(keras)_linear2", out: d)
            }
            func norm(_ y: Value, _ n: Int) -> Value {
                g.layerNorm(y, torch: "\(torch).norm\(n)", keras: "\(keras)_norm\(n)", eps: c.layerNormEps)
            }
            if normFirst {
                x = g.add(x, attention(norm(x, 1)), keras: "\(keras)_attention_add")
                x = g.add(x, feedForward(norm(x, 2)), keras: "\(keras)_feed_forward_add")
            } else {
                x = norm(g.add(x, attention(x), keras: "\(keras)_attention_add"), 1)
                x = norm(g.add(x, feedForward(x), keras: "\(keras)_feed_forward_add"), 2)
            }
        }
        if c.finalNorm { x = g.layerNorm(x, torch: "norm", keras: "norm", eps: c.layerNormEps) }
        return try g.build(outputs: [x])
    }
}
