// swift-tools-version:5.4
// libFuzzer binaries for zoo's readers of untrusted files, one per parser, each a thin shell around
// an entry point of the main package's ZooFuzzing module (which the regression tests replay too).
// Built and run by scripts/fuzz.sh:
//   swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
//     --package-path Fuzz --scratch-path .build-fuzz
// Tools version 5.4 on purpose: from 5.5 on SwiftPM links every executable with
// `--defsym main=<module>_main`, a symbol that does not exist under -parse-as-library (libFuzzer
// supplies main), so linking fails (swiftlang/swift#75800).
import PackageDescription

let targets = ["pickle", "legacy_pth", "zip_pth", "zip_directory", "safetensors", "keras", "weights_h5", "legacy_h5", "config_json"]

let package = Package(
    name: "ZooFuzz",
    dependencies: [.package(name: "zoo", path: "..")],
    targets: targets.map { name in
        .executableTarget(name: "fuzz_\(name)", dependencies: [.product(name: "ZooFuzzing", package: "zoo")], path: "Sources/fuzz_\(name)")
    }
)
