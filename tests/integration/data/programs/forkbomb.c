/* A bad program: forks forever. */
#include <unistd.h>
int main(void) {
  for (;;) fork();
}
