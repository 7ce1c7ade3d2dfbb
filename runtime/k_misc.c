/* k_misc.c - kernels (see runtime.h). */
#include "runtime.h"
