// Entry points for fuzzing zoo's readers of untrusted files, shared by the libFuzzer binaries
// (Fuzz/Package.swift, run by scripts/fuzz.sh) and the regression replay (Tests/FuzzRegressionTests).
// Each takes one input's bytes and reads them the way zoo does: open, list, then read every tensor
// or weight, because reading is where lengths matter. A thrown ZooError is a correct outcome; any
// other error, a trap or a sanitizer report is a bug.
import Architectures
import Foundation
import Conversion
import KerasIO
import TorchIO
import ZooCore
import ZooGraph
#if canImport(Glibc)
import Glibc
#endif

/// One parser under fuzzing.
public struct FuzzTarget {
    /// How Fuzz/Package.swift (`fuzz_<name>`), scripts/fuzz.sh and `Fuzz/regressions/<name>/` call it.
    public let name: String
    public let run: (UnsafeRawBufferPointer) -> Void
}

/// Every target, in the order scripts/fuzz.sh runs them.
public let fuzzTargets: [FuzzTarget] = [
    FuzzTarget(name: "pickle", run: fuzzPickle),
    FuzzTarget(name: "legacy_pth", run: fuzzLegacyPth),
    FuzzTarget(name: "zip_pth", run: fuzzZipPth),
    FuzzTarget(name: "zip_directory", run: fuzzZipDirectory),
    FuzzTarget(name: "safetensors", run: fuzzSafetensors),
    FuzzTarget(name: "keras", run: fuzzKeras),
    FuzzTarget(name: "weights_h5", run: fuzzWeightsH5),
    FuzzTarget(name: "legacy_h5", run: fuzzLegacyH5),
    FuzzTarget(name: "config_json", run: fuzzConfigJSON),
]

// MARK: - PyTorch

/// `SafeUnpickler` on raw bytes: once as a zip checkpoint's `data.pkl` (one pickle, storages as
/// persistent ids), once as a legacy stream (pickles one after another, persistent ids only in
/// the fourth, the main pickle).
public func fuzzPickle(_ data: UnsafeRawBufferPointer) {
    refusingWithZooError {
        var unpickler = SafeUnpickler(data)
        let root = try unpickler.load()
        describe(unpickler.arena, root)
    }
    refusingWithZooError {
        var position = 0, index = 0
        while position < data.count {
            var unpickler = SafeUnpickler(data, at: position, persistentIDs: index == 3 ? .torchStorages : .refuse)
            let value = try unpickler.load()
            describe(unpickler.arena, value)
            precondition(unpickler.position > position, "expected the unpickler to advance past offset \(position)")
            position = unpickler.position
            index += 1
        }
    }
}

/// `Checkpoint.open` of a legacy (torch < 1.6) stream, then every tensor read.
public func fuzzLegacyPth(_ data: UnsafeRawBufferPointer) {
    guard data.first == 0x80 else { return } // other formats have targets of their own
    withFile(data, readCheckpoint)
}

/// `Checkpoint.open` of a zip (torch ≥ 1.6) `.pth`, then every tensor read through `tensor(_:)`
/// and `withFloats`, and every record's CRC checked with `verifyRecord`.
public func fuzzZipPth(_ data: UnsafeRawBufferPointer) {
    guard data.starts(with: [0x50, 0x4b]) else { return }
    withFile(data, readCheckpoint)
}

/// `Checkpoint.open` of a `.safetensors`, then every tensor read.
public func fuzzSafetensors(_ data: UnsafeRawBufferPointer) {
    guard !data.starts(with: [0x50, 0x4b]) else { return }
    withFile(data, readCheckpoint)
}

/// `ZipDirectory` of any bytes; every range it reports is read.
public func fuzzZipDirectory(_ data: UnsafeRawBufferPointer) {
    for (name, stored) in ZipDirectory(data).stored {
        precondition(stored.range.lowerBound >= 0 && stored.range.upperBound <= data.count,
                     "expected '\(name)' to lie within the \(data.count) bytes of the archive, found \(stored.range)")
        sink(UnsafeRawBufferPointer(rebasing: data[stored.range]))
    }
}

