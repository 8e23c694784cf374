import Testing
@testable import KerasIO
