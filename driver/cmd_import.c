/* cmd_import.c - `effc import`: an .onnx file into ONNX text, with large weights moved to
 * a safetensors file beside it. */
#include "driver.h"

static int run(int argc, char **argv);

const Command cmd_import = {
    "import", "convert an .onnx model to ONNX text (+ .safetensors weights)",
    "usage: effc import [options] MODEL.onnx\n"
    "\n"
    "Import an ONNX protobuf model (external data included), verify it and write it as\n"
    "ONNX text. Tensors above 64 bytes go to a safetensors file, referenced from the\n"
    "text as ONNX external data (offsets count from the start of the file).\n"
    "\n"
    "options:\n"
    "  -o, --output PATH   the text file to write (default: stdout, weights inline)\n"
    "  --weights FILE      the safetensors file (default: PATH with .safetensors);\n"
    "                      must be in PATH's directory; with stdout, the text refers\n"
    "                      to FILE as given\n"
    "  -h, --help          show this help\n"
    "\n"
    "examples:\n"
    "  effc import resnet.onnx -o resnet.onnxtxt   # + resnet.safetensors\n"
    "  effc import resnet.onnx                     # everything inline on stdout\n"
    "  effc import resnet.onnx -o - --weights w.safetensors\n",
    run,
};

static int run(int argc, char **argv) {
  DrvArgs a;
  int rc = drv_parse_args(&cmd_import, DRV_OPT_OUT | DRV_OPT_WEIGHTS, argc, argv, &a);
  if (rc >= 0) return rc;
  Model *m = drv_load(a.model);
  if (!m) return EXIT_USER;
  rc = drv_write_model(m, a.out ? a.out : "-", a.weights, false, NULL);
  drv_model_done(m);
  return rc;
}
