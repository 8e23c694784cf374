import Architectures
import Foundation
import Testing
import ZooCore
@testable import ZooCompute
@testable import ZooKernels
import ZooGraph

/// Forward-pass timings for scripts/bench_forward.sh; runs only with ZOO_BENCH=1 (build with
/// -c release). Prints `BENCH key=value …` lines the script turns into ratios.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["ZOO_BENCH"] == "1"))
struct BenchmarkTests {
    /// Floating-point operations of one forward pass at batch 1 (2 per multiply-add; convs and
    /// linears only, the rest is noise).
    static func flops(_ graph: Graph) -> Double {
        graph.nodes.reduce(0.0) { total, node in
            if let c = node.as(Conv2DOp.self) {
                return total + 2 * Double(node.shape.reduce(1, *) * c.inChannels / c.groups * c.kernel.0 * c.kernel.1)
            }
            if let l = node.as(LinearOp.self) {
                return total + 2 * Double(node.shape.reduce(1, *) / l.outFeatures * l.inFeatures * l.outFeatures)
            }
            return total
        }
    }

    /// The fastest run: the machine may be shared, and interference only ever adds time.
    static func best(_ xs: [Double]) -> Double { xs.min()! }

    @Test func sgemmPeak() {
        let n = 2048
        let a = Recipe.values(seed: 1, count: n * n, center: 0, scale: 1), b = Recipe.values(seed: 2, count: n * n, center: 0, scale: 1)
        var c = [Float](repeating: 0, count: n * n)
        var times: [Double] = []
        for _ in 0..<6 {
            let start = ContinuousClock.now
            BLAS.sgemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: &c, ldc: n)
            times.append(elapsedMilliseconds(since: start))
        }
        let best = times.dropFirst().min()!
        print("BENCH kind=sgemm n=\(n) ms=\(best) gflops=\(2 * pow(Double(n), 3) / best / 1e6) threads=\(Parallel.cores)")
    }

    /// ZOO_BENCH_MODELS (space-separated) or the models whose figures the README quotes.
    static let models: [String] = (ProcessInfo.processInfo.environment["ZOO_BENCH_MODELS"]?.split(separator: " ").map(String.init)
        ?? ["resnet50", "vgg16", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "regnet_y_8gf", "densenet121", "convnext_tiny"])
        .filter { Registry.named($0) != nil }

    @Test(arguments: models)
    func forward(_ name: String) throws {
        let graph = try Registry.named(name)!.graph(ArchitectureOptions(classes: 1000, imageSize: 224))
        let torchWeights = ComparisonTests.randomWeights(graph, seed: 11)
        let model = try graph.kerasModel()
        let kerasWeights = try mappedKerasWeights(graph, torch: torchWeights, model: model)
        let input = ComparisonTests.image([1, 3, 224, 224], seed: 3)
        let torch = try TorchExecutor(graph: graph, weights: torchWeights)
        let keras = try KerasExecutor(model: model, weights: kerasWeights)
        let runs = Int(ProcessInfo.processInfo.environment["ZOO_BENCH_RUNS"] ?? "") ?? 5
        var torchTimes: [Double] = [], kerasTimes: [Double] = []
        var last: (ExecutionResult, ExecutionResult)?
        for i in 0...runs { // the first run warms caches and page-faults the buffers
            let t = try torch.run(["input": input], recordIntermediates: false)
            let k = try keras.run(["input": try channelsLast(input)], recordIntermediates: false)
            if i > 0 { torchTimes.append(t.milliseconds); kerasTimes.append(k.milliseconds) }
            last = (t, k)
        }
        let agreement = difference(name: "logits", reference: last!.0.outputs[0], candidate: last!.1.outputs[0]).relative
        let gflop = Self.flops(graph) / 1e9
        print("BENCH kind=forward model=\(name) gflop=\(gflop) torch_ms=\(Self.best(torchTimes)) keras_ms=\(Self.best(kerasTimes)) "
              + "torch_gflops=\(gflop / Self.best(torchTimes) * 1e3) keras_gflops=\(gflop / Self.best(kerasTimes) * 1e3) "
              + "torch_vs_keras_rel=\(agreement) threads=\(Parallel.cores)")
    }
}
