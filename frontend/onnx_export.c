/* onnx_export.c - placeholder, being written. */
typedef int effc_placeholder_onnx_export;
