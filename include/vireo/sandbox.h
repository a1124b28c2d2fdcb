/*
 * -sandbox (system/sandbox.c): a seccomp filter (libseccomp) with QEMU 7.2's groups of
 * denied system calls, installed on every thread before the guest runs. A denied call
 * kills the process (SECCOMP_RET_KILL_PROCESS, or SIGSYS where the kernel lacks it),
 * except the resource-control group, which fails with EPERM, as QEMU documents.
 */
#ifndef VIREO_SANDBOX_H
#define VIREO_SANDBOX_H
#include <stdbool.h>
#include "vireo/error.h"

enum {
    SANDBOX_SET_DEFAULT     = 1 << 0,   /* reboot, swapon, mount, kexec_load, ... */
    SANDBOX_SET_OBSOLETE    = 1 << 1,   /* obsolete=deny (the default) */
    SANDBOX_SET_PRIVILEGED  = 1 << 2,   /* elevateprivileges=deny|children: set*uid/gid */
    SANDBOX_SET_SPAWN       = 1 << 3,   /* spawn=deny: fork, vfork, execve */
    SANDBOX_SET_RESOURCECTL = 1 << 4,   /* resourcecontrol=deny: affinity, priority */
    SANDBOX_NO_NEW_PRIVS    = 1 << 5,   /* elevateprivileges=children */
};

/* Whether this build and kernel can filter (libseccomp, seccomp TSYNC). */
bool sandbox_available(void);
/* Installs the filter for @sets on every thread of the process. */
bool sandbox_install(unsigned sets, GError **errp);
#endif
