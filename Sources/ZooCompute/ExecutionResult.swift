// What both executors return, and the bookkeeping they share while walking a graph.
import ZooCore
import ZooGraph
import ZooKernels

/// Outputs of one forward pass, with every named intermediate so a divergence can be located.
public struct ExecutionResult: Sendable {
    /// The model's outputs in declaration order (`Graph.outputs` / `KerasModel.outputs`), batch first.
    public var outputs: [Tensor]
    /// Every layer's output in execution order, keyed by Keras layer name (the torch executor
    /// uses each node's `kerasName`, so both executors' names meet). Empty when not recorded.
    public var intermediates: [(name: String, tensor: Tensor)]
    /// Wall time of the forward pass itself (not the conversion of results to `Tensor`).
    public var milliseconds: Double
    /// How each intermediate's elements are ordered compared with Keras's, by name (the PyTorch
    /// executor gives every node's; empty for the Keras executor, whose order is Keras's).
    public var layouts: [String: ValueLayout]

    public init(outputs: [Tensor], intermediates: [(name: String, tensor: Tensor)], milliseconds: Double,
                layouts: [String: ValueLayout] = [:]) {
        self.outputs = outputs
        self.intermediates = intermediates
        self.milliseconds = milliseconds
        self.layouts = layouts
    }

    public func intermediate(_ name: String) -> Tensor? { intermediates.first { $0.name == name }?.tensor }
}


/// Values flowing through a forward pass: each slot is freed after its last consumer unless
/// intermediates are being recorded, and a consumer that is the last user gets the buffer itself,
/// so elementwise layers work in place.
struct ValueStore {
    private var values: [FloatTensor?]
    private var remaining: [Int]

    init(count: Int, consumers: [[Int]], keep: Set<Int>) {
        values = Array(repeating: nil, count: count)
        remaining = consumers.map(\.count)
        for k in keep { remaining[k] += 1 }
    }

    subscript(_ id: Int) -> FloatTensor { values[id]! }

    mutating func set(_ id: Int, _ value: FloatTensor) { values[id] = value }

    /// The value of `id` for a consumer that will modify it.
    mutating func take(_ id: Int) -> FloatTensor {
        let v = values[id]!
        if remaining[id] == 1 { values[id] = nil }
        return v
    }

    /// Marks one use of each input as done, dropping values nobody needs any more.
    mutating func release(_ inputs: [Int]) {
        for i in inputs {
            remaining[i] -= 1
            if remaining[i] <= 0 { values[i] = nil }
        }
    }
}

/// Milliseconds since `start`.
/// Turns recorded values into tensors one at a time, dropping each value as it goes, so the
/// two copies of every intermediate never coexist.
func tensors(draining recorded: inout [(String, FloatTensor)]) -> [(name: String, tensor: Tensor)] {
    var out: [(name: String, tensor: Tensor)] = []
    out.reserveCapacity(recorded.count)
    for i in recorded.indices {
        out.append((recorded[i].0, recorded[i].1.tensor))
        recorded[i].1 = FloatTensor(shape: [0], data: [])
    }
    recorded = []
    return out
}

func elapsedMilliseconds(since start: ContinuousClock.Instant) -> Double {
    milliseconds(ContinuousClock.now - start)
}

func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

func shapeText(_ s: [Int]) -> String { "[" + s.map { $0 < 0 ? "?" : String($0) }.joined(separator: ", ") + "]" }

/// Checks a supplied input against a per-sample shape (−1 = any) and returns it as float32.
func checkedInput(_ inputs: [String: Tensor], name: String, perSample: [Int], batch: inout Int?) throws -> FloatTensor {
    guard let tensor = inputs[name] else {
        let given = inputs.keys.sorted().joined(separator: ", ")
        throw ZooError(.usage, "expected an input named '\(name)' of shape \(shapeText([-1] + perSample)), found \(given.isEmpty ? "no inputs" : "only " + given)")
    }
    let s = tensor.shape
    let fits = s.count == perSample.count + 1 && zip(s.dropFirst(), perSample).allSatisfy { $1 < 0 || $0 == $1 }
    guard fits else {
        throw ZooError(.mismatch, "input '\(name)': expected shape \(shapeText([-1] + perSample)), found \(shapeText(s))")
    }
    if let b = batch, b != s[0] {
        throw ZooError(.mismatch, "input '\(name)': expected batch size \(b) like the other inputs, found \(s[0])")
    }
    batch = s[0]
    return try FloatTensor(tensor)
}

/// Per-sample rank of a batch-first shape.
extension FloatTensor {
    var perSample: [Int] { Array(shape.dropFirst()) }
}
