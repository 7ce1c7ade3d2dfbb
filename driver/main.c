/* main.c - placeholder driver (being written). */
#include <stdio.h>
int main(void) { puts("effc"); return 0; }
