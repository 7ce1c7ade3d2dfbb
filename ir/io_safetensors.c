/* io_safetensors.c - placeholder, being written. */
typedef int effc_placeholder_io_safetensors;
