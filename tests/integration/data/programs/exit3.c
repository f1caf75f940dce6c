/* A bad program: exits with 3. */
#include <stdio.h>
int main(void) {
  printf("about to exit 3\n");
  return 3;
}
