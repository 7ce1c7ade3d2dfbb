/* k_attention.c - kernels (see runtime.h). */
#include "runtime.h"
