import Testing
@testable import TorchIO
import ZooCore

/// Hand-assembled pickles for the limits that real files rarely reach.
@Suite struct UnpicklerTests {
    func load(_ bytes: [UInt8]) throws -> (PickleArena, PickleValue) {
        try bytes.withUnsafeBytes { raw in
            var u = SafeUnpickler(raw)
            let v = try u.load()
            return (u.arena, v)
        }
    }

    @Test func readsPlainContainers() throws {
        // {'a': [1, 2.5, 'x'], 'b': (True, None)} as pickle protocol 2
        let bytes: [UInt8] = [0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x01, 0, 0, 0, 0x61, 0x5d, 0x71, 0x01,
                              0x28, 0x4b, 0x01, 0x47, 0x40, 0x04, 0, 0, 0, 0, 0, 0, 0x58, 0x01, 0, 0, 0, 0x78, 0x65,
                              0x58, 0x01, 0, 0, 0, 0x62, 0x88, 0x4e, 0x86, 0x75, 0x2e]
        let (arena, root) = try load(bytes)
        let entries = try #require(arena.dictEntries(root))
        #expect(entries.map(\.0) == [.string("a"), .string("b")])
        #expect(arena[entries[0].1] == .list([.int(1), .float(2.5), .string("x")]))
        #expect(arena[entries[1].1] == .tuple([.bool(true), .none]))
    }

    @Test func selfReferenceDoesNotRecurse() throws {
        // l = []; l.append(l)
        let (arena, root) = try load([0x80, 0x02, 0x5d, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2e])
        #expect(arena[root] == .list([root]))
        #expect(throws: ZooError.self) { try Checkpoint.select(arena, root, key: nil) }
    }

    @Test func deepMarkNestingIsRefused() {
        let bytes: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x28, count: 100_000) + [0x2e]
        let error = #expect(throws: ZooError.self) { try load(bytes) }
        #expect(error?.message.contains("MARK nesting") == true)
    }

    @Test func deepListNestingLoadsFlat() throws {
        // 100 000 lists pushed, then each APPENDed into the one below: a chain 100 000 deep.
        // Loading, summarising and releasing it must not recurse.
        let depth = 100_000
        let bytes: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x5d, count: depth + 1) + [UInt8](repeating: 0x61, count: depth) + [0x2e]
        let (arena, root) = try load(bytes)
        #expect(arena.objects.count == depth + 1)
        #expect(arena.summary(root) == "list with 1 items")
    }

    @Test func lengthsAreCheckedBeforeAllocation() {
        // BINUNICODE claiming 2 GiB with 3 bytes present
        let error = #expect(throws: ZooError.self) { try load([0x80, 0x02, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x61, 0x62, 0x63]) }
        #expect(error?.message.contains("truncated") == true)
    }

    @Test func unknownOpcodesAndGlobalsAreRefused() {
        // INST (used by protocol 0 to build arbitrary objects)
        #expect(throws: ZooError.self) { try load([0x80, 0x02, 0x69] + Array("os\nsystem\n".utf8) + [0x2e]) }
        // GLOBAL builtins.getattr
        let error = #expect(throws: ZooError.self) { try load([0x80, 0x02, 0x63] + Array("builtins\ngetattr\n".utf8) + [0x2e]) }
        #expect(error?.kind == .refused)
        #expect(error?.message.contains("'builtins.getattr'") == true)
        // STACK_GLOBAL spelled from strings is checked the same way
        let stacked = #expect(throws: ZooError.self) {
            try load([0x80, 0x04, 0x8c, 0x02] + Array("os".utf8) + [0x8c, 0x06] + Array("system".utf8) + [0x93, 0x2e])
        }
        #expect(stacked?.message.contains("'os.system'") == true)
    }

    @Test func missingMemoAndEmptyStackAreErrors() {
        #expect(throws: ZooError.self) { try load([0x80, 0x02, 0x68, 0x05, 0x2e]) }
        #expect(throws: ZooError.self) { try load([0x80, 0x02, 0x2e]) }
        #expect(throws: ZooError.self) { try load([0x80, 0x02, 0x61, 0x2e]) }
        #expect(throws: ZooError.self) { try load([0x80, 0x02]) }
    }
}
