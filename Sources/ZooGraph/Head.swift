import ZooCore

/// The classifier at the end of an image model, as the checkpoint holds it. Fine-tuning
/// replaces torchvision's last `nn.Linear` (`model.fc`, `model.classifier[1]` …, the descriptor's
/// *head slot*) with a Linear of another size, an `nn.Sequential` (`Sequential(Dropout, Linear)`,
/// an MLP), or `nn.Identity()` to take features out.
///
/// The weights show every Linear (its index in the Sequential and its sizes) but not the modules
/// without weights between them: index 1 of `fc.0.*, fc.2.*` may be ReLU, GELU, Tanh or Dropout,
/// and each computes another function. zoo never picks one: such a head is `.unknown` at those
/// indices, and conversion refuses it with the `--head` spec that names them.
public enum ClassifierHead: Sendable, Equatable, CustomStringConvertible {
    /// `nn.Identity()`: no tensors under the slot; the model ends with the features before it.
    case none
    /// One `nn.Linear` at the slot (torchvision's own head), of any class count.
    case linear
    /// An `nn.Sequential` at the slot, module by module.
    case sequential([HeadModule])

    /// The module kinds `--head` accepts, besides `linear`, `dropout` and `identity`.
    public static let activations: [String: ActivationKind] = [
        "relu": .relu, "relu6": .relu6, "gelu": .gelu, "gelu_tanh": .geluTanh, "tanh": .tanh, "sigmoid": .sigmoid,
        "silu": .silu, "hardswish": .hardSwish, "hardsigmoid": .hardSigmoid,
    ]

    /// A `--head` spec: `none`, `linear`, or the Sequential's modules in order, comma-separated
    /// (`dropout,linear`; `linear,relu,dropout,linear`); Linear sizes come from the weights, or
    /// are given as `linear(256)` (for `zoo random`, which has none).
    public static func parse(_ spec: String) throws -> ClassifierHead {
        let words = spec.lowercased().split(separator: ",", omittingEmptySubsequences: false)
            .map { String($0.filter { $0 != " " }) }
        if words == ["none"] || words == ["identity"] { return .none }
        if words == ["linear"] { return .linear }
        let modules = try words.map { word -> HeadModule in
            switch word {
            case "linear": return .linear(out: nil)
            case _ where word.hasPrefix("linear(") && word.hasSuffix(")"):
                guard let out = Int(word.dropFirst(7).dropLast()), out > 0 else {
                    throw ZooError(.usage, "--head: expected 'linear(N)' with N a positive whole number, found '\(shown: word)'")
                }
                return .linear(out: out)
            case "dropout", "identity": return .dropout
            default:
                guard let kind = activations[word] else {
                    let known = (["linear", "dropout", "identity"] + activations.keys.sorted()).joined(separator: ", ")
                    throw ZooError(.usage, "--head: expected 'none', 'linear' or modules separated by commas (\(known)), found '\(shown: word)' in '\(shown: spec)'")
                }
                return .activation(kind)
            }
        }
        guard modules.contains(where: \.isLinear) else {
            throw ZooError(.usage, "--head: expected at least one 'linear' in a Sequential head (or 'none'), found '\(shown: spec)'")
        }
        return .sequential(modules)
    }

