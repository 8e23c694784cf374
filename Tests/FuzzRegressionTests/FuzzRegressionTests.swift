import Testing
import ZooCore
import ZooFuzzing

/// The checkout this file belongs to.
let repository = String(#filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/"))

/// Every seed and every saved crash input of each fuzz target goes through the target's entry
/// point, without a fuzzer: a fixed crash stays fixed. A regression that comes back stops this
/// test process; `Fuzz/.build…/fuzz_<target> FILE` (scripts/fuzz.sh builds it) shows which.
@Suite struct FuzzRegressionTests {
    @Test(arguments: fuzzTargets.map(\.name))
    func seedsAndRegressionsAreRefusedOrRead(target: String) throws {
        let inputs = try FuzzInputs(repository: repository)
        let run = try #require(fuzzTargets.first { $0.name == target }).run
        let seeds = try inputs.seeds(of: target)
        #expect(!seeds.isEmpty, "no seeds for \(target) in Fuzz/seeds.txt")
        for seed in seeds { seed.bytes.withUnsafeBytes(run) }
        for path in inputs.regressions(of: target) where inputs.knownCrash(path, of: target) == nil {
            try MappedFile.contents(of: path).withUnsafeBytes(run)
        }
    }

    @Test func regressionFoldersNameTargets() throws {
        let inputs = try FuzzInputs(repository: repository)
        let names = Set(fuzzTargets.map(\.name))
        for folder in inputs.regressionFolders() {
            #expect(names.contains(folder), "Fuzz/regressions/\(folder) is not a fuzz target (\(names.sorted().joined(separator: ", ")))")
        }
        for target in inputs.knownCrashTargets {
            #expect(names.contains(target), "Fuzz/known-crashes.txt names '\(target)', which is not a fuzz target")
        }
    }
}
