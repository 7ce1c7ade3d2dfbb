/* pipeline.c - pipeline strings and the pass manager loop.
 *   pipeline := step (',' step)*
 *   step     := NAME ('{' (option (',' option)*)? '}')?
 *   option   := KEY '=' value
 *   value    := '[' ... ']' | '"' ... '"' | '\'' ... '\'' | text up to ',' or '}'
 * Errors point at the column in the pipeline text. */
#include "passes.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Lex {
  const char *s;
  size_t i;
  Diag *d;
  Arena *a;
} Lex;

static SrcLoc col(const Lex *L, size_t i) {
  (void)L;
  return ir_loc(1, (int)i + 1);
}

static void skip_ws(Lex *L) {
  while (L->s[L->i] == ' ' || L->s[L->i] == '\t' || L->s[L->i] == '\n') L->i++;
}

static bool name_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/* NAME or KEY: returns an arena copy, NULL (after reporting) if empty. */
static const char *lex_name(Lex *L, const char *what) {
  skip_ws(L);
  size_t b = L->i;
  while (name_char(L->s[L->i])) L->i++;
  if (L->i == b) {
    if (L->s[b])
      ir_error(L->d, col(L, b), "expected %s, found '%c'", what, L->s[b]);
    else
      ir_error(L->d, col(L, b), "expected %s at the end of the pipeline", what);
    return NULL;
  }
  return ir_arena_strndup(L->a, L->s + b, L->i - b);
}

/* A value; brackets nest, quotes end at the same quote (a backslash escapes one char). */
static const char *lex_value(Lex *L, size_t *start) {
  skip_ws(L);
  size_t b = L->i;
  *start = b;
  char c = L->s[b];
  if (c == '"' || c == '\'') {
    char *buf = ir_arena_alloc(L->a, strlen(L->s + b) + 1);
    size_t n = 0;
    L->i++;
    while (L->s[L->i] && L->s[L->i] != c) {
      if (L->s[L->i] == '\\' && L->s[L->i + 1]) L->i++;
      buf[n++] = L->s[L->i++];
    }
    if (!L->s[L->i]) {
      ir_error(L->d, col(L, b), "unterminated quoted value");
      return NULL;
    }
    L->i++;
    buf[n] = 0;
    return buf;
  }
  if (c == '[') {
    int depth = 0;
    do {
      if (L->s[L->i] == '[')
        depth++;
      else if (L->s[L->i] == ']')
        depth--;
      L->i++;
    } while (L->s[L->i] && depth > 0);
    if (depth > 0) {
      ir_error(L->d, col(L, b), "unterminated '[' in value");
      return NULL;
    }
    return ir_arena_strndup(L->a, L->s + b + 1, L->i - b - 2);
  }
  while (L->s[L->i] && L->s[L->i] != ',' && L->s[L->i] != '}' && L->s[L->i] != '{') L->i++;
  size_t e = L->i;
  while (e > b && isspace((unsigned char)L->s[e - 1])) e--;
  return ir_arena_strndup(L->a, L->s + b, e - b);
}

static bool check_value(Lex *L, const Pass *p, const PassOptSpec *o, const char *v, size_t at) {
  char *end;
  errno = 0;
  switch (o->type) {
  case POPT_INT:
    (void)strtoll(v, &end, 0);
    if (!*v || *end || errno) {
      ir_error(L->d, col(L, at), "option '%s' of pass '%s' needs an integer, not '%s'", o->name,
               p->name, v);
      return false;
    }
    return true;
  case POPT_FLOAT: {
    double x = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(x)) {
      ir_error(L->d, col(L, at), "option '%s' of pass '%s' needs a number, not '%s'", o->name,
               p->name, v);
      return false;
    }
    return true;
  }
  default:
    return true;
  }
}

