import Testing
@testable import ZooCompute
