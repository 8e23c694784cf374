import Foundation
import Testing
@testable import TorchIO
import ZooCore

/// Every checkpoint written by real PyTorch (scripts/make_torch_fixtures.py) reads back with the
/// names, dtypes, shapes and element values PyTorch recorded.
@Suite struct ReaderTests {
    @Test func manifestIsPresentAndCoversEveryFormat() {
        let formats = Set(Fixtures.good.map(\.format))
        #expect(formats == ["zip", "legacy", "safetensors"])
        #expect(Fixtures.hostile.count >= 4)
        #expect(Fixtures.bad.count >= 10)
        let dtypes = Set(Fixtures.good.flatMap { $0.tensors.map(\.dtype) })
        #expect(dtypes.isSuperset(of: ["float32", "float16", "bfloat16", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]))
    }

    @Test(arguments: Fixtures.good.map(\.file))
    func readsWhatPyTorchWrote(_ file: String) throws {
        let expected = try #require(Fixtures.good.first { $0.file == file })
        let checkpoint = try Checkpoint.open(Fixtures.path(file), key: expected.key)
        #expect(checkpoint.format.rawValue == expected.format)
        let names = checkpoint.entries.map(\.name)
        if expected.orderMatters && expected.format != "safetensors" {
            #expect(names == expected.tensors.map(\.name))
        } else {
            #expect(names.sorted() == expected.tensors.map(\.name).sorted())
        }
        for want in expected.tensors {
            let entry = try #require(checkpoint.entry(named: want.name), "missing \(want.name)")
            #expect(entry.dtype.rawValue == want.dtype, "\(want.name)")
            #expect(entry.shape == want.shape, "\(want.name)")
            let tensor = try checkpoint.tensor(entry)
            #expect(tensor.shape == want.shape)
            if let values = want.values {
                let got = try tensor.doubles()
                #expect(got == values, "\(file): \(want.name)")
            }
        }
        // reading everything at once (shared storages cached) gives the same bytes
        let all = try checkpoint.allTensors()
        for (name, tensor) in all {
            #expect(try checkpoint.tensor(named: name) == tensor)
        }
    }

    @Test(arguments: Fixtures.hostile.map(\.file))
    func refusesHostilePicklesWithoutRunningThem(_ file: String) throws {
        let hostile = try #require(Fixtures.hostile.first { $0.file == file })
        try? FileManager.default.removeItem(atPath: hostile.sideEffect)
        let error = try #require(throws: ZooError.self) { try Checkpoint.open(Fixtures.path(file)) }
        #expect(error.kind == .refused)
        #expect(error.message.contains("'\(hostile.global)'"), "\(error.message)")
        #expect(!FileManager.default.fileExists(atPath: hostile.sideEffect))
    }

    @Test(arguments: Fixtures.bad)
    func badFilesGiveOneClearSentence(_ file: String) throws {
        let error = try #require(throws: ZooError.self) {
            let checkpoint = try Checkpoint.open(Fixtures.path(file))
            _ = try checkpoint.allTensors()
        }
        #expect(error.message.hasPrefix(Fixtures.path(file)))
        #expect(!error.message.contains("\n"))
        #expect(error.message.contains("expected") || error.message.contains("truncated"), "\(error.message)")
    }

    @Test func missingFileIsAnIOError() throws {
        let error = try #require(throws: ZooError.self) { try Checkpoint.open("/nonexistent/zoo.pth") }
        #expect(error.kind == .io)
    }
}
