import Testing
import ZooCore
@testable import ZooCompute
@testable import ZooKernels
@testable import ZooGraph

/// Keras behaviour zoo's lowering does not emit but a Keras file may hold, against real Keras.
@Suite struct KerasOnlyTests {
    static func layer(_ name: String, _ className: String, _ config: [(String, JSONValue)], _ inbound: [String],
                      weights: [(String, [Int])] = [], shape: [Int]) -> KerasLayer {
        KerasLayer(name: name, className: className, config: config, inbound: inbound, weights: weights, outputShape: shape)
    }
    static func pair(_ a: Int, _ b: Int) -> JSONValue { .array([.int(a), .int(b)]) }

    static func model(_ name: String) -> KerasModel {
        switch name {
        case "keras_conv_same_stride2":
            return KerasModel(name: name, layers: [
                layer("x", "InputLayer", [("batch_shape", .array([.null, .int(8), .int(8), .int(3)]))], [], shape: [8, 8, 3]),
                layer("conv", "Conv2D", [("filters", .int(4)), ("kernel_size", pair(3, 3)), ("strides", pair(2, 2)), ("padding", .string("same")),
                                         ("activation", .string("relu")), ("data_format", .string("channels_last"))], ["x"],
                      weights: [("kernel", [3, 3, 3, 4]), ("bias", [4])], shape: [4, 4, 4]),
            ], inputs: ["x"], outputs: ["conv"])
        case "keras_conv_same_even_kernel":
            return KerasModel(name: name, layers: [
                layer("x", "InputLayer", [("batch_shape", .array([.null, .int(7), .int(7), .int(3)]))], [], shape: [7, 7, 3]),
                layer("conv", "Conv2D", [("filters", .int(4)), ("kernel_size", pair(4, 4)), ("padding", .string("same"))], ["x"],
                      weights: [("kernel", [4, 4, 3, 4]), ("bias", [4])], shape: [7, 7, 4]),
            ], inputs: ["x"], outputs: ["conv"])
        case "keras_pool_same":
            let config: [(String, JSONValue)] = [("pool_size", pair(3, 3)), ("strides", pair(2, 2)), ("padding", .string("same"))]
            return KerasModel(name: name, layers: [
                layer("x", "InputLayer", [("batch_shape", .array([.null, .int(7), .int(8), .int(3)]))], [], shape: [7, 8, 3]),
                layer("max_pool", "MaxPooling2D", config, ["x"], shape: [4, 4, 3]),
                layer("avg_pool", "AveragePooling2D", config, ["x"], shape: [4, 4, 3]),
            ], inputs: ["x"], outputs: ["max_pool", "avg_pool"])
        case "keras_relu_max_value6":
            return KerasModel(name: name, layers: [
                layer("x", "InputLayer", [("batch_shape", .array([.null, .int(32)]))], [], shape: [32]),
                layer("relu", "ReLU", [("max_value", .double(6)), ("negative_slope", .double(0)), ("threshold", .double(0))], ["x"], shape: [32]),
            ], inputs: ["x"], outputs: ["relu"])
        default: // keras_maxpool1d_reshape
            return KerasModel(name: name, layers: [
                layer("x", "InputLayer", [("batch_shape", .array([.null, .null, .int(6)]))], [], shape: [-1, 6]),
                layer("pool", "MaxPooling1D", [("pool_size", .array([.int(1)])), ("strides", .array([.int(4)])), ("padding", .string("valid"))],
                      ["x"], shape: [-1, 6]),
                layer("reshape", "Reshape", [("target_shape", .array([.int(12)]))], ["pool"], shape: [12]),
            ], inputs: ["x"], outputs: ["reshape"])
        }
    }

    @Test(arguments: ComputeFixtures.layerCases.filter { $0["kind"]?.string == "keras_only" }.compactMap { $0["name"]?.string })
    func kerasExecutorReproducesKeras(_ name: String) throws {
        let entry = try #require(ComputeFixtures.entry(name))
        let side = try ComputeFixtures.side(try #require(entry["keras"]?.string))
        let model = Self.model(name)
        let result = try KerasExecutor(model: model, weights: try ComputeFixtures.kerasWeights(model, from: side.weights)).run(side.inputs)
        #expect(result.outputs.count == side.outputs.count)
        for (expected, actual) in zip(side.outputs, result.outputs) {
            let error = try relativeError(expected, actual)
            #expect(error <= FixtureTests.tolerance, "\(name): max|Δ|/max|y| = \(error)")
            FixtureTests.note("keras \(name): \(error)")
        }
    }
}
