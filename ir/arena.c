/* arena.c - the bump allocator that owns a model's small objects, byte strings, and the
 * growable vectors used while building. Big arenas fault their next chunk's pages in on a
 * helper thread while the current chunk fills. */
#include "ir.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct ArenaChunk {
  ArenaChunk *next;
  size_t size; /* bytes after the header */
  bool mapped; /* an anonymous mapping of size + header bytes (else calloc'd) */
  max_align_t data[];
};

/* Chunks start at 64 KB and double up to 4 MB, so big graphs make few, large, lazily
 * zeroed chunks; the first chunks stay small for small models.
 *
 * Page faults: a million-node graph fills ~400 MB of chunks, one page fault per 4 KB page,
 * and on a VM those faults were a fifth of the parse. So once an arena grows to chunks of
 * ARENA_AHEAD_MIN and more, a helper thread maps its next chunk and faults the pages in
 * (MADV_POPULATE_WRITE) while the current chunk fills; the owner takes that chunk when it
 * needs one and the helper is done (else it makes one itself, as without the helper). The
 * owner never waits for the helper except in ir_arena_free, and the arena's contents are
 * the same either way. (Transparent huge pages were tried too: on this VM a fresh 2 MB page
 * sometimes costs milliseconds.) Under the sanitizers chunks come from calloc and nothing
 * runs ahead, so LeakSanitizer, which scans heap blocks for pointers, sees all arena memory. */
#define ARENA_CHUNK_MIN (64 * 1024)
#define ARENA_CHUNK_MAX (4 * 1024 * 1024)
#define ARENA_AHEAD_MIN (1024 * 1024)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ARENA_AHEAD 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) ||                   \
    __has_feature(thread_sanitizer)
#define ARENA_AHEAD 0
#endif
#endif
#ifndef ARENA_AHEAD
#define ARENA_AHEAD 1
#endif

/* The helper making the next chunk. */
struct ArenaJob {
  pthread_t thread;
  size_t size;       /* room wanted */
  ArenaChunk *chunk; /* the result (NULL if mapping failed), valid once done */
  atomic_bool done;
};

static void *oom(void) {
  fputs("effc: out of memory\n", stderr);
  abort();
}

void ir_arena_init(Arena *a) {
  memset(a, 0, sizeof *a);
}

static void chunk_free(ArenaChunk *c) {
  if (c->mapped) munmap(c, c->size + sizeof *c);
  else free(c);
}

/* The helper's chunk: waits for it when `wait`, else NULL while the helper runs. */
static ArenaChunk *job_take(Arena *a, bool wait) {
  struct ArenaJob *j = a->job;
  if (!j || (!wait && !atomic_load_explicit(&j->done, memory_order_acquire))) return NULL;
  pthread_join(j->thread, NULL);
  ArenaChunk *c = j->chunk;
  free(j);
  a->job = NULL;
  return c;
}

void ir_arena_free(Arena *a) {
  ArenaChunk *spare = job_take(a, true);
  if (spare) chunk_free(spare);
  ArenaChunk *c = a->head;
  while (c) {
    ArenaChunk *n = c->next;
    chunk_free(c);
    c = n;
  }
  memset(a, 0, sizeof *a);
}

/* A zeroed chunk with `size` bytes of room. */
static ArenaChunk *new_chunk(size_t size) {
  if (size > SIZE_MAX / 2) oom();
  ArenaChunk *c = calloc(1, size + sizeof *c);
  if (!c) oom();
  c->size = size;
  c->mapped = false;
  return c;
}

static void *job_run(void *arg) {
  struct ArenaJob *j = arg;
  long pg = sysconf(_SC_PAGESIZE);
  size_t page = pg > 0 ? (size_t)pg : 4096, len = j->size + sizeof(ArenaChunk);
  len = (len + page - 1) / page * page;
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p != MAP_FAILED) {
    madvise(p, len, MADV_POPULATE_WRITE); /* may fail (old kernel): then nothing is gained */
    ArenaChunk *c = p;
    c->size = len - sizeof *c;
    c->mapped = true;
    j->chunk = c;
  }
  atomic_store_explicit(&j->done, true, memory_order_release);
  return NULL;
}

