/* frontend.h - text and protobuf into the IR and back: the ONNX textual-syntax parser
 * (lexer.l, parser.y, parse.c) and the .onnx importer and exporter (onnx_import.c,
 * onnx_export.c). Uses only ir/. */
#ifndef EFFC_FRONTEND_H
#define EFFC_FRONTEND_H

#include "ir.h"

/* ------------------------------------------------------------------ parse.c */
/* Parse ONNX text. `text[len]` and `text[len+1]` must be NUL (MappedFile guarantees it).
 * Errors go to d with file:line:col, the source line and a caret; returns NULL on error.
 * The model does not take ownership of text. */
Model *fe_parse(const char *path, const char *text, size_t len, Diag *d);

/* ------------------------------------------------------------------ onnx_import.c */
/* Import a ModelProto. Depth is pre-scanned (IR_PB_MAX_DEPTH); fields the IR does not model
 * are kept in IrBytes extra. External data is referenced, not loaded. */
Model *fe_onnx_import(const uint8_t *buf, size_t len, const char *path, Diag *d);

/* ------------------------------------------------------------------ onnx_export.c */
typedef struct ExportOptions {
  int64_t ir_version;  /* 0 = keep the model's */
  bool strip_effc;     /* drop attributes named __effc_* */
} ExportOptions;
/* Serialize to a malloc'd buffer (*out, *out_len). */
bool fe_onnx_export(const Model *m, const ExportOptions *opt, uint8_t **out, size_t *out_len,
                    Diag *d);

/* ------------------------------------------------------------------ load.c */
/* Read a model file: "-" is stdin; the format is sniffed (protobuf or text), not taken from
 * the extension. m->base_dir is set to the file's directory. */
Model *fe_load(const char *path, Diag *d);
/* The same for bytes the caller has mapped (so diagnostics after loading, e.g. from the
 * verifier, can still quote the source): sniffs, parses or imports, sets base_dir from path. */
Model *fe_load_mapped(const char *path, const MappedFile *f, Diag *d);
/* True if the bytes look like ONNX text rather than a ModelProto. */
bool fe_sniff_text(const uint8_t *buf, size_t len);

#endif
