import Testing
import TorchIO
import ZooCore
import ZooFuzzing

/// What a user sees for each saved crash input of the checkpoint readers: `zoo inspect FILE`
/// refuses it with exit status 1, nothing on stdout and one sentence on stderr that names the file
/// and says what was expected or found. The few inputs whose index is sound (their crash was in
/// reading a tensor) are listed instead, as the library opens them.
@Suite struct FuzzRegressionCLITests {
    static let checkpointTargets = ["pickle", "legacy_pth", "zip_pth", "zip_directory", "safetensors"]

    @Test(arguments: checkpointTargets)
    func inspectRefusesEveryRegressionInOneSentence(target: String) throws {
        let inputs = try FuzzInputs(repository: CLI.repo.path)
        for path in inputs.regressions(of: target) where inputs.knownCrash(path, of: target) == nil {
            let result = try CLI.run(["inspect", path])
            if (try? Checkpoint.open(path)) != nil {
                #expect(result.status == 0, "\(path): exit status \(result.status), \(result.stderr)")
                #expect(result.stdout.hasPrefix("file:        \(path)\n"), "\(path)")
                continue
            }
            #expect(result.status == 1, "\(path): exit status \(result.status)")
            #expect(result.stdout.isEmpty, "\(path)")
            let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
            #expect(lines.count == 1, "\(path): \(result.stderr)")
            let line = lines.first.map(String.init) ?? ""
            #expect(line.hasPrefix("zoo: error: "), "\(path): \(line)")
            #expect(line.contains(path), "\(path): \(line)")
            #expect(line.contains("expected") || line.contains("found"), "\(path): \(line)")
        }
    }
}
