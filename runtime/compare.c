/* compare.c - CONTRACTS.md's comparison of a result with an expected value. */
#include "runtime.h"
