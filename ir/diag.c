/* diag.c - the one diagnostics printer: "file:line:col: error: message", the source line
 * and a caret under the column, then notes. */
#include "ir.h"

#include <string.h>

const SrcLoc ir_noloc = {0, 0};

void ir_diag_init(Diag *d, FILE *out, const char *file, const char *src, size_t src_len) {
  memset(d, 0, sizeof *d);
  d->out = out ? out : stderr;
  d->file = file;
  d->src = src;
  d->src_len = src_len;
}

/* Find the start and length of 1-based line `line` in src. */
static bool find_line(const Diag *d, int line, const char **start, size_t *len) {
  if (!d->src || line < 1) return false;
  const char *p = d->src, *end = d->src + d->src_len;
  for (int l = 1; l < line; l++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return false;
    p = nl + 1;
  }
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  *start = p;
  *len = (size_t)((nl ? nl : end) - p);
  if (*len && p[*len - 1] == '\r') (*len)--;
  return true;
}

void ir_diag_vreport(Diag *d, DiagLevel lvl, SrcLoc loc, const char *fmt, va_list ap) {
  static const char *const names[] = {"error", "warning", "note"};
  if (!fmt) fmt = ""; /* also tells gcc's sanitizer builds fmt is not NULL */
  if (lvl == DIAG_ERROR) d->errors++;
  if (lvl == DIAG_WARNING) d->warnings++;
  int max = d->max_errors ? d->max_errors : 20;
  if (d->errors > max) return;
  FILE *o = d->out ? d->out : stderr;
  if (lvl == DIAG_ERROR && d->errors == max) {
    fprintf(o, "%s: error: too many errors, stopping here\n", d->file ? d->file : "effc");
    return;
  }
  if (d->file) fputs(d->file, o);
  else fputs("effc", o);
  if (loc.line > 0) fprintf(o, ":%d:%d", loc.line, loc.col);
  fprintf(o, ": %s: ", names[lvl]);
  if (d->prefix) fprintf(o, "%s: ", d->prefix);
  vfprintf(o, fmt, ap);
  fputc('\n', o);
  const char *ls;
  size_t ll;
  if (loc.line > 0 && find_line(d, loc.line, &ls, &ll)) {
    /* The source line (tabs kept, so the caret line copies them to stay aligned). */
    fwrite(ls, 1, ll, o);
    fputc('\n', o);
    for (int c = 1; c < loc.col && (size_t)(c - 1) < ll; c++) fputc(ls[c - 1] == '\t' ? '\t' : ' ', o);
    fputs("^\n", o);
  }
}

void ir_diag_report(Diag *d, DiagLevel lvl, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ir_diag_vreport(d, lvl, loc, fmt, ap);
  va_end(ap);
}

#define DIAG_FN(fn, lvl)                                                                       \
  void fn(Diag *d, SrcLoc loc, const char *fmt, ...) {                                         \
    va_list ap;                                                                                \
    va_start(ap, fmt);                                                                         \
    ir_diag_vreport(d, lvl, loc, fmt, ap);                                                     \
    va_end(ap);                                                                                \
  }
DIAG_FN(ir_error, DIAG_ERROR)
DIAG_FN(ir_warning, DIAG_WARNING)
DIAG_FN(ir_note, DIAG_NOTE)
