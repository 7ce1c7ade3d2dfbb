/* k_cast.c - kernels (see runtime.h). */
#include "runtime.h"
