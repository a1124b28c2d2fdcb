/*
 * netrr: a 1-byte TCP request/response (ping-pong) latency meter for bench/net.sh.
 *   netrr -s PORT                server: echoes every byte, one connection at a time
 *   netrr HOST PORT COUNT        client: COUNT round trips of one byte (after 100 warm-up
 *                                ones), prints "rr: N round trips, mean U us, median M us"
 * Built statically (it runs in the inner guest's busybox initramfs).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int server(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0) {
        perror("netrr: listen");
        return 1;
    }
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            continue;
        nodelay(c);
        char b;
        while (read(c, &b, 1) == 1 && write(c, &b, 1) == 1)
            ;
        close(c);
    }
}

static int client(const char *host, int port, int count)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (s < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("netrr: connect");
        return 1;
    }
    nodelay(s);
    double *t = malloc(sizeof(double) * count), sum = 0;
    char b = 'x';
    for (int i = -100; i < count; i++) {
        double t0 = now_us();
        if (write(s, &b, 1) != 1 || read(s, &b, 1) != 1) {
            perror("netrr: round trip");
            return 1;
        }
        if (i >= 0)
            sum += t[i] = now_us() - t0;
    }
    qsort(t, count, sizeof(double), cmp);
    printf("rr: %d round trips, mean %.1f us, median %.1f us\n", count, sum / count,
           t[count / 2]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "-s"))
        return server(atoi(argv[2]));
    if (argc == 4)
        return client(argv[1], atoi(argv[2]), atoi(argv[3]));
    fprintf(stderr, "usage: netrr -s PORT | netrr HOST PORT COUNT\n");
    return 2;
}
