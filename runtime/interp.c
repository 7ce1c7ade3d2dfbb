/* interp.c - the reference interpreter: runs a Model node by node. */
#include "runtime.h"
