/* k_reduce.c - kernels (see runtime.h). */
#include "runtime.h"
