/* load.c - read a model file ("-" is stdin): map it, sniff ONNX text from a ModelProto by
 * its bytes (not the extension), parse or import it, and record the file's directory, which
 * external data locations are relative to. */
#include "frontend.h"

#include <string.h>

/* Text is printable: a serialized ModelProto starts with a field tag, almost always a
 * control byte (0x08 ir_version, 0x12 producer_name, ...), and holds length bytes and varints
 * below 0x20 within its first few hundred bytes. UTF-8 (bytes >= 0x80) counts as text. */
bool fe_sniff_text(const uint8_t *buf, size_t len) {
  size_t n = len < 4096 ? len : 4096;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = buf[i];
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') || c == 0x7f)
      return false;
  }
  return true;
}

/* The directory part of path ("." when there is none). */
static const char *dir_of(Arena *a, const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return ir_arena_strdup(a, ".");
  if (slash == path) return ir_arena_strdup(a, "/");
  return ir_arena_strndup(a, path, (size_t)(slash - path));
}

Model *fe_load_mapped(const char *path, const MappedFile *f, Diag *d) {
  Model *m = fe_sniff_text(f->data, f->len) ? fe_parse(path, (const char *)f->data, f->len, d)
                                            : fe_onnx_import(f->data, f->len, path, d);
  if (m) m->base_dir = strcmp(path, "-") ? dir_of(&m->arena, path) : NULL;
  return m;
}

Model *fe_load(const char *path, Diag *d) {
  MappedFile f;
  char err[1024];
  if (!ir_file_map(path, &f, err, sizeof err)) {
    const char *file = d->file;
    d->file = NULL; /* err already names the file */
    ir_error(d, ir_noloc, "%s", err);
    d->file = file;
    return NULL;
  }
  /* caret lines point into the text while it is mapped */
  bool set_src = d->src == NULL;
  if (set_src) {
    d->src = (const char *)f.data;
    d->src_len = f.len;
  }
  Model *m = fe_load_mapped(path, &f, d);
  if (set_src) {
    d->src = NULL;
    d->src_len = 0;
  }
  ir_file_unmap(&f);
  return m;
}
