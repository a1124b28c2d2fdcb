/*
 * The seccomp filter behind -sandbox (include/vireo/sandbox.h). The groups and the
 * action per group are QEMU 7.2's (softmmu/qemu-seccomp.c): everything is allowed but
 * the listed calls; the filter is synchronized to all threads (TSYNC).
 */
#include "config-host.h"
#include "vireo/sandbox.h"
#include <errno.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef CONFIG_SECCOMP
#include <seccomp.h>
#include <linux/seccomp.h>
#endif

#ifdef CONFIG_SECCOMP
typedef struct Rule {
    const char *name;            /* resolved with seccomp_syscall_resolve_name() */
    unsigned set;
    bool not_idle;               /* sched_setscheduler: only policies other than IDLE */
} Rule;

static const Rule rules[] = {
    { "reboot", SANDBOX_SET_DEFAULT }, { "swapon", SANDBOX_SET_DEFAULT },
    { "swapoff", SANDBOX_SET_DEFAULT }, { "syslog", SANDBOX_SET_DEFAULT },
    { "mount", SANDBOX_SET_DEFAULT }, { "umount", SANDBOX_SET_DEFAULT },
    { "kexec_load", SANDBOX_SET_DEFAULT }, { "afs_syscall", SANDBOX_SET_DEFAULT },
    { "break", SANDBOX_SET_DEFAULT }, { "ftime", SANDBOX_SET_DEFAULT },
    { "getpmsg", SANDBOX_SET_DEFAULT }, { "gtty", SANDBOX_SET_DEFAULT },
    { "lock", SANDBOX_SET_DEFAULT }, { "mpx", SANDBOX_SET_DEFAULT },
    { "prof", SANDBOX_SET_DEFAULT }, { "profil", SANDBOX_SET_DEFAULT },
    { "putpmsg", SANDBOX_SET_DEFAULT }, { "security", SANDBOX_SET_DEFAULT },
    { "stty", SANDBOX_SET_DEFAULT }, { "tuxcall", SANDBOX_SET_DEFAULT },
    { "ulimit", SANDBOX_SET_DEFAULT }, { "vserver", SANDBOX_SET_DEFAULT },
    { "readdir", SANDBOX_SET_OBSOLETE }, { "_sysctl", SANDBOX_SET_OBSOLETE },
    { "bdflush", SANDBOX_SET_OBSOLETE }, { "create_module", SANDBOX_SET_OBSOLETE },
    { "get_kernel_syms", SANDBOX_SET_OBSOLETE }, { "query_module", SANDBOX_SET_OBSOLETE },
    { "sgetmask", SANDBOX_SET_OBSOLETE }, { "ssetmask", SANDBOX_SET_OBSOLETE },
    { "sysfs", SANDBOX_SET_OBSOLETE }, { "uselib", SANDBOX_SET_OBSOLETE },
    { "ustat", SANDBOX_SET_OBSOLETE },
    { "setuid", SANDBOX_SET_PRIVILEGED }, { "setgid", SANDBOX_SET_PRIVILEGED },
    { "setpgid", SANDBOX_SET_PRIVILEGED }, { "setsid", SANDBOX_SET_PRIVILEGED },
    { "setreuid", SANDBOX_SET_PRIVILEGED }, { "setregid", SANDBOX_SET_PRIVILEGED },
    { "setresuid", SANDBOX_SET_PRIVILEGED }, { "setresgid", SANDBOX_SET_PRIVILEGED },
    { "setfsuid", SANDBOX_SET_PRIVILEGED }, { "setfsgid", SANDBOX_SET_PRIVILEGED },
    { "fork", SANDBOX_SET_SPAWN }, { "vfork", SANDBOX_SET_SPAWN },
    { "execve", SANDBOX_SET_SPAWN },
    { "setpriority", SANDBOX_SET_RESOURCECTL }, { "sched_setparam", SANDBOX_SET_RESOURCECTL },
    { "sched_setscheduler", SANDBOX_SET_RESOURCECTL, true },
    { "sched_setaffinity", SANDBOX_SET_RESOURCECTL },
};

/* KILL_PROCESS where the kernel has it (Linux 4.14), else a SIGSYS trap (QEMU's). */
static uint32_t kill_action(void)
{
#if defined(SECCOMP_GET_ACTION_AVAIL) && defined(SECCOMP_RET_KILL_PROCESS)
    uint32_t a = SECCOMP_RET_KILL_PROCESS;
    if (syscall(__NR_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &a) == 0)
        return SCMP_ACT_KILL_PROCESS;
#endif
    return SCMP_ACT_TRAP;
}

static uint32_t action(unsigned set)
{
    return set == SANDBOX_SET_RESOURCECTL ? SCMP_ACT_ERRNO(EPERM) : kill_action();
}

bool sandbox_available(void)
{
    /* TSYNC with a NULL filter fails with EFAULT when the kernel supports it. */
    return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                   NULL) < 0 && errno == EFAULT;
}

static bool fail(GError **errp, const char *what, int rc)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "-sandbox: %s: %s", what,
                g_strerror(rc < 0 ? -rc : rc));
    return false;
}

bool sandbox_install(unsigned sets, GError **errp)
{
    if ((sets & SANDBOX_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return fail(errp, "failed to set no_new_privs", errno);
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return fail(errp, "failed to initialize seccomp context", ENOMEM);
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc < 0) {
        seccomp_release(ctx);
        return fail(errp, "failed to set seccomp thread synchronization", rc);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(rules); i++) {
        if (!(sets & rules[i].set))
            continue;
        int nr = seccomp_syscall_resolve_name(rules[i].name);
        if (nr == __NR_SCMP_ERROR)
            continue;                      /* not a system call on this architecture */
        struct scmp_arg_cmp not_idle = SCMP_A1(SCMP_CMP_NE, SCHED_IDLE);
        rc = seccomp_rule_add_array(ctx, action(rules[i].set), nr,
                                    rules[i].not_idle ? 1 : 0, &not_idle);
        if (rc < 0) {
            seccomp_release(ctx);
            return fail(errp, "failed to add seccomp denylist rules", rc);
        }
    }
    rc = seccomp_load(ctx);
    seccomp_release(ctx);
    return rc >= 0 || fail(errp, "failed to load seccomp syscall filter in kernel", rc);
}
#else
bool sandbox_available(void)
{
    return false;
}

bool sandbox_install(unsigned sets, GError **errp)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                "-sandbox: seccomp support is disabled");
    return false;
}
#endif
