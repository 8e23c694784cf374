#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The current time through strftime: `utc` or local time.
public func timestamp(_ format: String, utc: Bool) -> String {
    var now = time(nil)
    var parts = tm()
    if utc { gmtime_r(&now, &parts) } else { localtime_r(&now, &parts) }
    var buffer = [CChar](repeating: 0, count: 64)
    let n = strftime(&buffer, buffer.count, format, &parts)
    return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