    /// What the checkpoint's tensors under `slot` say the head is: a Linear at the slot, none,
    /// or a Sequential with the Linears' sizes and `.unknown` where a module has no weights.
    /// Throws when the slot holds something zoo has no lowering for (a BatchNorm1d, a LayerNorm).
    /// `own` is the descriptor's head: a Sequential whose Linears sit where its do is that head.
    public static func read(_ shapes: TensorShapes, slot: String, own: ClassifierHead = .linear) throws -> (head: ClassifierHead, classes: Int?) {
        let prefix = slot + "."
        let under = shapes.entries.filter { $0.name.hasPrefix(prefix) }
        if under.isEmpty { return (.none, nil) }
        if let w = shapes[prefix + "weight"], w.count == 2 { return (.linear, w[0]) }
        var linears: [Int: [Int]] = [:]
        for entry in under {
            let rest = entry.name.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
            guard rest.count == 2, let index = Int(rest[0]), index >= 0, index < 64, rest[1] == "weight" || rest[1] == "bias" else {
                throw ZooError(.mismatch, "expected the head '\(slot)' to be an nn.Linear or an nn.Sequential of Linear layers and modules without weights, found '\(shown: entry.name)' \(entry.shape)")
            }
            if rest[1] == "weight" {
                guard entry.shape.count == 2 else {
                    throw ZooError(.mismatch, "expected the head '\(slot)' to hold Linear layers only (2-D weights), found '\(shown: entry.name)' \(entry.shape): zoo has no lowering for another module with weights in a head")
                }
                linears[index] = entry.shape
            }
        }
        guard let last = linears.keys.max() else {
            throw ZooError(.mismatch, "expected Linear weights in the head '\(slot)', found only \(under.map { "'\(shown: $0.name)'" }.joined(separator: ", "))")
        }
        let modules = (0...last).map { i in linears[i].map { HeadModule.linear(out: $0[0]) } ?? .unknown }
        if case .sequential(let mine) = own, mine.count == modules.count,
           zip(mine, modules).allSatisfy({ a, b in a.isLinear == b.isLinear }) {
            return (.sequential(zip(mine, modules).map { a, b in a.isLinear ? b : a }), linears[last]![0])
        }
        return (.sequential(modules), linears[last]![0])
    }

    /// This head (a `--head` spec) with the Linear sizes of `found` (what the weights say);
    /// throws when the two disagree about where the Linears are.
    public func resolved(against found: ClassifierHead?, slot: String) throws -> ClassifierHead {
        guard case .sequential(let named) = self, let found else { return self }
        guard case .sequential(let held) = found else {
            let what = found == .linear ? "a single nn.Linear ('\(slot).weight')" : "no tensors under '\(slot).'"
            throw ZooError(.usage, "--head names an nn.Sequential of \(named.count) modules at '\(slot)'; the checkpoint's head is \(what)")
        }
        guard named.count >= held.count else {
            throw ZooError(.usage, "--head names \(named.count) modules; the checkpoint's '\(slot)' has weights at module \(held.count - 1)")
        }
        return .sequential(try named.enumerated().map { i, module in
            let there = i < held.count ? held[i] : .unknown
            switch (module, there) {
            case (.linear(let size), .linear(let out)):
                if let size, size != out {
                    throw ZooError(.usage, "--head says the Linear at module \(i) of '\(slot)' has \(size) outputs; the checkpoint's has \(out ?? 0)")
                }
                return .linear(out: out)
            case (.linear, _):
                throw ZooError(.usage, "--head says module \(i) of '\(slot)' is a Linear; the checkpoint has no '\(slot).\(i).weight'")
            case (_, .linear(let out)):
                throw ZooError(.usage, "--head says module \(i) of '\(slot)' is \(module); the checkpoint has a Linear there ('\(slot).\(i).weight', \(out ?? 0) outputs)")
            default: return module
            }
        })
    }

    /// The `--head` spec of this head, `?` where a module is unknown.
    public var spec: String {
        switch self {
        case .none: return "none"
        case .linear: return "linear"
        case .sequential(let modules):
            return modules.map { m in if case .linear(let out?) = m { "linear(\(out))" } else { m.description } }.joined(separator: ",")
        }
    }

    /// The modules without their sizes (`dropout,linear`): a head of torchvision's structure
    /// with another class count has the same.
    public var structure: String {
        guard case .sequential(let modules) = self else { return spec }
        return modules.map(\.description).joined(separator: ",")
    }

    /// `{"slot", "spec", "module"}`, as `--json` output reports a head at `slot`.
    public func json(slot: String) -> JSONValue {
        .object([("slot", .string(slot)), ("spec", .string(spec)), ("module", .string(description))])
    }

