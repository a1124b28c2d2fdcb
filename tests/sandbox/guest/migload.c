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
 * With PEER (ADDR:PORT, an echo service of the harness reached through the guest's NIC)
 * it opens one TCP connection at start ("NET-UP LOCALPORT", or "NET-ERROR why" and no
 * network) and, every tick, sends "n\n" on it; each line the peer sends back is
 * printed as "ECHO n" as soon as it arrives. The socket is non-blocking: a stalled or
 * broken connection never holds up the ticks. The first error ("NET-ERROR why": reset,
 * closed by the peer, a full send buffer) closes it for good.
 *
 *   migload DISK DIRTY_MB RATE_MB [PEER]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

static int net = -1;                /* the connection to PEER, -1: none */
static char net_buf[256];
static size_t net_len;

static void net_error(const char *what, int err)
{
    printf("NET-ERROR %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : "");
    fflush(stdout);
    close(net);
    net = -1;
}

/* Connects to "ADDR:PORT", retrying for up to 20 s (the link may still be coming up). */
static void net_open(const char *peer)
{
    char addr[64];
    const char *colon = strrchr(peer, ':');
    struct sockaddr_in sa = { .sin_family = AF_INET };
    if (!colon || (size_t)(colon - peer) >= sizeof(addr)) {
        printf("NET-ERROR bad peer %s\n", peer);
        return;
    }
    memcpy(addr, peer, colon - peer);
    addr[colon - peer] = 0;
    sa.sin_port = htons(atoi(colon + 1));
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        printf("NET-ERROR bad peer %s\n", peer);
        return;
    }
    int err = 0;
    for (int i = 0; i < 40; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
            err = errno;
            break;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            int one = 1;
            struct sockaddr_in me;
            socklen_t len = sizeof(me);
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
            getsockname(fd, (struct sockaddr *)&me, &len);
            printf("NET-UP %u\n", ntohs(me.sin_port));
            net = fd;
            return;
        }
        err = errno;
        close(fd);
        usleep(500000);
    }
    printf("NET-ERROR connect %s: %s\n", peer, strerror(err));
}

static void net_send(uint64_t tick)
{
    char line[32];
    int n = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)tick);
    if (net < 0)
        return;
    ssize_t r = send(net, line, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r != n)     /* a partial or refused send would break the line stream: stop */
        net_error("send", r < 0 ? errno : EAGAIN);
}

/* Waits up to @ms for the peer's lines, printing each as "ECHO n". */
static void net_wait(int ms)
{
    struct pollfd p = { .fd = net, .events = POLLIN };
    if (net < 0 || poll(&p, 1, ms) <= 0)
        return;
    ssize_t r = recv(net, net_buf + net_len, sizeof(net_buf) - 1 - net_len, MSG_DONTWAIT);
    if (r == 0) {
        net_error("closed by the peer", 0);
        return;
    }
    if (r < 0) {
        if (errno != EAGAIN && errno != EINTR)
            net_error("recv", errno);
        return;
    }
    net_len += r;
    net_buf[net_len] = 0;
    char *line = net_buf, *nl;
    while ((nl = strchr(line, '\n'))) {
        *nl = 0;
        printf("ECHO %s\n", line);
        line = nl + 1;
    }
    fflush(stdout);
    net_len -= line - net_buf;
    memmove(net_buf, line, net_len);
    if (net_len == sizeof(net_buf) - 1)
        net_error("a line too long from the peer", 0);
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
        fprintf(stderr, "usage: migload DISK DIRTY_MB RATE_MB [PEER]\n");
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
    if (argc > 4 && argv[4][0])
        net_open(argv[4]);
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
            for (uint64_t now; (now = mono_ms()) < slice_end;) {
                if (net >= 0)
                    net_wait((int)(slice_end - now));
                else
                    usleep(1000);
            }
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
        net_send(tick);
        if (console(&rate, base))
            break;
    }
    printf("MIGLOAD-END %llu\n", (unsigned long long)tick);
    fflush(stdout);
    return 0;
}
