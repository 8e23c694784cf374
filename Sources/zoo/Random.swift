import ArgumentParser
import TorchIO
import ZooCore
import ZooGraph

struct Random: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "random",
        abstract: "Write a seeded random checkpoint of an architecture, as torch.save would.",
        discussion: """
        The file is a zip .pth (PyTorch ≥ 1.6 layout) that `torch.load(path, weights_only=True)` \
        reads and `model.load_state_dict` accepts strictly. Weights are scaled by 1/√fan-in; \
        BatchNorm and LayerNorm parameters and running statistics are non-trivial, so a \
        conversion that drops or swaps them is caught. Use it to try zoo without a real \
        checkpoint, and for tests and benchmarks.

        Examples:
          zoo random resnet50 -o resnet50-random.pth
          zoo random bert --config config.json --seed 7 -o bert.pth
        """
    )

    @Argument(help: "A registered architecture (see `zoo list`).")
    var architecture: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The .pth file to write.", valueName: "file"))
    var output: String

    @Option(help: "Seed of the random weights.")
    var seed: UInt64 = 0

    @OptionGroup var sizing: SizingOptions

    @Flag(help: "Replace the output file if it exists.")
    var force = false

    func run() throws {
        try reportingErrors {
            let arch = try lookUpArchitecture(architecture)
            let graph = try arch.graph(try sizing.options(for: arch, shapes: nil, checkpointPath: nil))
            let state = graph.randomStateDict(seed: seed)
            try PthWriter.write(state, moduleVersions: arch.moduleVersions, to: output, overwrite: force)
            print("wrote \(output): \(arch.name), \(state.count) tensors, \(grouped(graph.parameterCount)) parameters, seed \(seed)")
        }
    }
}
