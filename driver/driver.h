/* driver.h - the effc command: shared option handling and model I/O for the commands
 * (one file each: cmd_opt.c, cmd_import.c, cmd_run.c, ...). */
#ifndef EFFC_DRIVER_H
#define EFFC_DRIVER_H

#include "frontend.h"

/* exit statuses (CONTRACTS.md) */
enum { EXIT_OK = 0, EXIT_USER = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3 };

typedef struct Command {
  const char *name;
  const char *summary;
  const char *help; /* full --help text */
  int (*run)(int argc, char **argv);
} Command;

/* Options shared by the commands; each command allows a subset (DRV_OPT_* bits). */
enum { DRV_OPT_OUT = 1, DRV_OPT_WEIGHTS = 2, DRV_OPT_IR_VERSION = 4, DRV_OPT_STRIP_EFFC = 8 };
typedef struct DrvArgs {
  const char *model; /* the operand */
  const char *out;   /* -o, NULL if absent */
  const char *weights;
  int64_t ir_version;
  bool strip_effc;
  bool help;
} DrvArgs;

/* main.c */
/* GNU-style parsing (options before or after the operand). Returns -1 when the arguments
 * are fine, else the exit status to return (usage error, or 0 after --help). */
int drv_parse_args(const Command *c, unsigned allowed, int argc, char **argv, DrvArgs *a);
extern const char *drv_prog;
int drv_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void drv_print_help(const Command *c);
/* Load a model (text or protobuf, sniffed; "-" is stdin) and verify it: structure and
 * operator schemas (ir_verify), then declared types and shapes against inference
 * (ir_infer_check) unless drv_type_check is off. NULL after an error has been reported. */
extern bool drv_type_check;
Model *drv_load(const char *path);
/* Write a model to `out` ("-" = stdout) as protobuf (binary) or text.
 * Text written to a file puts tensors above 64 bytes in a safetensors file (weights, or
 * OUT with its extension replaced by .safetensors); text on stdout keeps data inline unless
 * weights is given. Binary keeps data inline unless weights is given. Returns an exit status. */
int drv_write_model(Model *m, const char *out, const char *weights, bool binary,
                    const ExportOptions *xo);
bool drv_is_onnx_path(const char *path);
/* --shape NAME=D,... and --dim N=V, then shape inference when any was given. Returns an
 * exit status. */
int drv_specialize(Model *m, const char *const *shapes, int nshapes, const char *const *dims,
                   int ndims, Diag *d); /* ends in .onnx: -o picks the binary format */
/* The command is done with m and about to exit: free it, or (outside sanitizer builds)
 * leave it to the exit. */
void drv_model_done(Model *m);

/* one descriptor per command file */
extern const Command cmd_opt, cmd_import, cmd_export, cmd_dot, cmd_run, cmd_compare, cmd_stats,
    cmd_compile;
extern const Command cmd_zne; /* cmd_zne.c: effc.qc zero-noise extrapolation */
extern const Command cmd_eval; /* cmd_eval.c: accuracy, perplexity, per-layer SQNR */

/* cmd_run.c: read a .npy or .pb file as a runtime value, decoded by `declared` (may be
 * NULL); errors go to stderr naming the file. */
struct RtValue;
struct RtValue *drv_read_value(const char *path, const Type *declared, const char *what);

#endif
