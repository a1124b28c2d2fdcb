/*
 * The stdio backend: input from fd 0, output to fd 1, the terminal in raw mode.
 *
 * The terminal is a process-wide resource, and restoring it must work from atexit()
 * and from signal handlers, which take no argument: so its saved settings are the
 * one piece of file-scope state in chardev/ (and only one stdio chardev may exist,
 * as in QEMU).
 */
#include "chardev-internal.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static struct {
    struct termios saved;
    volatile sig_atomic_t raw;        /* the terminal is in our mode */
    bool in_use;                      /* a stdio chardev exists */
    bool hooks_installed;
} stdio_term;

/* Signals whose default action kills the process: put the terminal back first. */
static const int fatal_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS,
                                     SIGILL, SIGFPE, SIGABRT };

void chr_stdio_restore_terminal(void)
{
    if (stdio_term.raw) {
        tcsetattr(STDIN_FILENO, TCSANOW, &stdio_term.saved);
        stdio_term.raw = 0;
    }
}

static void stdio_fatal_signal(int sig)
{
    chr_stdio_restore_terminal();
    signal(sig, SIG_DFL);             /* then die as the signal says */
    raise(sig);
}

/* atexit for normal exits; a handler for fatal signals nobody else handles (main's
 * GLib handlers for SIGINT/SIGTERM/SIGHUP replace ours and exit normally). */
static void stdio_install_hooks(void)
{
    if (stdio_term.hooks_installed)
        return;
    stdio_term.hooks_installed = true;
    atexit(chr_stdio_restore_terminal);
    for (size_t i = 0; i < G_N_ELEMENTS(fatal_signals); i++) {
        struct sigaction old;
        if (sigaction(fatal_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
            !(old.sa_flags & SA_SIGINFO))
            signal(fatal_signals[i], stdio_fatal_signal);
    }
}

/* Raw mode as QEMU sets it: no echo, no line editing, 8 bits; signals (Ctrl-C) stay
 * enabled unless signal=off. Output processing stays on. */
static void stdio_set_raw(bool allow_signals)
{
    struct termios t;
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &stdio_term.saved) < 0)
        return;
    t = stdio_term.saved;
    t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_oflag |= OPOST;
    t.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
    if (!allow_signals)
        t.c_lflag &= ~ISIG;
    t.c_cflag &= ~(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    stdio_install_hooks();
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
        stdio_term.raw = 1;
}

/*
 * Output must never block the main loop (or a vCPU thread holding the lock) when
 * whatever reads our stdout stops reading, yet O_NONBLOCK on fd 1 itself would change
 * the file description we share with the shell. So: a socket is written with
 * MSG_DONTWAIT; a pipe, FIFO or terminal is opened again through /proc/self/fd/1,
 * which gives a description of our own that can be non-blocking; a regular file never
 * makes a writer wait. Only when reopening fails does char.c fall back to a poll()
 * before each write of at most PIPE_BUF bytes.
 */
static int stdio_out_fd(Chardev *chr)
{
    struct stat st;
    if (fstat(STDOUT_FILENO, &st) < 0)
        return STDOUT_FILENO;
    if (S_ISSOCK(st.st_mode) || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
        chr->out_socket = S_ISSOCK(st.st_mode);
        chr->out_nonblock = true;
        return STDOUT_FILENO;
    }
    int fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return STDOUT_FILENO;
    chr->out_nonblock = true;
    return fd;
}

static void stdio_hangup(Chardev *chr)
{
    /* EOF on stdin (e.g. </dev/null): stop reading, keep writing. */
}

static void stdio_close(Chardev *chr)
{
    if (chr->out_fd != STDOUT_FILENO)
        close(chr->out_fd);             /* our own description of stdout */
    chr_stdio_restore_terminal();
    stdio_term.in_use = false;
}

static const ChrOps stdio_ops = {
    .kind = "stdio", .hangup = stdio_hangup, .close = stdio_close,
};

Chardev *chr_open_stdio(const ChrOpts *o, GError **errp)
{
    bool allow_signals;
    if (!chr_opt_bool(o, "signal", true, &allow_signals, errp))
        return NULL;
    if (stdio_term.in_use) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY,
                    "%s: cannot use stdio by multiple character devices", o->option);
        return NULL;
    }
    stdio_term.in_use = true;
    Chardev *chr = chr_alloc(&stdio_ops, NULL);
    chr->in_fd = STDIN_FILENO;
    chr->out_fd = stdio_out_fd(chr);
    chr->keep_fds = true;
    chr_set_filename(chr, "stdio", NULL);
    stdio_set_raw(allow_signals);
    return chr;
}
