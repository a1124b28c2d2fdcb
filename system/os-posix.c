/*
 * Daemonizing, pid files, the process name and locked memory (include/vireo/os.h).
 */
#include "vireo/os.h"
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* The write end of the pipe the first parent waits on (process-wide, set once). */
static int daemon_pipe = -1;

void os_daemonize_start(void)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        perror("vireo: -daemonize: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("vireo: -daemonize: fork");
        exit(1);
    }
    if (pid > 0) {
        uint8_t status;
        ssize_t n;
        close(fds[1]);
        do {
            n = read(fds[0], &status, 1);
        } while (n < 0 && errno == EINTR);
        /* Success only when the daemon said so; its errors are on our stderr. */
        exit(n == 1 && status == 0 ? 0 : 1);
    }
    close(fds[0]);
    daemon_pipe = fds[1];
    setsid();
    pid = fork();
    if (pid < 0)
        exit(1);
    if (pid > 0)
        exit(0);
    umask(027);
    signal(SIGTSTP, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
}

void os_daemonize_done(void)
{
    if (daemon_pipe < 0)
        return;
    if (chdir("/") < 0)
        perror("vireo: -daemonize: chdir /");
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    uint8_t ok = 0;
    ssize_t n;
    do {
        n = write(daemon_pipe, &ok, 1);
    } while (n < 0 && errno == EINTR);
    close(daemon_pipe);
    daemon_pipe = -1;
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
    }
}

int os_pidfile_create(const char *path, GError **errp)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno),
                    "cannot create PID file: Could not create '%s': %s", path,
                    g_strerror(errno));
        return -1;
    }
    if (lockf(fd, F_TLOCK, 0) < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY,
                    "cannot create PID file: Cannot lock pid file: %s", g_strerror(errno));
        close(fd);
        return -1;
    }
    char buf[32];
    int len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, buf, len) != len) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno),
                    "cannot create PID file: Failed to write pid file: %s", g_strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void os_pidfile_remove(const char *path, int fd)
{
    struct stat a, b;
    /* Only our file: another process may have replaced it after a stale lock. */
    if (fd >= 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev)
        unlink(path);
    if (fd >= 0)
        close(fd);
}

void os_set_process_name(const char *name)
{
    char n[16];
    g_strlcpy(n, name, sizeof(n));
    prctl(PR_SET_NAME, n);
}

bool os_mlock(GError **errp)
{
    if (mlockall(MCL_CURRENT | MCL_FUTURE) == 0)
        return true;
    g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno), "locking memory failed: %s",
                g_strerror(errno));
    return false;
}
