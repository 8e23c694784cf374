#ifndef ZOO_CHDF5_SHIM_H
#define ZOO_CHDF5_SHIM_H
#include <hdf5.h>

// HDF5's type and property-list "constants" are macros that call H5open() and read
// globals; Swift cannot import them, so each is wrapped here as a static inline function.
static inline hid_t zoo_h5t_native_float(void)  { return H5T_NATIVE_FLOAT; }
static inline hid_t zoo_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t zoo_h5t_native_int64(void)  { return H5T_NATIVE_INT64; }
static inline hid_t zoo_h5t_native_int32(void)  { return H5T_NATIVE_INT32; }
static inline hid_t zoo_h5t_native_uint8(void)  { return H5T_NATIVE_UINT8; }
static inline hid_t zoo_h5t_ieee_f32le(void)    { return H5T_IEEE_F32LE; }
static inline hid_t zoo_h5t_ieee_f64le(void)    { return H5T_IEEE_F64LE; }
static inline hid_t zoo_h5t_c_s1(void)          { return H5T_C_S1; }
static inline hid_t zoo_h5p_default(void)       { return H5P_DEFAULT; }
static inline hid_t zoo_h5p_file_access(void)   { return H5P_FILE_ACCESS; }
static inline hid_t zoo_h5p_file_create(void)   { return H5P_FILE_CREATE; }
static inline hid_t zoo_h5p_dataset_create(void){ return H5P_DATASET_CREATE; }
static inline hid_t zoo_h5p_link_create(void)   { return H5P_LINK_CREATE; }
static inline hid_t zoo_h5s_all(void)           { return H5S_ALL; }
static inline unsigned zoo_h5f_acc_trunc(void)  { return H5F_ACC_TRUNC; }
static inline unsigned zoo_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned zoo_h5f_acc_excl(void)   { return H5F_ACC_EXCL; }
/// IEEE half precision, little-endian, defined exactly as h5py defines float16 (HDF5 has no
/// predefined one). The caller closes it.
static inline hid_t zoo_h5t_ieee_f16le_copy(void) {
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) { H5Tclose(t); return -1; }
    return t;
}
/// `HADDR_UNDEF`, the address of storage not yet allocated.
static inline haddr_t zoo_haddr_undef(void)     { return HADDR_UNDEF; }
/// `H5T_VARIABLE`, the size that makes a string type variable-length.
static inline size_t zoo_h5t_variable(void)     { return H5T_VARIABLE; }

/// Prepares HDF5 for zoo, once, before any other HDF5 call: no automatic error printing (zoo
/// reports errors itself), and no clean-up at process exit. HDF5's exit handler retries closing
/// a file whose close already failed (a full disk) and crashes doing so; zoo closes every file
/// itself, so the handler has nothing left to do.
static inline void zoo_h5_silence_errors(void) {
    static int prepared = 0;
    if (!prepared) {
        H5dont_atexit();
        prepared = 1;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}
#endif
