import ArgumentParser
import Architectures
import Conversion
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ZooCore

struct NightlyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nightly",
        abstract: "Verify the whole zoo: every architecture, every Keras format, with a report.",
        discussion: """
        For each registered architecture: a seeded random checkpoint with non-trivial \
        BatchNorm statistics is written as torch.save would, converted to .keras, .weights.h5 \
        and .h5, each file read back and verified in both layouts. Writes report.json, \
        report.md and report.html (plots inline) into --out, comparing with the report.json \
        already there (a 10× larger difference or a 25% slower time is a regression). Exit \
        status 1 if anything fails or regressed.
        """
    )

    @Option(help: ArgumentHelp("Folder for the report (and scratch files, removed as it goes).", valueName: "dir"))
    var out: String = "nightly"

    @Option(help: ArgumentHelp("Comma-separated architectures (default: all registered).", valueName: "names"))
    var only: String?

    @Flag(help: "CI-sized run: each architecture at its small size (10 classes, small images, a tiny encoder).")
    var small = false

    @Flag(help: "Only the architectures the test command proves against the real frameworks (one or two per family).")
    var ci = false

    @Option(help: "Seed of the random checkpoints and inputs.")
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("A previous report.json to compare with (default: the one in --out).", valueName: "file"))
    var previous: String?

    @Option(name: .customLong("inject-fault"), help: .hidden)
    var injectFault: [String] = []

    func run() throws {
        try reportingErrors {
            var archs = Registry.all
            if ci { archs = archs.filter { Registry.provenInCI.contains($0.name) } }
            if let only {
                archs = try only.split(separator: ",").map { try lookUpArchitecture(String($0)) }
            }
            try makeFolders(out)
            let previousPath = previous ?? "\(out)/report.json"
            let previousReport = (try? MappedFile.contents(of: previousPath)).flatMap { try? JSONValue.parse($0) }
            var plan = NightlyPlan(architectures: archs, small: small, seed: seed)
            plan.faults = Set(injectFault)
            let results = Nightly.run(plan, folder: out) { printError($0) }
            let date = timestamp("%Y-%m-%dT%H:%M:%SZ", utc: true)
            let report = NightlyReport(results: results, previous: previousReport, small: small, seed: seed, date: date)
            try write(report.json.pretty + "\n", to: "\(out)/report.json")
            try write(report.markdown, to: "\(out)/report.md")
            try write(report.html, to: "\(out)/report.html")
            print(report.markdown)
            print("report: \(out)/report.html, \(out)/report.md, \(out)/report.json")
            if !report.passed {
                let failed = results.filter { !$0.passed }.map(\.architecture)
                throw ZooError(.verification, "nightly failed: \(failed.isEmpty ? "no architecture failed" : "failed: " + failed.joined(separator: ", "))\(report.regressions.isEmpty ? "" : "; \(report.regressions.count) regression(s)")")
            }
        }
    }

    func write(_ text: String, to path: String) throws {
        try AtomicFile.write(to: path, overwrite: true) { temporary in
            let sink = try FileSink(path: temporary)
            try sink.write(Array(text.utf8))
            try sink.flush()
        }
    }

    /// `mkdir -p`.
    func makeFolders(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part + "/"
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw ZooError(.io, "cannot create the folder \(prefix): \(String(cString: strerror(errno)).lowercased())")
            }
        }
    }
}
