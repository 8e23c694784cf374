// swift-tools-version:6.0
import PackageDescription

// zoo: PyTorch checkpoints in, verified Keras files out. No Python at run time.
// Folder map: C libraries (CHDF5, CZip) and kernels + lazily bound BLAS (CZooKernels) · core (ZooCore) · PyTorch I/O (TorchIO)
// · kernels (ZooKernels) · graph vocabulary (ZooGraph) · Keras I/O (KerasIO) · compute (ZooCompute) · CLI (zoo) · Architectures/ (descriptors). See shared DESIGN.md for the flow.
let package = Package(
    name: "zoo",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "zoo", targets: ["zoo"]),
        .library(name: "TorchIO", targets: ["TorchIO"]),
        // The readers' fuzzing entry points, for the libFuzzer binaries of Fuzz/Package.swift.
        .library(name: "ZooFuzzing", targets: ["ZooFuzzing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZip", path: "Sources/CZip", pkgConfig: "libzip", providers: [.apt(["libzip-dev"])]),

        // C kernels: CRC-32 by carry-less multiplication, the slab permutation, and BLAS bound at
        // first use (libblas.so.3 from libblas-dev / libopenblas0-pthread, see scripts/bootstrap.sh).
        .target(name: "CZooKernels", path: "Sources/CZooKernels", linkerSettings: [.linkedLibrary("z"), .linkedLibrary("dl")]),

        .target(name: "ZooCore", dependencies: ["CHDF5", "CZip", "CZooKernels"]),
        .target(name: "TorchIO", dependencies: ["ZooCore", "CZip"]),
        .target(name: "ZooKernels", dependencies: ["ZooCore", "CZooKernels"]),
        .target(name: "ZooGraph", dependencies: ["ZooCore", "ZooKernels"]),
        .target(name: "KerasIO", dependencies: ["ZooCore", "ZooGraph", "CHDF5", "CZip"]),
        .target(name: "ZooCompute", dependencies: ["ZooCore", "ZooKernels", "ZooGraph", "CZooKernels"]),
        .target(name: "Conversion", dependencies: ["ZooCore", "TorchIO", "ZooGraph", "KerasIO", "ZooCompute", "Architectures"]),
        .target(name: "Architectures", dependencies: ["ZooCore", "ZooGraph"], path: "Architectures"),
        // One entry point per reader of untrusted files, shared by Fuzz/ (libFuzzer) and FuzzRegressionTests.
        .target(name: "ZooFuzzing", dependencies: ["ZooCore", "TorchIO", "ZooGraph", "KerasIO", "Conversion", "Architectures"]),
        .executableTarget(name: "zoo", dependencies: [
            "ZooCore", "TorchIO", "ZooGraph", "KerasIO", "ZooCompute", "Conversion", "Architectures",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "ZooCoreTests", dependencies: ["ZooCore"]),
        .testTarget(name: "ArchitecturesTests", dependencies: ["Architectures", "ZooGraph", "ZooCore", "TorchIO"]),
        .testTarget(name: "TorchIOTests", dependencies: ["TorchIO", "ZooCore"]),
        .testTarget(name: "KerasIOTests", dependencies: ["KerasIO", "ZooGraph", "ZooCore", "Architectures", "CHDF5"]),
        .testTarget(name: "ZooComputeTests", dependencies: ["ZooCompute", "ZooKernels", "ZooGraph", "ZooCore", "Architectures", "TorchIO"]),
        .testTarget(name: "ConversionTests", dependencies: ["Conversion", "TorchIO", "ZooGraph", "ZooCore", "Architectures", "KerasIO", "ZooCompute"]),
        .testTarget(name: "ZooCLITests", dependencies: ["ZooCore", "TorchIO", "KerasIO", "ZooFuzzing"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["ZooFuzzing", "ZooCore"]),
    ],
    swiftLanguageModes: [.v5]
)
