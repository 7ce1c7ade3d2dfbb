/* onnx_import.c - placeholder, being written. */
typedef int effc_placeholder_onnx_import;
