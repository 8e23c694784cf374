import ArgumentParser
import ZooCore
#if canImport(Glibc)
import Glibc
let stderrStream = Glibc.stderr
#else
import Darwin
let stderrStream = Darwin.stderr
#endif

@main
struct Zoo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "Move pretrained PyTorch weights into TensorFlow/Keras, correctly and with proof.",
        discussion: """
        zoo reads PyTorch checkpoints (.pth zip or legacy, .safetensors) without Python and \
        without running any code from the file. Start by looking at what zoo knows and inside a checkpoint:

          zoo list
          zoo inspect weights.pth
          zoo map resnet50

        Exit status is 0 on success, 1 when an input is bad or refused, 64 for a usage error, 70 for an internal error (a bug in zoo). \
        Errors are one sentence saying what was expected, what was found, and where.
        """,
        version: zooVersion,
        subcommands: [List.self, Inspect.self, Map.self, Convert.self, Verify.self, Random.self, NightlyCommand.self]
    )
}

let zooVersion = "0.1.0"

extension Zoo {
    static func main() {
        NativeLibraries.installFaultHandlers()
        NativeLibraries.prepareHDF5()
        main(nil)
    }
}

/// Runs a command body, turning zoo's errors into one line on stderr and exit status 1 (64 for
/// usage, 70 for zoo's own bugs). With `json`, stdout gets the error as a JSON object too
/// (`{"error": …, "kind": …, "exit_status": …}`), so a caller parsing stdout always gets one.
func reportingErrors(json: Bool = false, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ZooError {
        if json {
            let status = error.kind == .internal ? 70 : error.kind == .usage ? 64 : 1
            print(JSONValue.object([("error", .string(error.message)), ("kind", .string(error.kind.rawValue)),
                                    ("exit_status", .int(status))]).pretty)
        }
        // one line, whatever a name from the file held
        if error.kind == .internal {
            writeStandardError("zoo: internal error: \(error.message.lineSafe) (this is a bug in zoo, not a problem with the input; please report it with the command line)")
            throw ExitCode(70)
        }
        writeStandardError("zoo: error: \(error.message.lineSafe)")
        throw ExitCode(error.kind == .usage ? 64 : 1)
    }
}

/// A message or report on stderr; anything in it a terminal would act on is escaped.
func printError(_ message: String) { writeStandardError(message.terminalSafe) }

func writeStandardError(_ line: String) {
    var stderr = StandardError()
    print(line, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        fputs(string, stderrStream)
    }
}
