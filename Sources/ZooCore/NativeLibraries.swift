import CZooKernels
import CHDF5
import CZip

/// Versions of the C libraries zoo is linked against, for `zoo --version` and bug reports.
public enum NativeLibraries {
    /// Call first thing in a process, before any HDF5 use: turns off HDF5's error printing and
    /// its clean-up at exit (which crashes retrying the close of a file whose close failed, as on
    /// a full disk; zoo closes its files itself).
    public static func prepareHDF5() { zoo_h5_silence_errors() }

    /// The fault and signal handlers (see `zoo_install_fault_handlers`), before any thread
    /// starts, so every thread inherits the signal mask they need.
    public static func installFaultHandlers() { zoo_install_fault_handlers() }

    public static var hdf5Version: String {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }

    public static var libzipVersion: String { String(cString: zip_libzip_version()) }

    /// Binds BLAS (once; it is loaded only by processes that compute). Throws when it is missing.
    public static func requireBLAS() throws {
        if let problem = zoo_blas_load() { throw ZooError(.io, String(cString: problem)) }
    }

    /// A 2×2 sgemm through BLAS, proving the library loads and computes.
    public static func blasSelfCheck() -> Bool {
        guard (try? requireBLAS()) != nil else { return false }
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        var c = [Float](repeating: 0, count: 4)
        zoo_sgemm(0, 0, 2, 2, 2, 1, a, 2, b, 2, 0, &c, 2)
        return c == [19, 22, 43, 50]
    }
}
