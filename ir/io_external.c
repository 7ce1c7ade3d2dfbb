/* io_external.c - placeholder, being written. */
typedef int effc_placeholder_io_external;
