/* diag.c - placeholder, being written. */
typedef int effc_placeholder_diag;
