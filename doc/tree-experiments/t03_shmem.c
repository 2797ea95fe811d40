/*
 * t03_shmem: identity of shared memory objects across a fork.
 * Mappings made before fork(): two MAP_SHARED|MAP_ANONYMOUS ones, two memfds, one memfd
 * mapped twice, one SysV segment, one MAP_PRIVATE|MAP_ANONYMOUS. For each, stat of
 * /proc/PID/map_files/<start>-<end> in parent and child (st_dev, st_ino), the pathname and
 * inode shown by /proc/PID/maps, and whether the map_files link can be opened and mapped
 * again to reach the same memory.
 */
#include "common.h"
#include <sys/shm.h>

#define PG 4096
#define SHMKEY 0x43525933 /* "CRY3" */

struct m { const char *name; char *addr; size_t len; };

static int map_stat(pid_t pid, void *a, size_t len, struct stat *st)
{
	char p[128];
	snprintf(p, sizeof p, "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)a, (unsigned long)a + len);
	return stat(p, st);
}

/* the /proc/PID/maps line starting at a: pathname, inode, offset */
static int maps_line(pid_t pid, void *a, char *path, size_t cap, unsigned long *ino, unsigned long *off)
{
	char p[64];
	static char buf[1 << 20];
	snprintf(p, sizeof p, "/proc/%d/maps", pid);
	if (read_file(p, buf, sizeof buf) < 0) return -1;
	char key[32];
	snprintf(key, sizeof key, "%lx-", (unsigned long)a);
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, strlen(key))) continue;
		char perms[8], dev[16];
		unsigned long s, e;
		int n = 0;
		if (sscanf(l, "%lx-%lx %7s %lx %15s %lu%n", &s, &e, perms, off, dev, ino, &n) < 6) return -1;
		while (l[n] == ' ') n++;
		size_t k = strcspn(l + n, "\n");
		if (k >= cap) k = cap - 1;
		memcpy(path, l + n, k);
		path[k] = 0;
		return 0;
	}
	return -1;
}

