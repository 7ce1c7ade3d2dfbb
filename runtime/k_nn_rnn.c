/* k_nn_rnn.c */
#include "k_nn_util.h"
