/* io_npy.c - placeholder, being written. */
typedef int effc_placeholder_io_npy;
