/* arena.c - the bump allocator that owns a model's small objects, byte strings, and the
 * growable vectors used while building. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

struct ArenaChunk {
  ArenaChunk *next;
  size_t size;
  max_align_t data[];
};

/* Chunks start at 64 KB and double up to 4 MB, so big graphs make few, large, lazily
 * zeroed (calloc'd) chunks; the first chunks stay small for small models. */
#define ARENA_CHUNK_MIN (64 * 1024)
#define ARENA_CHUNK_MAX (4 * 1024 * 1024)

static void *oom(void) {
  fputs("effc: out of memory\n", stderr);
  abort();
}

void ir_arena_init(Arena *a) {
  memset(a, 0, sizeof *a);
}

void ir_arena_free(Arena *a) {
  ArenaChunk *c = a->head;
  while (c) {
    ArenaChunk *n = c->next;
    free(c);
    c = n;
  }
  memset(a, 0, sizeof *a);
}

static ArenaChunk *new_chunk(size_t size) {
  ArenaChunk *c = calloc(1, sizeof *c + size);
  if (!c) oom();
  c->size = size;
  return c;
}

void *ir_arena_alloc(Arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (n == 0) n = 16;
  if ((size_t)(a->end - a->cur) < n) {
    size_t chunk = a->chunk ? a->chunk : ARENA_CHUNK_MIN;
    if (n > chunk / 4) {
      /* big block: its own chunk, linked behind the current one so the bump region stays */
      ArenaChunk *c = new_chunk(n);
      if (a->head) {
        c->next = a->head->next;
        a->head->next = c;
      } else {
        c->next = NULL;
        a->head = c;
      }
      a->total += n;
      return c->data;
    }
    ArenaChunk *c = new_chunk(chunk);
    c->next = a->head;
    a->head = c;
    a->cur = (char *)c->data;
    a->end = a->cur + chunk;
    a->chunk = chunk < ARENA_CHUNK_MAX ? chunk * 2 : chunk;
  }
  void *p = a->cur; /* chunks are zeroed when made and never reused */
  a->cur += n;
  a->total += n;
  return p;
}

void *ir_arena_dup(Arena *a, const void *p, size_t n) {
  void *q = ir_arena_alloc(a, n);
  if (n) memcpy(q, p, n);
  return q;
}

char *ir_arena_strndup(Arena *a, const char *s, size_t n) {
  if (n == SIZE_MAX) oom();
  char *q = ir_arena_alloc(a, n + 1);
  if (n) memcpy(q, s, n);
  q[n] = 0;
  return q;
}

char *ir_arena_strdup(Arena *a, const char *s) {
  return s ? ir_arena_strndup(a, s, strlen(s)) : NULL;
}

char *ir_arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  char *q = ir_arena_alloc(a, (size_t)n + 1);
  vsnprintf(q, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return q;
}

IrStr ir_str(Arena *a, const char *s, size_t len) {
  IrStr r = {ir_arena_strndup(a, s, len), len};
  return r;
}

void ir_vec_grow_(void **v, size_t *cap, size_t need, size_t elem) {
  size_t c = *cap ? *cap : 4;
  while (c < need) {
    if (c > SIZE_MAX / 2 / elem) oom();
    c *= 2;
  }
  void *p = realloc(*v, c * elem);
  if (!p) oom();
  *v = p;
  *cap = c;
}
