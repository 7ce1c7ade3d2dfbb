/* k_control.c - kernels (see runtime.h). */
#include "runtime.h"
