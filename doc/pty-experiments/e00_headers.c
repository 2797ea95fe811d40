/* e00_headers: the kernel termios layout cryo records. Compiles with <sys/ioctl.h> + <asm/termbits.h>;
 * e00_clash.c shows that <termios.h> and <asm/termbits.h> cannot share a translation unit. */
#include "common.h"
#include <stddef.h>
int main(void)
{
	printf("NCCS %d, sizeof(struct termios2) %zu, sizeof(struct termios) %zu (TIOCGLCKTRMIOS), sizeof(struct winsize) %zu\n",
	       NCCS, sizeof(struct termios2), sizeof(struct termios), sizeof(struct winsize));
	printf("termios2 offsets: iflag %zu oflag %zu cflag %zu lflag %zu line %zu cc %zu ispeed %zu ospeed %zu\n",
	       offsetof(struct termios2, c_iflag), offsetof(struct termios2, c_oflag), offsetof(struct termios2, c_cflag),
	       offsetof(struct termios2, c_lflag), offsetof(struct termios2, c_line), offsetof(struct termios2, c_cc),
	       offsetof(struct termios2, c_ispeed), offsetof(struct termios2, c_ospeed));
	printf("cc: VINTR %d VQUIT %d VERASE %d VKILL %d VEOF %d VTIME %d VMIN %d VSWTC %d VSTART %d VSTOP %d VSUSP %d VEOL %d VREPRINT %d VDISCARD %d VWERASE %d VLNEXT %d VEOL2 %d\n",
	       VINTR, VQUIT, VERASE, VKILL, VEOF, VTIME, VMIN, VSWTC, VSTART, VSTOP, VSUSP, VEOL, VREPRINT, VDISCARD, VWERASE, VLNEXT, VEOL2);
	printf("ioctls: TCGETS2 %#lx TCSETS2 %#lx TIOCGPTPEER %#lx TIOCGEXCL %#lx TIOCGPKT %#lx TIOCGPTLCK %#lx TIOCGPTN %#lx\n",
	       (unsigned long)TCGETS2, (unsigned long)TCSETS2, (unsigned long)TIOCGPTPEER, (unsigned long)TIOCGEXCL,
	       (unsigned long)TIOCGPKT, (unsigned long)TIOCGPTLCK, (unsigned long)TIOCGPTN);
	printf("flag masks: BOTHER %#o CBAUD %#o IBSHIFT %d EXTPROC %#o\n", BOTHER, CBAUD, IBSHIFT, EXTPROC);
	return 0;
}