PassPipeline *pass_pipeline_parse(const char *text, Diag *d) {
  PassPipeline *pp = calloc(1, sizeof *pp);
  if (!pp) abort();
  ir_arena_init(&pp->arena);
  Lex L = {text, 0, d, &pp->arena};
  int cap = 0;
  skip_ws(&L);
  if (!text[L.i]) {
    ir_error(d, col(&L, 0), "empty pipeline");
    goto fail;
  }
  for (;;) {
    size_t at;
    skip_ws(&L);
    at = L.i;
    const char *name = lex_name(&L, "a pass name");
    if (!name) goto fail;
    const Pass *p = pass_find(name);
    if (!p) {
      ir_error(d, col(&L, at), "unknown pass '%s' (effc opt --list-passes shows them)", name);
      goto fail;
    }
    if (pp->n == cap) {
      cap = cap ? cap * 2 : 8;
      pp->steps = realloc(pp->steps, (size_t)cap * sizeof *pp->steps);
      if (!pp->steps) abort();
    }
    PassOptions *st = &pp->steps[pp->n++];
    memset(st, 0, sizeof *st);
    st->pass = p;
    skip_ws(&L);
    if (text[L.i] == '{') {
      L.i++;
      skip_ws(&L);
      int ocap = 0;
      while (text[L.i] != '}') {
        skip_ws(&L);
        size_t kat = L.i;
        const char *key = lex_name(&L, "an option name");
        if (!key) goto fail;
        const PassOptSpec *o = NULL;
        for (int k = 0; k < p->n_opts; k++)
          if (!strcmp(p->opts[k].name, key)) o = &p->opts[k];
        if (!o) {
          ir_error(d, col(&L, kat), "pass '%s' has no option '%s'", p->name, key);
          goto fail;
        }
        for (int k = 0; k < st->n; k++)
          if (!strcmp(st->keys[k], key)) {
            ir_error(d, col(&L, kat), "option '%s' given twice", key);
            goto fail;
          }
        skip_ws(&L);
        if (text[L.i] != '=') {
          ir_error(d, col(&L, L.i), "expected '=' after option '%s'", key);
          goto fail;
        }
        L.i++;
        size_t vat;
        const char *val = lex_value(&L, &vat);
        if (!val || !check_value(&L, p, o, val, vat)) goto fail;
        if (st->n == ocap) {
          ocap = ocap ? ocap * 2 : 4;
          const char **nk = ir_arena_alloc(&pp->arena, (size_t)ocap * sizeof *nk);
          const char **nv = ir_arena_alloc(&pp->arena, (size_t)ocap * sizeof *nv);
          if (st->n) {
            memcpy(nk, st->keys, (size_t)st->n * sizeof *nk);
            memcpy(nv, st->values, (size_t)st->n * sizeof *nv);
          }
          st->keys = nk;
          st->values = nv;
        }
        st->keys[st->n] = key;
        st->values[st->n++] = val;
        skip_ws(&L);
        if (text[L.i] == ',') {
          L.i++;
          continue;
        }
        if (text[L.i] != '}') {
          if (text[L.i])
            ir_error(d, col(&L, L.i), "expected ',' or '}' in the options of '%s'", p->name);
          else
            ir_error(d, col(&L, L.i), "missing '}' after the options of '%s'", p->name);
          goto fail;
        }
      }
      L.i++;
      skip_ws(&L);
    }
    if (!text[L.i]) break;
    if (text[L.i] != ',') {
      ir_error(d, col(&L, L.i), "expected ',' between passes, found '%c'", text[L.i]);
      goto fail;
    }
    L.i++;
  }
  return pp;
fail:
  pass_pipeline_free(pp);
  return NULL;
}

void pass_pipeline_free(PassPipeline *p) {
  if (!p) return;
  free(p->steps);
  ir_arena_free(&p->arena);
  free(p);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int pass_pipeline_run(Model *m, const PassPipeline *p, const PassRunOptions *ro, Diag *d) {
  PassRunOptions none = {0};
  if (!ro) ro = &none;
  FILE *rep = ro->report ? ro->report : stderr;
  double total = 0;
  const char *saved = d->prefix;
  int rc = 0;
  for (int i = 0; i < p->n && rc == 0; i++) {
    const Pass *ps = p->steps[i].pass;
    PassCtx c = {.d = d};
    d->prefix = ps->name;
    int before = d->errors;
    double t0 = now_ms();
    if ((ps->requires & PASS_REQ_SHAPES) && ps != &pass_shape_infer && ir_infer_model(m, d) != 0)
      rc = -1;
    if (rc == 0 && ps->run(m, &p->steps[i], &c) != 0) rc = -1;
    if (d->errors > before) rc = -1;
    ir_bind_ops(m);
    double dt = now_ms() - t0;
    total += dt;
    d->prefix = saved;
    if (rc == 0 && ro->verify_each) {
      d->prefix = ps->name;
      if (ir_verify(m, d) > 0) {
        ir_error(d, ir_noloc, "the model does not verify after this pass");
        rc = -1;
      }
      d->prefix = saved;
    }
    if (ro->time_passes) fprintf(rep, "time: %-16s %10.3f ms\n", ps->name, dt);
    if (ro->pass_stats)
      for (int k = 0; k < c.n_stats; k++)
        fprintf(rep, "stats: %s: %s = %lld\n", ps->name, c.stat_names[k], (long long)c.stats[k]);
    if (rc == 0 && ro->print_after_all) {
      fprintf(rep, "// ----- after %s -----\n", ps->name);
      ir_print_model(rep, m, NULL);
    }
  }
  if (ro->time_passes) fprintf(rep, "time: %-16s %10.3f ms\n", "total", total);
  return rc;
}
