/* io_pb.c - placeholder, being written. */
typedef int effc_placeholder_io_pb;
