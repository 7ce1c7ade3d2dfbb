/* k_nn_resize.c */
#include "k_nn_util.h"
