import Architectures
import Foundation
@testable import KerasIO
import Testing
import ZooCore
import ZooGraph

/// Reading a VGG-16-sized file (553 MB) with zoo's reader against libhdf5, for
/// scripts/bench_h5_read.sh; runs only with ZOO_BENCH=1 (build with -c release). Prints
/// `BENCH …` lines; nothing is asserted.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["ZOO_BENCH"] == "1"))
struct H5ReadBenchmark {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        let elapsed = clock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    @Test(arguments: [KerasFormat.weightsH5, .keras])
    func vgg16(_ format: KerasFormat) throws {
        let model = try Registry.named("vgg16")!.graph(ArchitectureOptions(classes: 1000, imageSize: 224)).kerasModel()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("vgg16" + format.fileExtension)
        try KerasFile.write(model, weights: tiledWeights(model, seed: 1), to: path)
        let runs = Int(ProcessInfo.processInfo.environment["RUNS"] ?? "") ?? 5
        var zoo: [Double] = [], hdf5: [Double] = []
        var checksum: Float = 0
        for _ in 0...runs { // the first of each warms the page cache and is dropped
            zoo.append(try Self.seconds {
                let reader = try KerasFile.reader(path, format: format)
                for layer in model.layers {
                    for i in 0..<reader.count(layer.name) { checksum += try reader.floats(layer.name, i).first ?? 0 }
                }
            })
            hdf5.append(try Self.seconds {
                let listing = try LibHDF5Listing(path: path)
                checksum += listing.floats.values.reduce(0) { $0 + ($1.values.first ?? 0) }
            })
        }
        let bytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        let best = (zoo: zoo.dropFirst().min()!, hdf5: hdf5.dropFirst().min()!)
        print("BENCH kind=h5read format=\(format.rawValue) bytes=\(bytes) zoo_s=\(best.zoo) libhdf5_s=\(best.hdf5) zoo_over_libhdf5=\(best.zoo / best.hdf5) gbps_zoo=\(Double(bytes) / best.zoo / 1e9) checksum=\(checksum)")
    }
}
