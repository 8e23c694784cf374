#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ZooCore

/// The nightly report: machine-readable JSON, Markdown, and a self-contained HTML page whose
/// plots are inline SVG. Compared against the previous run's `report.json` when there is one.
public struct NightlyReport: Sendable {
    public var date: String
    public var results: [NightlyResult]
    public var regressions: [String]
    public var small: Bool
    public var seed: UInt64

    public var passed: Bool { results.allSatisfy(\.passed) && regressions.isEmpty }

    /// Builds the report; `previous` is the last run's report.json, if any.
    public init(results: [NightlyResult], previous: JSONValue?, small: Bool, seed: UInt64, date: String) {
        self.results = results
        self.small = small
        self.seed = seed
        self.date = date
        regressions = []
        guard let previous, let archs = previous["architectures"]?.array else { return }
        for r in results {
            guard let old = archs.first(where: { $0["name"]?.string == r.architecture }) else { continue }
            for f in r.formats {
                guard let was = old["formats"]?.array?.first(where: { $0["format"]?.string == f.format }) else { continue }
                if let before = was["max_rel_diff"]?.double, f.maxRelative.isFinite, f.maxRelative > 10 * max(before, 1e-9) {
                    regressions.append("\(r.architecture) \(f.format): max |Δ|/max|y| grew from \(scientific(before)) to \(scientific(f.maxRelative)) (more than 10×)")
                }
                if let before = was["convert_ms"]?.double, before >= 200, f.convertMilliseconds > 1.25 * before {
                    regressions.append("\(r.architecture) \(f.format): conversion took \(Int(f.convertMilliseconds)) ms, up from \(Int(before)) ms (more than 25%)")
                }
            }
            for (key, now) in [("torch_forward_ms", r.torchForwardMilliseconds), ("keras_forward_ms", r.kerasForwardMilliseconds)] {
                if let before = old[key]?.double, before >= 50, now > 1.25 * before {
                    regressions.append("\(r.architecture): \(key == "torch_forward_ms" ? "PyTorch-layout" : "Keras-layout") forward took \(Int(now)) ms, up from \(Int(before)) ms (more than 25%)")
                }
            }
        }
    }

    // MARK: - JSON

    public var json: JSONValue {
        .object([
            ("date", .string(date)), ("small", .bool(small)), ("seed", .number(String(seed))), ("passed", .bool(passed)),
            ("regressions", .array(regressions.map(JSONValue.string))),
            ("architectures", .array(results.map { r in
                .object([
                    ("name", .string(r.architecture)), ("family", .string(r.family)), ("passed", .bool(r.passed)),
                    ("parameters", .int(r.parameters)), ("checkpoint_bytes", .int(r.checkpointBytes)),
                    ("tolerance", .double(r.tolerance)), ("error", r.error.map(JSONValue.string) ?? .null),
                    ("first_divergent_layer", r.firstDivergentLayer.map(JSONValue.string) ?? .null),
                    ("torch_forward_ms", .double(r.torchForwardMilliseconds)), ("keras_forward_ms", .double(r.kerasForwardMilliseconds)),
                    ("formats", .array(r.formats.map { f in
                        .object([("format", .string(f.format)), ("passed", .bool(f.passed)), ("bytes", .int(f.bytes)),
                                 ("convert_ms", .double(f.convertMilliseconds)), ("max_abs_diff", .double(f.maxAbsolute)),
                                 ("max_rel_diff", .double(f.maxRelative)), ("error", f.error.map(JSONValue.string) ?? .null)])
                    })),
                    ("layers", .array(r.layers.map { .object([("name", .string($0.name)), ("max_rel_diff", .double($0.relative))]) })),
                ])
            })),
        ])
    }

    // MARK: - Markdown

