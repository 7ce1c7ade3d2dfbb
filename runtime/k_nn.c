/* k_nn.c - kernels (see runtime.h). */
#include "runtime.h"
