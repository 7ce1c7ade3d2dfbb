/* dot.c - placeholder, being written. */
typedef int effc_placeholder_dot;
