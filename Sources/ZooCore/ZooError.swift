/// The one error type zoo shows a user: a single sentence saying what was expected,
/// what was found, and where.
public struct ZooError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// The input is not in the format it claims to be, or is damaged.
        case format
        /// The input asks for something zoo refuses to do (an unsafe pickle global).
        case refused
        /// The input is well formed but does not fit what was asked (architecture, shapes).
        case mismatch
        /// The operating system refused a read or write.
        case io
        /// The command line asked for something impossible.
        case usage
        /// A numeric check failed.
        case verification
        /// zoo itself went wrong (a broken invariant, not the input): a bug to report.
        case `internal`
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// The same error with `context` (usually a file name) put in front of the message.
    public func prefixed(_ context: String) -> ZooError {
        ZooError(kind, "\(context): \(message)")
    }
}
