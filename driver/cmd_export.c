/* cmd_export.c - `effc export`: any model to an .onnx protobuf file. */
#include "driver.h"

static int run(int argc, char **argv);

const Command cmd_export = {
    "export", "write a model as an .onnx protobuf",
    "usage: effc export [options] MODEL\n"
    "\n"
    "Read MODEL (text or protobuf), verify it and write an ONNX protobuf. Tensor data is\n"
    "written inline (raw_data) unless --weights is given. Refuses to write binary to a\n"
    "terminal.\n"
    "\n"
    "options:\n"
    "  -o, --output PATH   the .onnx file to write (default: stdout)\n"
    "  --ir-version N      set the model's ir_version field to N\n"
    "  --strip-effc        drop effc's own __effc_* node attributes\n"
    "  --weights FILE      store tensors above 64 bytes in this safetensors file as ONNX\n"
    "                      external data (same directory as PATH)\n"
    "  -h, --help          show this help\n"
    "\n"
    "examples:\n"
    "  effc export model.onnxtxt -o model.onnx\n"
    "  effc export model.onnxtxt -o model.onnx --ir-version 8 --strip-effc\n"
    "  effc export big.onnxtxt -o big.onnx --weights big.safetensors\n",
    run,
};

static int run(int argc, char **argv) {
  DrvArgs a;
  int rc = drv_parse_args(&cmd_export,
                          DRV_OPT_OUT | DRV_OPT_WEIGHTS | DRV_OPT_IR_VERSION | DRV_OPT_STRIP_EFFC,
                          argc, argv, &a);
  if (rc >= 0) return rc;
  Model *m = drv_load(a.model);
  if (!m) return EXIT_USER;
  ExportOptions xo = {a.ir_version, a.strip_effc};
  rc = drv_write_model(m, a.out ? a.out : "-", a.weights, true, &xo);
  drv_model_done(m);
  return rc;
}