/// What `zoo inspect` and `zoo convert` do with a checkpoint, short of converting it.
private func readCheckpoint(_ path: String) {
    refusingWithZooError {
        let checkpoint = try Checkpoint.open(path)
        _ = (checkpoint.parameterCount, checkpoint.byteCount, checkpoint.otherEntries, checkpoint.metadata)
        // `zoo inspect` names the matching architectures; one per family reads the shapes as all do
        // (the rest differ in stage tables only) at a fraction of the cost of all 17
        let shapes = checkpoint.tensorShapes
        for architecture in matchedFamilies { match(architecture, shapes) }
        for entry in checkpoint.entries {
            // From a small input only a view repeating elements (stride 0) gets this large; reading
            // it would measure the machine's memory, not the reader (above that, zoo refuses it).
            let floatBytes = Swift.max(entry.byteCount, entry.count * MemoryLayout<Float>.size)
            if floatBytes > maxReadBytes && floatBytes <= ProcessInfoMemory.physicalBytes { continue }
            let tensor = try checkpoint.tensor(entry)
            precondition(tensor.shape == entry.shape && tensor.dtype == entry.dtype, "expected tensor '\(entry.name)' as listed")
            tensor.bytes.withUnsafeBytes(sink)
            try checkpoint.withFloats(entry) { floats in
                precondition(floats.count == entry.count, "expected \(entry.count) floats for '\(entry.name)', found \(floats.count)")
                sink(UnsafeRawBufferPointer(floats))
            }
            try checkpoint.verifyRecord(of: entry)
            checkpoint.release(entry)
        }
        if checkpoint.entries.allSatisfy({ $0.byteCount <= maxReadBytes }) { _ = try checkpoint.allTensors() }
        // --key: the dotted path to a nested dict, here the first entry beside the tensors
        if let other = checkpoint.otherEntries.first {
            refusingWithZooError { _ = try Checkpoint.open(path, key: other.name) }
        }
    }
}

/// The largest tensor the checkpoint targets read (gathering a view element by element under
/// AddressSanitizer takes 0.7 s per million elements).
private let maxReadBytes = 4 << 20

/// `architecture.match(shapes)` with the graph for the options the shapes give built once per
/// distinct options: building fourteen full-size graphs per input under AddressSanitizer held the
/// checkpoint targets to tens of inputs a second, while the inputs reach the same few options.
/// What depends on the bytes — `infer`, building for options never seen, matching — still runs.
private func match(_ architecture: Architecture, _ shapes: TensorShapes) {
    let options = architecture.infer(shapes)
    let key = "\(architecture.name) \(options)"
    graphCacheLock.lock()
    let cached = graphCache[key]
    graphCacheLock.unlock()
    let graph: Graph
    if let cached {
        graph = cached
    } else {
        guard let built = try? architecture.graph(options) else { return }
        graphCacheLock.lock()
        if graphCache.count >= 512 { graphCache.removeAll() }
        graphCache[key] = built
        graphCacheLock.unlock()
        graph = built
    }
    _ = architecture.match(shapes, graph: graph)
}

// (the regression tests call the entry points from several threads at once)
private let graphCacheLock = NSLock()
nonisolated(unsafe) private var graphCache: [String: Graph] = [:]

/// The first registered architecture of each family.
private let matchedFamilies: [Architecture] = {
    var seen = Set<String>()
    return Registry.all.filter { seen.insert($0.family).inserted }
}()

/// Summaries of every object the unpickler built (what `zoo inspect` prints for other entries).
private func describe(_ arena: PickleArena, _ root: PickleValue) {
    _ = arena.summary(root)
    _ = arena.dictEntries(root)
    for i in arena.objects.indices { _ = arena.summary(.object(i)) }
}

// MARK: - Keras

/// `KerasFile.readArchive` of a `.keras`: config, layers, metadata and every weight.
public func fuzzKeras(_ data: UnsafeRawBufferPointer) {
    withFile(data) { path in
        refusingWithZooError { readAll(try KerasFile.readArchive(path).weights) }
    }
}

/// `KerasFile.read` of a Keras 3 `.weights.h5`: every weight.
public func fuzzWeightsH5(_ data: UnsafeRawBufferPointer) {
    withFile(data) { path in
        refusingWithZooError { readAll(try KerasFile.read(path, format: .weightsH5)) }
    }
}