int main(void)
{
	begin("t03_shmem");
	int hold[2];
	pipe(hold);
	struct m ms[7] = {
		{ "shared anon A" }, { "shared anon B" }, { "memfd M1" }, { "memfd M2" }, { "memfd M1 again" }, { "SysV shm" }, { "private anon" },
	};
	ms[0].len = 3 * PG; ms[0].addr = mmap(NULL, ms[0].len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ms[1].len = 2 * PG; ms[1].addr = mmap(NULL, ms[1].len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int m1 = memfd_create("cryo-m1", 0), m2 = memfd_create("cryo-m2", 0);
	ftruncate(m1, 2 * PG); ftruncate(m2, 2 * PG);
	ms[2].len = 2 * PG; ms[2].addr = mmap(NULL, ms[2].len, PROT_READ | PROT_WRITE, MAP_SHARED, m1, 0);
	ms[3].len = 2 * PG; ms[3].addr = mmap(NULL, ms[3].len, PROT_READ | PROT_WRITE, MAP_SHARED, m2, 0);
	ms[4].len = 1 * PG; ms[4].addr = mmap(NULL, ms[4].len, PROT_READ | PROT_WRITE, MAP_SHARED, m1, PG);
	int dummy = shmget(IPC_PRIVATE, PG, 0600); /* so that our segment's id is not 0 */
	int old = shmget(SHMKEY, 0, 0);
	if (old >= 0) shmctl(old, IPC_RMID, NULL); /* left over from an interrupted run */
	int shm = shmget(SHMKEY, 2 * PG, 0600 | IPC_CREAT | IPC_EXCL);
	ms[5].len = 2 * PG; ms[5].addr = shmat(shm, NULL, 0);
	ms[6].len = 2 * PG; ms[6].addr = mmap(NULL, ms[6].len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < 7; i++) if (ms[i].addr == MAP_FAILED || ms[i].addr == (void *)-1) DIE("map %s", ms[i].name);
	for (int i = 0; i < 7; i++) ms[i].addr[0] = 'a' + i;

	fflush(stdout);
	pid_t c = fork();
	if (c == 0) { char x; read(hold[0], &x, 1); _exit(0); }
	close(hold[0]);
	pid_t me = getpid();

	printf("-- map_files identity, parent vs child\n");
	struct stat sp[7], sc[7];
	char path[7][256];
	unsigned long ino[7], off[7];
	for (int i = 0; i < 6; i++) {
		int a = map_stat(me, ms[i].addr, ms[i].len, &sp[i]), b = map_stat(c, ms[i].addr, ms[i].len, &sc[i]);
		CHECK(!a && !b && sp[i].st_dev == sc[i].st_dev && sp[i].st_ino == sc[i].st_ino,
		      "%-15s parent and child map_files: same st_dev %u:%u st_ino %lu", ms[i].name,
		      major(sp[i].st_dev), minor(sp[i].st_dev), (unsigned long)sp[i].st_ino);
	}
	struct stat sx;
	int a = map_stat(me, ms[6].addr, ms[6].len, &sx);
	CHECK(a < 0 && errno == ENOENT, "%-15s has no map_files entry (ENOENT)", ms[6].name);
	CHECK(sp[0].st_ino != sp[1].st_ino, "shared anon A and B: different objects (ino %lu vs %lu)", (unsigned long)sp[0].st_ino, (unsigned long)sp[1].st_ino);
	CHECK(sp[2].st_ino != sp[3].st_ino, "memfd M1 and M2: different objects (ino %lu vs %lu)", (unsigned long)sp[2].st_ino, (unsigned long)sp[3].st_ino);
	CHECK(sp[2].st_dev == sp[4].st_dev && sp[2].st_ino == sp[4].st_ino, "memfd M1 mapped twice (offsets 0 and 1 page): same object");
	struct stat fm1;
	fstat(m1, &fm1);
	CHECK(fm1.st_dev == sp[2].st_dev && fm1.st_ino == sp[2].st_ino, "fstat of the memfd fd gives the same st_dev/st_ino as its map_files entry");
	NOTE("st_dev: shared anon %u:%u, memfd %u:%u, SysV %u:%u", major(sp[0].st_dev), minor(sp[0].st_dev),
	     major(sp[2].st_dev), minor(sp[2].st_dev), major(sp[5].st_dev), minor(sp[5].st_dev));

	printf("-- /proc/PID/maps pathname and inode\n");
	for (int i = 0; i < 7; i++) {
		path[i][0] = 0; ino[i] = off[i] = 0;
		if (maps_line(c, ms[i].addr, path[i], sizeof path[i], &ino[i], &off[i])) DIE("maps %s", ms[i].name);
		NOTE("%-15s child's maps: inode %lu offset %#lx path \"%s\"", ms[i].name, ino[i], off[i], path[i]);
	}
	CHECK(!strcmp(path[0], "/dev/zero (deleted)") && !strcmp(path[1], "/dev/zero (deleted)"), "shared anon: \"/dev/zero (deleted)\"");
	CHECK(!strcmp(path[2], "/memfd:cryo-m1 (deleted)") && !strcmp(path[3], "/memfd:cryo-m2 (deleted)"), "memfd: \"/memfd:NAME (deleted)\"");
	char want[64];
	snprintf(want, sizeof want, "/SYSV%08x (deleted)", SHMKEY);
	CHECK(!strcmp(path[5], want), "SysV segment with key %#x, not removed: \"%s\" (\"(deleted)\" although it is not removed)", SHMKEY, path[5]);
	CHECK(ino[5] == (unsigned long)shm && shm != 0, "SysV: the inode column (and map_files st_ino) is the shmid (%lu, shmid %d)", ino[5], shm);
	CHECK(path[6][0] == 0 && ino[6] == 0, "private anon: no path, inode 0");
	int inos_ok = 1;
	for (int i = 0; i < 6; i++) inos_ok &= ino[i] == (unsigned long)sp[i].st_ino;
	CHECK(inos_ok, "for all five shared kinds the maps inode column equals map_files st_ino");
	CHECK(off[4] == PG, "memfd M1 mapped at file offset 1 page: maps offset %#lx", off[4]);
	shmctl(shm, IPC_RMID, NULL);
	char p5[256]; unsigned long i5, o5;
	maps_line(c, ms[5].addr, p5, sizeof p5, &i5, &o5);
	CHECK(!strcmp(p5, want), "after IPC_RMID (still attached): the same \"%s\": maps cannot tell a removed segment", p5);
	struct shmid_ds ds;
	CHECK(shmctl(shm, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & SHM_DEST), "IPC_STAT by id still works after IPC_RMID and shows SHM_DEST (mode %#o)", ds.shm_perm.mode);
	shmctl(dummy, IPC_RMID, NULL);

	printf("-- reaching the object through map_files\n");
	char lp[128], lt[256] = "";
	snprintf(lp, sizeof lp, "/proc/%d/map_files/%lx-%lx", c, (unsigned long)ms[0].addr, (unsigned long)ms[0].addr + ms[0].len);
	readlink(lp, lt, sizeof lt - 1);
	NOTE("readlink of the child's shared anon map_files entry: \"%s\"", lt);
	int fd = open(lp, O_RDWR);
	CHECK(fd >= 0, "open(O_RDWR) of the child's shared anon map_files entry works (root)");
	struct stat fs;
	fstat(fd, &fs);
	CHECK(fs.st_ino == sp[0].st_ino && fs.st_size == (off_t)ms[0].len, "fstat of it: same ino, st_size %ld = the mapping's size", (long)fs.st_size);
	char *again = mmap(NULL, ms[0].len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(again != MAP_FAILED && again[0] == 'a', "mmap of that fd shows the object's contents ('%c')", again != MAP_FAILED ? again[0] : '?');
	again[PG] = 'Z';
	CHECK(ms[0].addr[PG] == 'Z', "a write through the new mapping is seen through the original one: same memory");
	struct stat sa;
	map_stat(me, again, ms[0].len, &sa);
	char pa[256]; unsigned long ia, oa;
	maps_line(me, again, pa, sizeof pa, &ia, &oa);
	CHECK(sa.st_ino == sp[0].st_ino && !strcmp(pa, "/dev/zero (deleted)"), "the new mapping has the same map_files ino and maps path \"%s\"", pa);
	munmap(again, ms[0].len);
	close(fd);

	printf("-- a split shared anon mapping\n");
	char *s3 = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	munmap(s3 + PG, PG);
	struct stat s1, s2;
	unsigned long i1, o1, i2, o2;
	char q1[256], q2[256];
	map_stat(me, s3, PG, &s1); map_stat(me, s3 + 2 * PG, PG, &s2);
	maps_line(me, s3, q1, sizeof q1, &i1, &o1); maps_line(me, s3 + 2 * PG, q2, sizeof q2, &i2, &o2);
	CHECK(s1.st_ino == s2.st_ino && i1 == i2 && o1 == 0 && o2 == 2 * PG,
	      "middle page unmapped: the two pieces share ino %lu, maps offsets %#lx and %#lx (offset = page offset in the object)", i1, o1, o2);
	struct stat s0;
	char lp2[128];
	snprintf(lp2, sizeof lp2, "/proc/self/map_files/%lx-%lx", (unsigned long)s3 + 2 * PG, (unsigned long)s3 + 3 * PG);
	int fd2 = open(lp2, O_RDONLY);
	fstat(fd2, &s0);
	CHECK(s0.st_size == 3 * PG, "the object behind the piece still has st_size %ld (the whole original length)", (long)s0.st_size);
	close(fd2);

	write(hold[1], "x", 1);
	waitpid(c, NULL, 0);
	return finish("t03_shmem");
}
