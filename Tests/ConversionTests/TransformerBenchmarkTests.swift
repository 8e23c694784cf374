import Foundation
import Testing
import Architectures
import Conversion
import KerasIO
import TorchIO
import ZooCompute
import ZooCore
import ZooGraph

/// Forward-pass timings of the transformer zoo for scripts/bench_transformers.sh; runs only with
/// ZOO_BENCH=1 (build with -c release). Each model at its published size (bert-base, gpt2,
/// vit_b_16) with seeded random weights, written as a checkpoint and converted to a `.keras` the
/// way a user converts one; the PyTorch-layout pass runs the checkpoint, the Keras-layout pass the
/// file's own model, on what verification feeds them (batch 1, T = ZOO_BENCH_TOKENS, default 128;
/// 224² images). Prints `BENCH key=value …` lines the script turns into ratios.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["ZOO_BENCH"] == "1"))
struct TransformerBenchmarkTests {
    static let models: [String] = (ProcessInfo.processInfo.environment["ZOO_BENCH_TRANSFORMERS"]?.split(separator: " ").map(String.init)
        ?? ["bert", "gpt2", "vit_b_16"]).filter { Registry.named($0) != nil }

    /// Multiply-adds ×2 of the projections, the MLPs and the two attention products (the rest is noise).
    static func flops(_ graph: Graph, tokens: Int) -> Double {
        // per-sample rows of a node's output, a dynamic sequence axis at `tokens`
        func rows(_ shape: [Int]) -> Double { Double(shape.dropLast().map { $0 < 0 ? tokens : $0 }.reduce(1, *)) }
        return graph.nodes.reduce(0.0) { total, node in
            if let a = node.as(AttentionOp.self) {
                let (t, d) = (rows(node.shape), Double(a.dimension))
                return total + 2 * (4 * t * d * d + 2 * t * t * d)
            }
            if let l = node.as(LinearOp.self) { return total + 2 * rows(node.shape) * Double(l.inFeatures * l.outFeatures) }
            if let c = node.as(Conv2DOp.self) {
                return total + 2 * Double(node.shape.reduce(1, *) * c.inChannels / c.groups * c.kernel.0 * c.kernel.1)
            }
            return total
        }
    }

    @Test(arguments: models)
    func forward(_ name: String) throws {
        let arch = try #require(Registry.named(name))
        let options = arch.defaults
        let graph = try arch.graph(options)
        let tokens = Int(ProcessInfo.processInfo.environment["ZOO_BENCH_TOKENS"] ?? "") ?? 128
        let dir = NSTemporaryDirectory() + "zoo-bench-\(name)-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pth = dir + "/model.pth", keras = dir + "/model.keras"
        try PthWriter.write(graph.randomStateDict(seed: 11), to: pth, overwrite: true)
        let checkpoint = try Checkpoint.open(pth)
        var request = ConversionRequest(checkpoint: pth, output: keras, format: .keras)
        request.verify = false
        _ = try Converter.convert(request, checkpoint: checkpoint, architecture: arch, options: options)

        let inputs = try VerificationInputs(graph: graph, seed: 3, batch: 1, sequenceLength: tokens)
        let report = arch.match(try Converter.shapes(of: checkpoint, for: arch), graph: graph)
        let torch = try KerasWeightBuilder.torchExecutor(checkpoint: checkpoint, graph: graph, report: report)
        let reader = try KerasFile.reader(keras)
        let model = try #require(reader.model)
        let file = try KerasWeightBuilder.kerasExecutor(model: model, file: reader)
        let runs = max(1, Int(ProcessInfo.processInfo.environment["ZOO_BENCH_RUNS"] ?? "") ?? 5)
        var torchTimes: [Double] = [], kerasTimes: [Double] = []
        var last: (ExecutionResult, ExecutionResult)?
        for i in 0...runs { // the first run warms caches and page-faults the buffers
            let t = try torch.run(inputs.torch, recordIntermediates: false)
            let k = try file.run(inputs.keras, recordIntermediates: false)
            if i > 0 { torchTimes.append(t.milliseconds); kerasTimes.append(k.milliseconds) }
            last = (t, k)
        }
        let (t, k) = (try last!.0.outputs[0].floats(), try last!.1.outputs[0].floats())
        let scale = t.map(abs).max() ?? 1
        let agreement = (zip(t, k).map { abs($0 - $1) }.max() ?? .infinity) / scale
        let gflop = Self.flops(graph, tokens: tokens) / 1e9
        print("BENCH kind=forward model=\(name) tokens=\(graph.inputSpecs.contains { $0.kind == .tokens } ? tokens : 0) gflop=\(gflop) "
              + "torch_ms=\(torchTimes.min()!) keras_ms=\(kerasTimes.min()!) torch_vs_keras_rel=\(agreement) threads=\(Parallel.cores)")
    }
}