    /// `Sequential(Dropout, Linear(→10))`, as `zoo map` and convert show it.
    public var description: String {
        switch self {
        case .none: return "none (nn.Identity: features out)"
        case .linear: return "Linear"
        case .sequential(let modules):
            return "Sequential(" + modules.map { m -> String in
                switch m {
                case .linear(let out): return out.map { "Linear(→\($0))" } ?? "Linear"
                case .dropout: return "Dropout"
                case .activation(let kind): return kind.torchModule.replacingAll("nn.", "")
                case .unknown: return "?"
                }
            }.joined(separator: ", ") + ")"
        }
    }

    /// Why this head cannot be converted as it stands (modules the weights do not name), with
    /// the `--head` that would say it; nil when every module is known.
    public func doubt(slot: String) -> String? {
        guard case .sequential(let modules) = self else { return nil }
        let unknown = modules.indices.filter { modules[$0] == .unknown }
        guard !unknown.isEmpty else { return nil }
        let lastLinear = modules.lastIndex(where: \.isLinear) ?? 0
        // The usual reading, offered (never assumed): Dropout before the first Linear, ReLU then
        // Dropout between two.
        var proposal = modules
        var inGap = false
        for i in modules.indices {
            if case .linear = modules[i] { inGap = false; continue }
            guard modules[i] == .unknown else { continue }
            let beforeFirst = !modules[..<i].contains(where: \.isLinear)
            proposal[i] = beforeFirst || inGap || i > lastLinear ? .dropout : .activation(.relu)
            inGap = !beforeFirst
        }
        let spec = proposal.map(\.description).joined(separator: ",")
        let indices = unknown.map(String.init).joined(separator: ", ")
        return "the head '\(slot)' is an nn.Sequential whose module\(unknown.count == 1 ? "" : "s") \(indices) \(unknown.count == 1 ? "has" : "have") no weights, so the checkpoint cannot say \(unknown.count == 1 ? "which module it is" : "which modules they are") (Dropout, ReLU, GELU … compute different functions); name them with --head, e.g. --head '\(spec)'"
    }
}

public enum HeadModule: Sendable, Equatable, CustomStringConvertible {
    /// `nn.Linear` with `out` features (nil in a `--head` spec: sized from the weights).
    case linear(out: Int?)
    /// `nn.Dropout` (or `nn.Identity`): the identity at inference.
    case dropout
    case activation(ActivationKind)
    /// A module without weights that the checkpoint does not name.
    case unknown

    public var isLinear: Bool { if case .linear = self { true } else { false } }

    public var description: String {
        switch self {
        case .linear: return "linear"
        case .dropout: return "dropout"
        case .activation(let kind): return ClassifierHead.activations.first { $0.value == kind }?.key ?? kind.rawValue
        case .unknown: return "?"
        }
    }
}

extension GraphBuilder {
    /// The head slot: `head` at `torch` (nil: the next index of the enclosing Sequential); the
    /// last Linear is the Keras layer `keras` with `classes` outputs unless the head sizes it.
    public func classifierHead(_ x: Value, _ head: ClassifierHead?, torch: String? = nil, keras: String, classes: Int) -> Value {
        switch head ?? .linear {
        case .none:
            if torch == nil { skip() }
            return x
        case .linear:
            return linear(x, torch: torch, keras: keras, out: classes)
        case .sequential(let modules):
            let last = modules.lastIndex(where: \.isLinear) ?? modules.count
            var y = x
            sequential(torch) {
                for (i, module) in modules.enumerated() {
                    switch module {
                    case .linear(let out):
                        y = linear(y, keras: i == last ? keras : nil, out: out ?? (i == last ? classes : 0))
                        if out == nil && i != last { fail("the head's Linear at module \(i) has no size") }
                    case .activation(let kind): y = activation(y, kind)
                    case .dropout, .unknown: skip() // the identity at inference; unknown is refused before conversion (see `doubt`)
                    }
                }
            }
            return y
        }
    }
}
