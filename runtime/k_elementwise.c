/* k_elementwise.c - kernels (see runtime.h). */
#include "runtime.h"
