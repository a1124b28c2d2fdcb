/*
 * What the host's KVM can do, as facts for run-guest.py (one "key=value" per line):
 *
 *   kvm=ok | kvm=absent (why) | kvm=error (why)     /dev/kvm usable, API version 12
 *   pvm=0|1                                          /sys/module/kvm_pvm exists
 *   cpu=vmx|svm|none                                 the host CPU's virtualization flag
 *   triple_fault=shutdown | internal-error N | exit N | error (why)
 *
 * The triple-fault probe is a bare VM (no irqchip, one 4 KiB slot) whose vCPU starts in
 * real mode at an int3 with an empty IDT: the exception cannot be delivered, which is a
 * triple fault (Intel SDM vol. 3, 6.15). VMX/SVM KVM reports KVM_EXIT_SHUTDOWN; the PVM
 * backend's instruction emulator ends in KVM_EXIT_INTERNAL_ERROR (suberror 1, emulation
 * failure) instead (shared/KVM-HOSTS.md). Nothing here depends on Vireo.
 * Exit status 0 whenever the facts were printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *cpu_flag(void)
{
    static char line[8192];
    const char *found = "none";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5))
            continue;
        if (strstr(line, " vmx"))
            found = "vmx";
        else if (strstr(line, " svm"))
            found = "svm";
        break;
    }
    if (f)
        fclose(f);
    return found;
}

static void triple_fault(int kvm)
{
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) {
        printf("triple_fault=error (KVM_CREATE_VM: %s)\n", strerror(errno));
        return;
    }
    uint8_t *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct kvm_userspace_memory_region r = { .slot = 0, .guest_phys_addr = 0,
                                             .memory_size = 4096,
                                             .userspace_addr = (unsigned long)mem };
    int cpu = -1, run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = MAP_FAILED;
    struct kvm_sregs sr;
    struct kvm_regs regs = { .rip = 0x100, .rflags = 2 };
    if (mem == MAP_FAILED || ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0 ||
        (cpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0 || run_size <= 0 ||
        (run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0)) == MAP_FAILED ||
        ioctl(cpu, KVM_GET_SREGS, &sr) < 0) {
        printf("triple_fault=error (setting up the probe VM: %s)\n", strerror(errno));
        goto out;
    }
    mem[0x100] = 0xcc;                              /* int3 */
    mem[0x101] = 0xf4;                              /* hlt: not reached */
    sr.cs.base = 0;
    sr.cs.selector = 0;
    sr.idt.base = 0;
    sr.idt.limit = 0;                               /* nothing can be delivered */
    if (ioctl(cpu, KVM_SET_SREGS, &sr) < 0 || ioctl(cpu, KVM_SET_REGS, &regs) < 0) {
        printf("triple_fault=error (setting registers: %s)\n", strerror(errno));
        goto out;
    }
    for (int i = 0; i < 100; i++) {
        if (ioctl(cpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            printf("triple_fault=error (KVM_RUN: %s)\n", strerror(errno));
            goto out;
        }
        if (run->exit_reason == KVM_EXIT_INTR)
            continue;
        if (run->exit_reason == KVM_EXIT_SHUTDOWN)
            printf("triple_fault=shutdown\n");
        else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
            printf("triple_fault=internal-error %u\n", run->internal.suberror);
        else
            printf("triple_fault=exit %u\n", run->exit_reason);
        goto out;
    }
    printf("triple_fault=error (no exit after 100 KVM_RUNs)\n");
out:
    if (run != MAP_FAILED)
        munmap(run, run_size);
    if (cpu >= 0)
        close(cpu);
    if (mem != MAP_FAILED)
        munmap(mem, 4096);
    close(vm);
}

int main(void)
{
    printf("pvm=%d\n", access("/sys/module/kvm_pvm", F_OK) == 0);
    printf("cpu=%s\n", cpu_flag());
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        printf("kvm=absent (%s)\n", strerror(errno));
        return 0;
    }
    int v = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (v != KVM_API_VERSION) {
        printf("kvm=error (API version %d)\n", v);
        return 0;
    }
    printf("kvm=ok\n");
    fflush(stdout);
    triple_fault(kvm);
    close(kvm);
    return 0;
}