/// `KerasFile.read` of a legacy tf.keras `.h5`: every weight.
public func fuzzLegacyH5(_ data: UnsafeRawBufferPointer) {
    withFile(data) { path in
        refusingWithZooError { readAll(try KerasFile.read(path, format: .legacyH5)) }
    }
}

private func readAll(_ weights: KerasWeights) {
    for tensors in weights.values {
        for tensor in tensors { tensor.bytes.withUnsafeBytes(sink) }
    }
}

// MARK: - config.json

/// `JSONValue.parse` (with its serialisations read back as the same value), then the parsed
/// value as a Hugging Face `config.json` (`BERT.config`, and the graph zoo builds from it) and as
/// a `.keras` `config.json` (`KerasConfig.layers`).
public func fuzzConfigJSON(_ data: UnsafeRawBufferPointer) {
    refusingWithZooError {
        let json = try JSONValue.parse(data)
        for text in [json.serialized, json.pretty] {
            let again = try JSONValue.parse(Array(text.utf8))
            precondition(again == json, "expected zoo's JSON to read back as the value it was written from: \(text.prefix(200))")
        }
        refusingWithZooError { _ = try KerasConfig.layers(of: json, file: "config.json") }
        refusingWithZooError {
            let transformer = try BERT.config(fromHuggingFace: json, pooler: true)
            _ = try Registry.named("bert")!.graph(ArchitectureOptions(transformer: transformer))
        }
    }
}

// MARK: - Support

/// Runs `body`: a `ZooError` is how a reader refuses its input; any other error is a bug.
func refusingWithZooError(_ body: () throws -> Void) {
    do {
        try body()
    } catch is ZooError {
    } catch {
        fatalError("expected a reader to throw only ZooError, found \(type(of: error)): \(error)")
    }
}

/// Calls `body` with the path of a file that holds `data`, removed when `body` returns so nothing
/// accumulates over millions of runs. A fresh file each time (not one rewritten): libhdf5 knows
/// open files by inode. Not a memfd: libhdf5 resolves `/proc/self/fd/N` to a path that does not exist.
func withFile(_ data: UnsafeRawBufferPointer, _ body: (String) -> Void) {
    let path = inputFolder + "/input-" + String(inputCounter.locked { () -> Int in nextInput += 1; return nextInput })
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "could not create \(path): \(String(cString: strerror(errno)))")
    var written = 0
    while written < data.count {
        let n = write(fd, data.baseAddress! + written, data.count - written)
        precondition(n > 0, "could not write \(path): \(String(cString: strerror(errno)))")
        written += n
    }
    close(fd)
    defer { unlink(path) }
    body(path)
}

/// This process's folder for inputs (in memory under /dev/shm where there is one), removed at
/// exit; folders left by processes that died (a fuzzer stopping at a crash) are removed first.
private let inputFolder: String = {
    let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")
    if let dir = opendir(base) {
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard name.hasPrefix("zoo-fuzz-"), let pid = Int32(name.dropFirst(9)), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let folder = "\(base)/\(name)"
            if let inner = opendir(folder) {
                while let file = readdir(inner) {
                    let fileName = withUnsafeBytes(of: file.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                    if fileName != "." && fileName != ".." { unlink("\(folder)/\(fileName)") }
                }
                closedir(inner)
            }
            rmdir(folder)
        }
        closedir(dir)
    }
    let folder = "\(base)/zoo-fuzz-\(getpid())"
    precondition(mkdir(folder, 0o700) == 0 || errno == EEXIST, "could not create \(folder): \(String(cString: strerror(errno)))")
    atexit { _ = rmdir(inputFolder) }
    return folder
}()

private let inputCounter = Lock()
nonisolated(unsafe) private var nextInput = 0

/// Reads every byte in Swift, where AddressSanitizer sees the loads, so a range past the end of a
/// mapping or an allocation is reported; the sum goes to a global the optimiser must keep.
private func sink(_ bytes: UnsafeRawBufferPointer) {
    var sum: UInt8 = 0
    for byte in bytes { sum &+= byte }
    sinkValue &+= sum
}

nonisolated(unsafe) private var sinkValue: UInt8 = 0