static void job_start(Arena *a, size_t size) {
  struct ArenaJob *j = malloc(sizeof *j);
  if (!j) return;
  j->size = size;
  j->chunk = NULL;
  atomic_init(&j->done, false);
  if (pthread_create(&j->thread, NULL, job_run, j) != 0) {
    free(j);
    return;
  }
  a->job = j;
}

/* Room for n bytes in a fresh chunk (or a chunk of its own for a big block, linked behind
 * the current one so the bump region stays); returns where the block goes. For `top`
 * (strings), the block is cut from the chunk's end; objects are cut from its start. */
static char *refill(Arena *a, size_t n, bool top) {
  size_t chunk = a->chunk ? a->chunk : ARENA_CHUNK_MIN;
  if (n > chunk / 4) {
    ArenaChunk *c = new_chunk(n);
    if (a->head) {
      c->next = a->head->next;
      a->head->next = c;
    } else {
      c->next = NULL;
      a->head = c;
    }
    a->total += n;
    return (char *)c->data;
  }
  ArenaChunk *c = job_take(a, false);
  if (c && c->size < n) { /* cannot happen (chunks only grow), but stay safe */
    chunk_free(c);
    c = NULL;
  }
  if (!c) c = new_chunk(chunk);
  c->next = a->head;
  a->head = c;
  a->cur = (char *)c->data;
  a->end = a->cur + c->size;
  a->chunk = chunk < ARENA_CHUNK_MAX ? chunk * 2 : chunk;
  if (ARENA_AHEAD && a->chunk >= ARENA_AHEAD_MIN && !a->job) job_start(a, a->chunk);
  a->total += n;
  if (top) return a->end -= n;
  char *p = a->cur;
  a->cur += n;
  return p;
}

/* Objects are aligned as their size allows: 16 bytes when n is a multiple of 16, else 8
 * (a C object's alignment divides its size, and nothing in the IR needs more than 8), so
 * a 24-byte Use takes 24 bytes, not 32. Chunks are zeroed when made and never reused. */
void *ir_arena_alloc(Arena *a, size_t n) {
  if (n == 0) n = 8;
  if (n > SIZE_MAX - 16) oom();
  size_t mask = (n & 15) ? 7 : 15;
  n = (n + 7) & ~(size_t)7;
  char *p = (char *)(((uintptr_t)a->cur + mask) & ~(uintptr_t)mask);
  size_t room = a->cur ? (size_t)(a->end - a->cur) : 0;
  if (n > room || (size_t)(p - a->cur) > room - n)
    return refill(a, n, false); /* chunk starts are 16-byte aligned */
  a->cur = p + n;
  a->total += n;
  return p;
}

void *ir_arena_dup(Arena *a, const void *p, size_t n) {
  void *q = ir_arena_alloc(a, n);
  if (n) memcpy(q, p, n);
  return q;
}

/* Strings need no alignment: they are cut from the top of the current chunk, so they
 * leave no padding between the objects below. */
char *ir_arena_strndup(Arena *a, const char *s, size_t n) {
  if (n >= SIZE_MAX - 16) oom();
  char *q;
  if (a->cur && n + 1 <= (size_t)(a->end - a->cur)) {
    q = a->end -= n + 1;
    a->total += n + 1;
  } else {
    q = refill(a, n + 1, true);
  }
  if (n) memcpy(q, s, n);
  q[n] = 0;
  return q;
}

char *ir_arena_strdup(Arena *a, const char *s) {
  return s ? ir_arena_strndup(a, s, strlen(s)) : NULL;
}

char *ir_arena_printf(Arena *a, const char *fmt, ...) {
  if (!fmt) fmt = ""; /* also tells gcc's sanitizer builds fmt is not NULL */
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
