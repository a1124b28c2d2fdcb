/* randread DEV COUNT BS: COUNT O_DIRECT reads of BS bytes at random aligned offsets of
 * DEV (queue depth 1); prints "MS" elapsed. Built statically by bench/storage.sh's
 * preparation for the storage guest initramfs (busybox has no random-I/O tool). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    int fd = open(argv[1], O_RDONLY | O_DIRECT);
    long n = atol(argv[2]), bs = atol(argv[3]);
    unsigned long long size = 0;
    void *buf;
    if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0 || bs <= 0 || size < (unsigned long long)bs ||
        posix_memalign(&buf, 4096, bs))
        return 1;
    unsigned long long blocks = size / bs, x = 88172645463325252ull;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;          /* xorshift64 */
        if (pread(fd, buf, bs, (off_t)(x % blocks) * bs) != bs)
            return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%ld\n", (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    return 0;
}
