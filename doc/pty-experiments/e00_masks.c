/* e00_masks: the flag bits <asm/termbits.h> defines for each termios word (x86_64), for the reader's checks. */
#include "common.h"
int main(void)
{
	unsigned i = IGNBRK | BRKINT | IGNPAR | PARMRK | INPCK | ISTRIP | INLCR | IGNCR | ICRNL | IUCLC | IXON | IXANY | IXOFF | IMAXBEL | IUTF8;
	unsigned o = OPOST | OLCUC | ONLCR | OCRNL | ONOCR | ONLRET | OFILL | OFDEL | NLDLY | CRDLY | TABDLY | BSDLY | VTDLY | FFDLY;
	unsigned c = CBAUD | CSIZE | CSTOPB | CREAD | PARENB | PARODD | HUPCL | CLOCAL | CIBAUD | CMSPAR | CRTSCTS | ADDRB;
	unsigned l = ISIG | ICANON | XCASE | ECHO | ECHOE | ECHOK | ECHONL | NOFLSH | TOSTOP | ECHOCTL | ECHOPRT | ECHOKE | FLUSHO | PENDIN | IEXTEN | EXTPROC;
	printf("iflag mask %#o (%#x)\noflag mask %#o (%#x)\ncflag mask %#o (%#x)\nlflag mask %#o (%#x)\n", i, i, o, o, c, c, l, l);
	printf("TIOCPKT bits: DATA %d FLUSHREAD %d FLUSHWRITE %d STOP %d START %d NOSTOP %d DOSTOP %d IOCTL %d\n", TIOCPKT_DATA, TIOCPKT_FLUSHREAD, TIOCPKT_FLUSHWRITE, TIOCPKT_STOP, TIOCPKT_START, TIOCPKT_NOSTOP, TIOCPKT_DOSTOP, TIOCPKT_IOCTL);
	printf("O_ACCMODE %#o O_APPEND %#o O_NONBLOCK %#o FASYNC %#o O_CLOEXEC %#o\n", O_ACCMODE, O_APPEND, O_NONBLOCK, FASYNC, O_CLOEXEC);
	return 0;
}
