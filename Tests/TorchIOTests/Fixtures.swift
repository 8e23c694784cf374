import Foundation
import ZooCore

/// The committed fixtures, found from this source file's location so tests run from any folder.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let torch = root.appendingPathComponent("torch")

    static func path(_ name: String) -> String { torch.appendingPathComponent(name).path }

    struct Expected {
        var name: String
        var dtype: String
        var shape: [Int]
        var values: [Double]?
    }

    struct Good {
        var file: String
        var format: String
        var key: String?
        var tensors: [Expected]
        var orderMatters: Bool
    }

    struct Hostile {
        var file: String
        var global: String
        var sideEffect: String
    }

    static let manifest: JSONValue = {
        let data = FileManager.default.contents(atPath: torch.appendingPathComponent("manifest.json").path) ?? Data()
        return (try? JSONValue.parse(Array(data))) ?? .null
    }()

    static var good: [Good] {
        (manifest["good"]?.array ?? []).map { item in
            Good(file: item["file"]?.string ?? "?",
                 format: item["format"]?.string ?? "?",
                 key: item["key"]?.string,
                 tensors: (item["tensors"]?.array ?? []).map { t in
                     Expected(name: t["name"]?.string ?? "?",
                              dtype: t["dtype"]?.string ?? "?",
                              shape: (t["shape"]?.array ?? []).compactMap(\.int),
                              values: t["values"]?.array?.map { v in
                                  if let b = v.bool { return b ? 1 : 0 }
                                  return v.double ?? .nan
                              })
                 },
                 orderMatters: item["tensor_order_matters"]?.bool ?? true)
        }
    }

    static var hostile: [Hostile] {
        (manifest["hostile"]?.array ?? []).map {
            Hostile(file: $0["file"]?.string ?? "?", global: $0["global"]?.string ?? "?",
                    sideEffect: $0["side_effect_path"]?.string ?? "/nonexistent")
        }
    }

    static var bad: [String] {
        (manifest["bad"]?.array ?? []).compactMap { $0["file"]?.string }
    }
}
