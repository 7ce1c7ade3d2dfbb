/* cmd_compare.c - `effc compare A B`: compare two data files (.npy or .pb) with the rule the
 * interpreter's tests use (CONTRACTS.md): same dtype and shape, |a-b| <= atol + rtol*|b|. */
#include "driver.h"
#include "runtime.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

static int run(int argc, char **argv);

const Command cmd_compare = {
    "compare", "compare two .npy/.pb files within tolerances",
    "usage: effc compare [options] GOT WANT\n"
    "\n"
    "Compare two data files (.npy, or ONNX TensorProto .pb): the element type and shape\n"
    "must be equal; floating-point elements must satisfy |got - want| <= atol + rtol*|want|\n"
    "(NaN matches NaN); integers, booleans and strings must be equal. float8/float4 compare\n"
    "as decoded values. Prints 'match' or the first mismatch; exit 0 on a match, 1 if not.\n"
    "\n"
    "options:\n"
    "  --atol X    absolute tolerance (default 1e-7)\n"
    "  --rtol Y    relative tolerance (default 1e-3)\n"
    "  -h, --help  show this help\n",
    run,
};

static int run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'}, {"atol", required_argument, NULL, 'a'},
      {"rtol", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
  RtTolerance tol = RT_TOL_DEFAULT;
  optind = 1;
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    if (ch == 'h') {
      drv_print_help(&cmd_compare);
      return EXIT_OK;
    }
    if (ch == ':') return drv_usage_error("compare", "option '%s' needs a value", argv[optind - 1]);
    if (ch == '?') return drv_usage_error("compare", "unknown option '%s'", argv[optind - 1]);
    char *end;
    errno = 0;
    double x = strtod(optarg, &end);
    if (errno || end == optarg || *end || !(x >= 0))
      return drv_usage_error("compare", "--%s needs a number >= 0", ch == 'a' ? "atol" : "rtol");
    if (ch == 'a') tol.atol = x;
    else tol.rtol = x;
  }
  if (argc - optind != 2) return drv_usage_error("compare", "needs two files, GOT and WANT");
  RtValue *a = drv_read_value(argv[optind], NULL, "compare");
  RtValue *b = a ? drv_read_value(argv[optind + 1], NULL, "compare") : NULL;
  if (!a || !b) {
    rt_unref(a);
    return EXIT_USER;
  }
  char why[400];
  bool ok = rt_compare(a, b, tol, why, sizeof why);
  if (ok) printf("match\n");
  else printf("mismatch: %s\n", why);
  rt_unref(a);
  rt_unref(b);
  return ok ? EXIT_OK : EXIT_USER;
}
