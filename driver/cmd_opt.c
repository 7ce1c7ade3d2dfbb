/* cmd_opt.c - `effc opt`: parse or import a model, verify it, print it canonically.
 * (The pass pipeline, -p, arrives with the pass manager.) */
#include "driver.h"

static int run(int argc, char **argv);

const Command cmd_opt = {
    "opt", "verify a model and print it as canonical ONNX text (or write .onnx)",
    "usage: effc opt [options] MODEL\n"
    "\n"
    "Read MODEL (ONNX text or protobuf, '-' for stdin), verify it, and write it as\n"
    "canonical ONNX text. Printing is a fixed point: opt's output fed to opt again is\n"
    "reproduced byte for byte.\n"
    "\n"
    "options:\n"
    "  -o, --output PATH   write to PATH instead of stdout; a .onnx extension writes\n"
    "                      protobuf, anything else text. Text written to a file keeps\n"
    "                      tensors above 64 bytes in PATH's .safetensors beside it\n"
    "  --weights FILE      put tensors above 64 bytes in this safetensors file (for text\n"
    "                      on stdout, or to choose the name; same directory as PATH)\n"
    "  -h, --help          show this help\n"
    "\n"
    "examples:\n"
    "  effc opt model.onnxtxt                      # verify, print canonical text\n"
    "  effc opt model.onnx -o model.onnxtxt        # text + model.safetensors\n"
    "  cat model.onnx | effc opt -                 # stdin, format sniffed\n",
    run,
};

static int run(int argc, char **argv) {
  DrvArgs a;
  int rc = drv_parse_args(&cmd_opt, DRV_OPT_OUT | DRV_OPT_WEIGHTS, argc, argv, &a);
  if (rc >= 0) return rc;
  Model *m = drv_load(a.model);
  if (!m) return EXIT_USER;
  const char *out = a.out ? a.out : "-";
  rc = drv_write_model(m, out, a.weights, drv_is_onnx_path(out), NULL);
  drv_model_done(m);
  return rc;
}
