import ZooFuzzing

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    ZooFuzzing.fuzzLegacyH5(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}
