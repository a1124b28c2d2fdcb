/*
 * migload: the inner guest's workload for the migration tests (tests/sandbox/cases/
 * 80-migration.sh). Static, started by /tests/migrate.sh. Every tick (200 ms):
 *   - writes the tick number into sector 0 of DISK (O_DIRECT, then fdatasync),
 *   - prints "TICK n mono_ms sum" on the console, sum = a checksum of a region it
 *     filled once at start (it must never change, whatever migration does),
 * and between ticks dirties DIRTY_MB MiB of memory at RATE_MB MiB/s (one word per 4 KiB
 * page, round robin). On the console: 'q' ends it (the guest then powers off), 'f'
 * dirties 8 times faster, 's' back to RATE_MB. The console is switched to
 * non-canonical mode without echo: a key acts at once (a canonical tty holds it until
 * a newline) and is not echoed into the middle of a TICK line.
 *
 *   migload DISK DIRTY_MB RATE_MB
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define KEEP_BYTES (4u << 20)

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static uint64_t checksum(const uint64_t *p, size_t words)
{
    uint64_t a = 1, b = 0;
    for (size_t i = 0; i < words; i++) {
        a += p[i];
        b += a;
    }
    return a ^ (b << 1);
}

/* Console commands; returns 1 on 'q'. */
static int console(uint64_t *rate, uint64_t base)
{
    struct pollfd p = { .fd = 0, .events = POLLIN };
    char c;
    while (poll(&p, 1, 0) > 0 && read(0, &c, 1) == 1) {
        if (c == 'q')
            return 1;
        if (c == 'f')
            *rate = base * 8;
        if (c == 's')
            *rate = base;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: migload DISK DIRTY_MB RATE_MB\n");
        return 2;
    }
    size_t dirty = (size_t)atoi(argv[2]) << 20, pages = dirty / 4096;
    uint64_t base = (uint64_t)atoi(argv[3]) << 20, rate = base;
    int disk = open(argv[1], O_RDWR | O_DIRECT | O_SYNC);
    uint64_t *keep = malloc(KEEP_BYTES);
    uint8_t *work = malloc(dirty + 4096);
    void *sector;
    if (disk < 0 || !keep || !work || posix_memalign(&sector, 4096, 4096)) {
        printf("MIGLOAD-ERROR setup\n");
        return 1;
    }
    struct termios t;
    if (isatty(0) && tcgetattr(0, &t) == 0) {
        t.c_lflag &= ~(ICANON | ECHO);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        if (tcsetattr(0, TCSANOW, &t) != 0)
            printf("MIGLOAD-WARN the console stays canonical\n");
    }
    uint64_t x = 42;
    for (size_t i = 0; i < KEEP_BYTES / 8; i++) {      /* xorshift64 */
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        keep[i] = x;
    }
    memset(work, 1, dirty);
    uint64_t sum0 = checksum(keep, KEEP_BYTES / 8);
    printf("MIGLOAD-START sum %016llx\n", (unsigned long long)sum0);
    fflush(stdout);
    size_t next = 0;
    uint64_t tick = 0, t0 = mono_ms();
    for (;;) {
        /* 200 ms of dirtying at the rate, in 10 ms slices. */
        for (int s = 0; s < 20; s++) {
            uint64_t slice_end = mono_ms() + 10;
            size_t n = pages ? rate / 100 / 4096 : 0;
            for (size_t i = 0; i < n; i++) {
                *(volatile uint64_t *)(work + next * 4096) = tick * 1000003 + i;
                next = (next + 1) % pages;
            }
            while (mono_ms() < slice_end)
                usleep(1000);
        }
        tick++;
        memset(sector, 0, 4096);
        snprintf(sector, 64, "MIGTICK %llu\n", (unsigned long long)tick);
        if (pwrite(disk, sector, 4096, 0) != 4096 || fdatasync(disk) != 0)
            printf("MIGLOAD-ERROR disk write\n");
        printf("TICK %llu %llu %016llx\n", (unsigned long long)tick,
               (unsigned long long)(mono_ms() - t0),
               (unsigned long long)checksum(keep, KEEP_BYTES / 8));
        fflush(stdout);
        if (console(&rate, base))
            break;
    }
    printf("MIGLOAD-END %llu\n", (unsigned long long)tick);
    fflush(stdout);
    return 0;
}
