/* fileio.c - whole-file input (mmap, or a copy for pipes and stdin) and atomic output
 * (write to a temporary beside the target, fsync, rename). */
#include "ir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static bool read_all(int fd, MappedFile *f, char *err, size_t errlen, const char *path) {
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (!buf) {
      snprintf(err, errlen, "%s: out of memory", path);
      return false;
    }
    if (cap - n < 3) {
      uint8_t *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        continue;
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n - 2);
    if (r < 0) {
      if (errno == EINTR) continue;
      snprintf(err, errlen, "%s: %s", path, strerror(errno));
      free(buf);
      return false;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  buf[n] = buf[n + 1] = 0;
  f->data = buf;
  f->len = n;
  f->mapped = false;
  return true;
}

bool ir_file_map(const char *path, MappedFile *f, char *err, size_t errlen) {
  memset(f, 0, sizeof *f);
  if (!strcmp(path, "-")) return read_all(0, f, err, errlen, "<stdin>");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    close(fd);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "%s: is a directory", path);
    close(fd);
    return false;
  }
  bool ok;
  long page = sysconf(_SC_PAGESIZE);
  size_t len = (size_t)st.st_size;
  /* Map regular files when the page tail holds the two NULs the lexer needs. */
  if (S_ISREG(st.st_mode) && len > 0 && page > 0 && len % (size_t)page != 0 &&
      len % (size_t)page <= (size_t)page - 2) {
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      f->data = p;
      f->len = len;
      f->mapped = true;
      ok = true;
    } else {
      ok = read_all(fd, f, err, errlen, path);
    }
  } else {
    ok = read_all(fd, f, err, errlen, path);
  }
  close(fd);
  return ok;
}

void ir_file_unmap(MappedFile *f) {
  if (!f->data) return;
  if (f->mapped) munmap((void *)f->data, f->len);
  else free((void *)f->data);
  memset(f, 0, sizeof *f);
}

bool ir_atomic_open(AtomicFile *f, const char *path, char *err, size_t errlen) {
  memset(f, 0, sizeof *f);
  if (!strcmp(path, "-")) {
    f->fp = stdout;
    return true;
  }
  /* Devices, pipes and other special files (/dev/null, a FIFO) are written in place:
   * renaming over them would replace the device with a regular file. */
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    f->fp = fopen(path, "wb");
    if (!f->fp) {
      snprintf(err, errlen, "%s: %s", path, strerror(errno));
      return false;
    }
    return true;
  }
  size_t n = strlen(path);
  f->path = malloc(n + 1);
  f->tmp = malloc(n + 16);
  if (!f->path || !f->tmp) {
    free(f->path);
    free(f->tmp);
    snprintf(err, errlen, "%s: out of memory", path);
    return false;
  }
  memcpy(f->path, path, n + 1);
  snprintf(f->tmp, n + 16, "%s.tmpXXXXXX", path);
  int fd = mkstemp(f->tmp);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    free(f->path);
    free(f->tmp);
    return false;
  }
  /* mkstemp creates 0600; give the file the usual permissions */
  mode_t um = umask(0);
  umask(um);
  fchmod(fd, 0666 & ~um);
  f->fp = fdopen(fd, "wb");
  if (!f->fp) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    close(fd);
    unlink(f->tmp);
    free(f->path);
    free(f->tmp);
    return false;
  }
  return true;
}

bool ir_atomic_commit(AtomicFile *f, char *err, size_t errlen) {
  if (f->fp == stdout || !f->tmp) { /* stdout or a special file: written in place */
    bool is_stdout = f->fp == stdout;
    bool ok = fflush(f->fp) == 0 && !ferror(f->fp);
    if (!is_stdout && fclose(f->fp) != 0) ok = false;
    if (!ok) snprintf(err, errlen, "%s: write error", is_stdout ? "<stdout>" : "output");
    f->fp = NULL;
    return ok;
  }
  bool ok = fflush(f->fp) == 0 && !ferror(f->fp) && fsync(fileno(f->fp)) == 0;
  int e = errno;
  if (fclose(f->fp) != 0 && ok) {
    ok = false;
    e = errno;
  }
  f->fp = NULL;
  if (ok && rename(f->tmp, f->path) != 0) {
    ok = false;
    e = errno;
  }
  if (!ok) {
    snprintf(err, errlen, "%s: %s", f->path, strerror(e));
    unlink(f->tmp);
  }
  free(f->path);
  free(f->tmp);
  f->path = f->tmp = NULL;
  return ok;
}

void ir_atomic_abort(AtomicFile *f) {
  if (!f->fp) return;
  if (f->fp != stdout && !f->tmp) {
    fclose(f->fp);
  } else if (f->fp != stdout) {
    fclose(f->fp);
    unlink(f->tmp);
    free(f->path);
    free(f->tmp);
  }
  f->fp = NULL;
  f->path = f->tmp = NULL;
}
