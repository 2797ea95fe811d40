#include <termios.h>
#include <asm/termbits.h>
int main(void){ struct termios2 t; (void)t; return 0; }
