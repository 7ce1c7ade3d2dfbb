/* k_shape.c - kernels (see runtime.h). */
#include "runtime.h"
