/* cmd_dot.c - `effc dot`: the model's graph as Graphviz. */
#include "driver.h"

#include <string.h>

static int run(int argc, char **argv);

const Command cmd_dot = {
    "dot", "draw the model's graph as Graphviz dot",
    "usage: effc dot [options] MODEL\n"
    "\n"
    "Write the main graph of MODEL as a Graphviz digraph: inputs, initializers, nodes and\n"
    "outputs, edges labelled with value names and types, subgraphs as clusters.\n"
    "\n"
    "options:\n"
    "  -o, --output PATH   write to PATH instead of stdout\n"
    "  -h, --help          show this help\n"
    "\n"
    "examples:\n"
    "  effc dot model.onnxtxt | dot -Tsvg -o model.svg\n",
    run,
};

static int run(int argc, char **argv) {
  DrvArgs a;
  int rc = drv_parse_args(&cmd_dot, DRV_OPT_OUT, argc, argv, &a);
  if (rc >= 0) return rc;
  Model *m = drv_load(a.model);
  if (!m) return EXIT_USER;
  const char *out = a.out ? a.out : "-";
  char err[512];
  AtomicFile af;
  rc = EXIT_OK;
  if (!ir_atomic_open(&af, out, err, sizeof err)) {
    fprintf(stderr, "%s: error: %s\n", drv_prog, err);
    rc = EXIT_USER;
  } else if (ir_dot_model(af.fp, m) != 0) {
    ir_atomic_abort(&af);
    fprintf(stderr, "%s: error: %s: write error\n", drv_prog, out);
    rc = EXIT_USER;
  } else if (!ir_atomic_commit(&af, err, sizeof err)) {
    fprintf(stderr, "%s: error: %s\n", drv_prog, err);
    rc = EXIT_USER;
  }
  drv_model_done(m);
  return rc;
}