    public var markdown: String {
        var lines = ["# zoo nightly — \(date)", ""]
        let failed = results.filter { !$0.passed }
        lines.append("**\(passed ? "PASSED" : "FAILED")**: \(results.count - failed.count) of \(results.count) architectures verified in every format\(small ? " (CI-sized run)" : ""); \(regressions.count) regression(s). Seed \(seed).")
        lines.append("")
        lines.append("| architecture | parameters | checkpoint | .keras | .weights.h5 | .h5 | tolerance | convert ms | forward ms (PyTorch / Keras layout) |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in results {
            func cell(_ ext: String) -> String {
                guard let f = r.formats.first(where: { $0.format == ext }) else { return "—" }
                if let e = f.error { return "✗ \(e.prefix(60))" }
                return "\(f.passed ? "" : "✗ ")\(scientific(f.maxRelative))"
            }
            lines.append("| \(r.passed ? "" : "✗ ")\(r.architecture) | \(r.parameters) | \(humanBytes(r.checkpointBytes)) | \(cell("keras")) | \(cell("weights.h5")) | \(cell("h5")) | \(scientific(r.tolerance)) | \(Int(r.convertMilliseconds)) | \(Int(r.torchForwardMilliseconds)) / \(Int(r.kerasForwardMilliseconds)) |")
        }
        lines.append("")
        lines.append("Errors are max |Δ| / max |y| of the outputs, PyTorch layout on the checkpoint against Keras layout on the file read back.")
        if !regressions.isEmpty {
            lines.append("")
            lines.append("## Regressions against the previous run")
            lines += regressions.map { "- \($0)" }
        }
        if !failed.isEmpty {
            lines.append("")
            lines.append("## Failures")
            for r in failed {
                let detail = r.error ?? r.formats.compactMap { f in f.error.map { "\(f.format): \($0)" } }.first
                    ?? "first divergent layer: \(r.firstDivergentLayer ?? "?")"
                lines.append("- \(r.architecture): \(detail)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - HTML

    public var html: String {
        var body = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>zoo nightly \(date)</title>
        <style>
        body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#1d2330}
        h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
        .badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}
        .ok{background:#1f8a4c}.bad{background:#c0392b}
        table{border-collapse:collapse;width:100%;font-size:13px} td,th{padding:4px 8px;border-bottom:1px solid #e3e6ec;text-align:right}
        td:first-child,th:first-child{text-align:left} tr.fail td{background:#fdecea}
        .small{color:#667085;font-size:12px} svg{background:#fff;border:1px solid #e3e6ec;border-radius:6px}
        .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px}
        </style></head><body>
        """
        body += "<h1>zoo nightly — \(escape(date)) <span class=\"badge \(passed ? "ok" : "bad")\">\(passed ? "PASSED" : "FAILED")</span></h1>"
        body += "<p class=\"small\">\(results.filter(\.passed).count) of \(results.count) architectures verified in every format\(small ? " · CI-sized run" : "") · seed \(seed) · errors are max |Δ| / max |y| (PyTorch layout on the checkpoint vs Keras layout on the file read back)</p>"
        if !regressions.isEmpty {
            body += "<h2>Regressions against the previous run</h2><ul>" + regressions.map { "<li>\(escape($0))</li>" }.joined() + "</ul>"
        }
        body += "<h2>Error per architecture and format</h2>" + errorChart()
        body += "<h2>Conversion and forward time</h2>" + timeChart()
        body += "<h2>Per-layer error</h2><div class=\"grid\">" + results.map(layerChart).joined() + "</div>"
        body += "<h2>Details</h2><table><tr><th>architecture</th><th>parameters</th><th>.keras</th><th>.weights.h5</th><th>.h5</th><th>tolerance</th><th>convert ms</th><th>forward ms PyTorch / Keras</th><th>note</th></tr>"
        for r in results {
            func cell(_ ext: String) -> String {
                guard let f = r.formats.first(where: { $0.format == ext }) else { return "—" }
                return f.error != nil ? "error" : scientific(f.maxRelative)
            }
            let note = r.error ?? r.formats.compactMap(\.error).first ?? (r.passed ? "" : "first divergent layer: \(r.firstDivergentLayer ?? "?")")
            body += "<tr class=\"\(r.passed ? "" : "fail")\"><td>\(escape(r.architecture))</td><td>\(r.parameters)</td><td>\(cell("keras"))</td><td>\(cell("weights.h5"))</td><td>\(cell("h5"))</td><td>\(scientific(r.tolerance))</td><td>\(Int(r.convertMilliseconds))</td><td>\(Int(r.torchForwardMilliseconds)) / \(Int(r.kerasForwardMilliseconds))</td><td>\(escape(String(note.prefix(120))))</td></tr>"
        }
        body += "</table></body></html>\n"
        return body
    }

    static let formatColors = ["keras": "#2563eb", "weights.h5": "#16a34a", "h5": "#d97706"]

    /// log10 axis from 1e-9 to 1e+1; zero and non-finite values are drawn at the floor.
    func logY(_ v: Double, top: Double, height: Double) -> Double {
        let clamped = v.isFinite && v > 0 ? min(max(log10(v), -9), 1) : -9
        return top + height * (1 - clamped) / 10
    }

    func errorChart() -> String {
        let width = 1060.0, top = 20.0, height = 240.0, left = 60.0
        let step = (width - left - 20) / Double(max(results.count, 1))
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(top + height + 110))\" role=\"img\" aria-label=\"error per architecture\">"
        for e in stride(from: -9, through: 1, by: 2) {
            let y = logY(pow(10, Double(e)), top: top, height: height)
            svg += "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#eef0f4\"/><text x=\"\(left - 6)\" y=\"\(y + 4)\" font-size=\"11\" text-anchor=\"end\" fill=\"#667085\">1e\(e)</text>"
        }
        for (i, r) in results.enumerated() {
            let x0 = left + Double(i) * step
            let ty = logY(r.tolerance, top: top, height: height)
            svg += "<line x1=\"\(x0 + 2)\" x2=\"\(x0 + step - 2)\" y1=\"\(ty)\" y2=\"\(ty)\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"><title>tolerance \(scientific(r.tolerance))</title></line>"
            for (j, f) in r.formats.enumerated() {
                let x = x0 + step * (Double(j) + 1) / Double(r.formats.count + 1)
                let y = logY(f.maxRelative, top: top, height: height)
                let color = f.error != nil || !f.passed ? "#c0392b" : (Self.formatColors[f.format] ?? "#333")
                svg += "<circle cx=\"\(x)\" cy=\"\(y)\" r=\"5\" fill=\"\(color)\"><title>\(escape(r.architecture)) \(f.format): \(f.error.map(escape) ?? scientific(f.maxRelative))</title></circle>"
            }
            svg += "<text transform=\"translate(\(x0 + step / 2),\(top + height + 10)) rotate(45)\" font-size=\"11\" fill=\"\(r.passed ? "#1d2330" : "#c0392b")\">\(escape(r.architecture))</text>"
        }
        var lx = left
        for (name, color) in [("keras", "#2563eb"), ("weights.h5", "#16a34a"), ("h5", "#d97706"), ("failed", "#c0392b")] {
            svg += "<circle cx=\"\(lx)\" cy=\"\(top + height + 95)\" r=\"5\" fill=\"\(color)\"/><text x=\"\(lx + 9)\" y=\"\(top + height + 99)\" font-size=\"11\">.\(name == "failed" ? "failed" : name)</text>"
            lx += 110
        }
        svg += "<line x1=\"\(lx)\" x2=\"\(lx + 24)\" y1=\"\(top + height + 95)\" y2=\"\(top + height + 95)\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/><text x=\"\(lx + 30)\" y=\"\(top + height + 99)\" font-size=\"11\">tolerance</text>"
        return svg + "</svg>"
    }

    func timeChart() -> String {
        let width = 1060.0, top = 20.0, height = 200.0, left = 60.0
        let series: [(String, String, (NightlyResult) -> Double)] = [
            ("convert (all formats)", "#7c3aed", { $0.convertMilliseconds }),
            ("forward, PyTorch layout", "#0891b2", { $0.torchForwardMilliseconds }),
            ("forward, Keras layout", "#ea580c", { $0.kerasForwardMilliseconds }),
        ]
        let maxValue = max(1, results.flatMap { r in series.map { $0.2(r) } }.max() ?? 1)
        let step = (width - left - 20) / Double(max(results.count, 1))
        let bar = step / 4
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(top + height + 110))\" role=\"img\" aria-label=\"time per architecture\">"
        for k in 0...4 {
            let v = maxValue * Double(k) / 4, y = top + height - height * Double(k) / 4
            svg += "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#eef0f4\"/><text x=\"\(left - 6)\" y=\"\(y + 4)\" font-size=\"11\" text-anchor=\"end\" fill=\"#667085\">\(Int(v)) ms</text>"
        }
        for (i, r) in results.enumerated() {
            let x0 = left + Double(i) * step + bar / 2
            for (j, s) in series.enumerated() {
                let h = height * s.2(r) / maxValue
                svg += "<rect x=\"\(x0 + Double(j) * bar)\" y=\"\(top + height - h)\" width=\"\(bar - 1)\" height=\"\(h)\" fill=\"\(s.1)\"><title>\(escape(r.architecture)) \(s.0): \(Int(s.2(r))) ms</title></rect>"
            }
            svg += "<text transform=\"translate(\(x0 + step / 2 - bar / 2),\(top + height + 10)) rotate(45)\" font-size=\"11\">\(escape(r.architecture))</text>"
        }
        var lx = left
        for s in series {
            svg += "<rect x=\"\(lx)\" y=\"\(top + height + 90)\" width=\"10\" height=\"10\" fill=\"\(s.1)\"/><text x=\"\(lx + 14)\" y=\"\(top + height + 99)\" font-size=\"11\">\(s.0)</text>"
            lx += 190
        }
        return svg + "</svg>"
    }

    func layerChart(_ r: NightlyResult) -> String {
        let width = 260.0, height = 120.0, top = 22.0, left = 8.0
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(top + height + 8))\" role=\"img\" aria-label=\"per-layer error of \(escape(r.architecture))\">"
        svg += "<text x=\"8\" y=\"15\" font-size=\"12\" font-weight=\"600\" fill=\"\(r.passed ? "#1d2330" : "#c0392b")\">\(escape(r.architecture))</text>"
        let ty = logY(r.tolerance, top: top, height: height)
        svg += "<line x1=\"\(left)\" x2=\"\(width - 8)\" y1=\"\(ty)\" y2=\"\(ty)\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/>"
        if r.layers.count > 1 {
            let dx = (width - left - 8) / Double(r.layers.count - 1)
            let points = r.layers.enumerated().map { "\(left + Double($0.offset) * dx),\(logY($0.element.relative, top: top, height: height))" }.joined(separator: " ")
            svg += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"#2563eb\" stroke-width=\"1.5\"/>"
            if let name = r.firstDivergentLayer, let i = r.layers.firstIndex(where: { $0.name == name }) {
                svg += "<circle cx=\"\(left + Double(i) * dx)\" cy=\"\(logY(r.layers[i].relative, top: top, height: height))\" r=\"4\" fill=\"#c0392b\"><title>first divergent: \(escape(name))</title></circle>"
            }
        } else {
            svg += "<text x=\"8\" y=\"\(top + 40)\" font-size=\"11\" fill=\"#c0392b\">no layer data\(r.error.map { ": " + escape(String($0.prefix(40))) } ?? "")</text>"
        }
        svg += "<text x=\"\(width - 8)\" y=\"\(top + height + 4)\" font-size=\"10\" text-anchor=\"end\" fill=\"#667085\">\(r.layers.count) layers · log scale 1e-9…1e+1</text>"
        return svg + "</svg>"
    }

    func escape(_ s: String) -> String {
        s.replacingAll("&", "&amp;").replacingAll("<", "&lt;").replacingAll(">", "&gt;").replacingAll("\"", "&quot;")
    }
}

