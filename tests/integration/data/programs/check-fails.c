/* A check program that finds the race's symptom: exits 1. */
#include <stdio.h>
int main(void) {
  fprintf(stderr, "symptom seen\n");
  return 1;
}
