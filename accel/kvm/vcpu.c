/*
 * vCPU threads and their run loop. Each thread holds the big lock except around
 * KVM_RUN (ARCHITECTURE.md convention 9); an exit that needs a device model is
 * dispatched to the port-I/O or memory address space with the lock held.
 * Pausing sets immediate_exit and kicks with a signal, then waits for every vCPU to
 * park (Documentation/virt/kvm/api.rst, KVM_CAP_IMMEDIATE_EXIT).
 */
#include "kvm-int.h"
#include "vireo/runstate.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SIG_KICK SIGUSR1
#define MSR_IA32_TSC      0x10

static void kick_handler(int sig) { (void)sig; }

static int vcpu_ioctl(CPUState *cpu, unsigned long req, void *arg)
{
    int r;
    do {
        r = ioctl(cpu->fd, req, arg);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool l, bool db)
{
    *s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff, .selector = sel,
                               .type = type, .present = 1, .dpl = 0, .db = db, .s = 1,
                               .l = l, .g = 1 };
}

/* Entry state: Linux 64-bit boot protocol (long mode, identity-mapped, RSI = zero
 * page) or PVH (32-bit protected mode, paging off, EBX = hvm_start_info). */
void kvm_apply_boot_regs(CPUState *cpu, const BootInfo *bi)
{
    struct kvm_sregs sr;
    struct kvm_regs r = { .rflags = 2, .rip = bi->entry };
    if (vcpu_ioctl(cpu, KVM_GET_SREGS, &sr) < 0) {
        log_budget_warn(&cpu->log, "vcpu %u: KVM_GET_SREGS failed", cpu->index);
        return;
    }
    bool lm = bi->mode == BOOT_LINUX64;
    set_seg(&sr.cs, lm ? 0x10 : 0x08, 11, lm, !lm);
    set_seg(&sr.ds, 0x18, 3, false, true);
    sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
    sr.tr = (struct kvm_segment){ .selector = 0x20, .limit = 0xfff, .type = 11, .present = 1 };
    sr.gdt.base = BOOT_GDT_ADDR;
    sr.gdt.limit = 5 * 8 - 1;
    sr.idt.base = 0;
    sr.idt.limit = 0;
    if (lm) {
        sr.cr0 = 0x80000011;          /* PG | ET | PE */
        sr.cr3 = BOOT_PML4_ADDR;
        sr.cr4 = 0x20;                /* PAE */
        sr.efer = 0x500;              /* LME | LMA */
        r.rsi = bi->arg;
    } else {
        sr.cr0 = 0x11;                /* ET | PE */
        sr.cr3 = sr.cr4 = sr.efer = 0;
        r.rbx = bi->arg;
    }
    if (vcpu_ioctl(cpu, KVM_SET_SREGS, &sr) < 0 || vcpu_ioctl(cpu, KVM_SET_REGS, &r) < 0)
        log_budget_warn(&cpu->log, "vcpu %u: setting the boot registers failed", cpu->index);
}

/* Firmware-like defaults: SeaBIOS-style MTRRs and PAT (x86_cpu_setup_msrs), LINT0 as
 * ExtINT and LINT1 as NMI (virtual-wire mode, Intel SDM vol. 3 10.5.1) on every vCPU. */
static void setup_platform_defaults(CPUState *cpu)
{
    /* A host-initiated TSC write of 0 on every vCPU makes KVM synchronise them
     * (arch/x86/kvm/x86.c, kvm_synchronize_tsc), as a power-on reset would. */
    struct { struct kvm_msrs h; struct kvm_msr_entry e[1]; } msrs = {
        .h.nmsrs = 1, .e[0] = { .index = MSR_IA32_TSC, .data = 0 },
    };
    g_autoptr(GError) err = NULL;
    if (x86_cpu_setup_msrs_err(cpu->fd, cpu->m->below_4g, &err) < 0)
        log_budget_warn(&cpu->log, "vcpu %u: setting the power-on MSRs: %s", cpu->index,
                        err->message);
    vcpu_ioctl(cpu, KVM_SET_MSRS, &msrs);
    struct kvm_lapic_state l;
    if (vcpu_ioctl(cpu, KVM_GET_LAPIC, &l) == 0) {
        uint32_t *lvt0 = (uint32_t *)&l.regs[0x350], *lvt1 = (uint32_t *)&l.regs[0x360];
        *lvt0 = (*lvt0 & ~0x1700u & ~0x10000u) | 0x700;   /* ExtINT, unmasked */
        *lvt1 = (*lvt1 & ~0x1700u & ~0x10000u) | 0x400;   /* NMI, unmasked */
        vcpu_ioctl(cpu, KVM_SET_LAPIC, &l);
    }
}

static void vcpu_reset(CPUState *cpu)
{
    g_autoptr(GError) err = NULL;
    if (cpu->reset_state && x86_cpu_put_state_err(cpu->fd, cpu->reset_state, &err) < 0)
        log_budget_warn(&cpu->log, "vcpu %u: restoring reset state: %s", cpu->index,
                        err->message);
    setup_platform_defaults(cpu);
    if (cpu->index == 0 && cpu->kvm->have_boot)
        kvm_apply_boot_regs(cpu, &cpu->kvm->boot);
    cpu->reset_pending = false;
}

static void log_unhandled(CPUState *cpu, const char *what)
{
    log_budget_warn(&cpu->log, "vcpu %u: %s", cpu->index, what);
}

static void handle_io(CPUState *cpu)
{
    struct kvm_run *run = cpu->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    unsigned size = run->io.size;
    if (run->io.data_offset + (uint64_t)size * run->io.count > (uint64_t)cpu->kvm->run_size)
        return;
    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            uint64_t v = 0;
            memcpy(&v, data, size);
            as_write(cpu->m->io, run->io.port, v, size);
        } else {
            uint64_t v;
            as_read(cpu->m->io, run->io.port, &v, size);
            memcpy(data, &v, size);
        }
    }
}

static void handle_mmio(CPUState *cpu)
{
    struct kvm_run *run = cpu->run;
    unsigned len = run->mmio.len;
    if (len != 1 && len != 2 && len != 4 && len != 8)
        return log_unhandled(cpu, "MMIO access of an odd size ignored");
    if (run->mmio.is_write) {
        uint64_t v = 0;
        memcpy(&v, run->mmio.data, len);
        as_write(cpu->m->sysmem, run->mmio.phys_addr, v, len);
    } else {
        uint64_t v;
        as_read(cpu->m->sysmem, run->mmio.phys_addr, &v, len);
        memcpy(run->mmio.data, &v, len);
    }
}

static void report_internal_error(CPUState *cpu, const char *what)
{
    g_autoptr(GString) s = g_string_new(NULL);
    kvm_vcpu_dump(cpu->kvm, cpu->index, s);
    fprintf(stderr, "vireo: vcpu %u: %s\n%s", cpu->index, what, s->str);
    cpu->stop = true;
    vm_request_internal_error(cpu->m);
}

/* Handles one exit (lock held). */
static void handle_exit(CPUState *cpu)
{
    struct kvm_run *run = cpu->run;
    kvm_coalesced_flush(cpu->kvm);    /* queued writes come before this exit's access */
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(cpu);
        break;
    case KVM_EXIT_MMIO:
        handle_mmio(cpu);
        break;
    case KVM_EXIT_HLT:
    case KVM_EXIT_INTR:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        break;
    case KVM_EXIT_SHUTDOWN: {          /* triple fault */
        /* Said where (budgeted: a guest can triple-fault in a loop): a guest reset
         * seen from outside does not tell a triple fault from a reset write. */
        struct kvm_regs r;
        struct kvm_sregs sr;
        if (vcpu_ioctl(cpu, KVM_GET_REGS, &r) == 0 && vcpu_ioctl(cpu, KVM_GET_SREGS, &sr) == 0)
            log_budget_warn(&cpu->log, "vcpu %u: triple fault at rip 0x%llx (cr0 0x%llx cr3 "
                            "0x%llx rsp 0x%llx): the machine resets", cpu->index, r.rip, sr.cr0,
                            sr.cr3, r.rsp);
        else
            log_budget_warn(&cpu->log, "vcpu %u: triple fault: the machine resets", cpu->index);
        cpu->stop = true;
        vm_request_reset(cpu->m, SHUTDOWN_CAUSE_GUEST_RESET);
        break;
    }
    case KVM_EXIT_SYSTEM_EVENT:
        cpu->stop = true;
        if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
            vm_request_reset(cpu->m, SHUTDOWN_CAUSE_GUEST_RESET);
        else
            vm_request_shutdown(cpu->m, SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        break;
    case KVM_EXIT_INTERNAL_ERROR: {
        g_autofree char *m = g_strdup_printf("KVM internal error, suberror %u",
                                             run->internal.suberror);
        report_internal_error(cpu, m);
        break;
    }
    case KVM_EXIT_FAIL_ENTRY: {
        g_autofree char *m = g_strdup_printf("KVM entry failed, hardware error 0x%llx",
                                             (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        report_internal_error(cpu, m);
        break;
    }
    default: {
        g_autofree char *m = g_strdup_printf("unhandled KVM exit reason %u", run->exit_reason);
        report_internal_error(cpu, m);
        break;
    }
    }
}

/* Auto-converge (kvm_set_throttle): every 10 ms of running, sleep pct/(100-pct) of that
 * outside KVM_RUN, in short slices so that a pause is not held up. Lock held on entry. */
static void vcpu_throttle(CPUState *cpu)
{
    unsigned pct = __atomic_load_n(&cpu->kvm->throttle_pct, __ATOMIC_RELAXED);
    int64_t now = g_get_monotonic_time();
    if (!pct || now < cpu->throttle_next)
        return;
    int64_t until = now + 10000LL * pct / (100 - pct);
    bql_unlock();
    while (!__atomic_load_n(&cpu->stop, __ATOMIC_RELAXED) && g_get_monotonic_time() < until)
        g_usleep(MIN(5000, MAX(until - g_get_monotonic_time(), 1)));
    bql_lock();
    cpu->throttle_next = g_get_monotonic_time() + 10000;
}

/* Whether another vCPU still has its reset to do (lock held). */
static bool others_resetting(CPUState *cpu)
{
    Machine *m = cpu->m;
    for (unsigned i = 0; i < m->ncpus; i++)
        if (m->cpus[i] && m->cpus[i] != cpu && m->cpus[i]->reset_pending)
            return true;
    return false;
}

/*
 * Parks while the machine is stopped, and after a reset until every vCPU has put its
 * reset state: a machine reset is one event. Without that barrier an AP whose thread is
 * slow to be scheduled (a loaded host) would put its power-on state (LAPIC, MP state)
 * after the BSP had already sent it INIT/SIPI, and the AP would never start.
 */
static bool must_park(CPUState *cpu)
{
    return (cpu->stop || !runstate_is_running(cpu->m) ||
            (!cpu->reset_pending && others_resetting(cpu))) && !cpu->quit;
}

/* KVM finishes the instruction behind an exit (an OUT's RIP advance, an IN's or MMIO
 * read's destination register) only when KVM_RUN is entered again: a vCPU about to
 * park after an exit re-enters once with immediate_exit set, which completes it and
 * runs no guest code (api.rst, KVM_EXIT_IO). Without it the state read while parked
 * (migration, savevm) has the instruction not done: the destination ran it again (a
 * serial byte printed twice across a migration) or lost what it read. */
static void vcpu_complete_exit(CPUState *cpu)
{
    cpu->exit_handled = false;
    /* Completing can itself need userspace again (an MMIO access split in pieces, a
     * string I/O longer than KVM's PIO page): KVM_RUN then returns 0 with the next
     * piece's exit, which is handled and completed in turn. Bounded. */
    for (int i = 0; i < 64; i++) {
        cpu->run->immediate_exit = 1;
        bql_unlock();
        int r = ioctl(cpu->fd, KVM_RUN, 0);
        int err = errno;
        bql_lock();
        cpu->run->immediate_exit = 0;
        if (r == 0) {
            handle_exit(cpu);
            continue;
        }
        if (err != EINTR && err != EAGAIN)
            log_budget_warn(&cpu->log, "vcpu %u: completing an exit: %s", cpu->index,
                            g_strerror(err));
        return;
    }
    cpu->exit_handled = true;   /* still pieces left: the next KVM_RUN finishes them */
}

static void vcpu_park(CPUState *cpu)
{
    KvmState *s = cpu->kvm;
    if (cpu->exit_handled && must_park(cpu))
        vcpu_complete_exit(cpu);
    while (must_park(cpu)) {
        cpu->run->immediate_exit = 0;
        cpu->parked = true;
        pthread_cond_broadcast(&s->parked_cond);
        bql_cond_wait(&s->resume_cond);
    }
    cpu->parked = false;
}

static void *vcpu_thread(void *opaque)
{
    CPUState *cpu = opaque;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIG_KICK);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    cpu->tid = syscall(SYS_gettid);
    g_autofree char *name = g_strdup_printf("vcpu%u", cpu->index);
    pthread_setname_np(pthread_self(), name);

    bql_lock();
    cpu->started = true;
    pthread_cond_broadcast(&cpu->kvm->parked_cond);
    for (;;) {
        vcpu_park(cpu);
        if (cpu->quit)
            break;
        if (cpu->reset_pending) {
            vcpu_reset(cpu);
            pthread_cond_broadcast(&cpu->kvm->resume_cond);   /* the barrier above */
            if (cpu->index == 0)
                trace_startup("first KVM_RUN");
            continue;
        }
        vcpu_throttle(cpu);
        if (cpu->stop)
            continue;
        cpu->exit_handled = false;
        bql_unlock();
        int r = ioctl(cpu->fd, KVM_RUN, 0);
        int err = errno;
        bql_lock();
        if (r < 0) {
            if (err == EINTR || err == EAGAIN) {
                /* A kick ends here: its stop/quit flag was set under the lock, which we
                 * hold again, so vcpu_park sees it; the flag must not outlive the kick
                 * or every later KVM_RUN would return EINTR at once. */
                cpu->run->immediate_exit = 0;
                continue;
            }
            g_autofree char *m = g_strdup_printf("KVM_RUN failed: %s", g_strerror(err));
            report_internal_error(cpu, m);
            continue;
        }
        handle_exit(cpu);
        cpu->exit_handled = true;
    }
    cpu->parked = true;
    pthread_cond_broadcast(&cpu->kvm->parked_cond);
    bql_unlock();
    return NULL;
}

static bool create_vcpu(KvmState *s, Machine *m, unsigned i, const X86Topology *topo,
                        GError **errp)
{
    CPUState *cpu = g_new0(CPUState, 1);
    m->cpus[i] = cpu;
    cpu->index = i;
    cpu->kvm = s;
    cpu->m = m;
    cpu->log = (LogBudget)LOG_BUDGET_DEFAULT;
    cpu->apic_id = m->apic_ids[i];        /* machine_new(): the one place they come from */
    cpu->fd = ioctl(s->vm_fd, KVM_CREATE_VCPU, (unsigned long)cpu->apic_id);
    if (cpu->fd < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "kvm: creating vCPU %u: %s",
                    i, g_strerror(errno));
        return false;
    }
    cpu->run = mmap(NULL, s->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu->fd, 0);
    if (cpu->run == MAP_FAILED) {
        cpu->run = NULL;
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "kvm: mapping vCPU %u: %s",
                    i, g_strerror(errno));
        return false;
    }
    kvm_coalesced_attach(s, cpu->run);
    g_autofree struct kvm_cpuid2 *cpuid =
        x86_cpuid_build(s->supported_cpuid, m->opts.cpu_model, topo, i, errp);
    if (!cpuid)
        return false;
    int e = vcpu_ioctl(cpu, KVM_SET_CPUID2, cpuid);
    if (e < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "kvm: KVM_SET_CPUID2 on vCPU %u: %s",
                    i, g_strerror(-e));
        return false;
    }
    cpu->reset_state = g_new0(X86CPUState, 1);
    e = x86_cpu_get_state(s->fd, cpu->fd, cpu->reset_state);
    if (e < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "kvm: reading the reset state of vCPU %u: %s", i, g_strerror(-e));
        return false;
    }
    cpu->stop = true;
    cpu->reset_pending = true;
    if (pthread_create(&cpu->thread, NULL, vcpu_thread, cpu) != 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "creating vCPU thread %u failed", i);
        return false;
    }
    if (m->opts.debug_threads) {          /* -name debug-threads=on: QEMU's names */
        char name[32];
        snprintf(name, sizeof(name), "CPU %u/KVM", i);
        name[15] = '\0';                  /* the kernel keeps 15 characters */
        pthread_setname_np(cpu->thread, name);
    }
    return true;
}

bool kvm_create_vcpus(KvmState *s, Machine *m, GError **errp)
{
    struct sigaction sa = { .sa_handler = kick_handler };
    sigaction(SIG_KICK, &sa, NULL);
    /* Only vCPU threads take the kick signal. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIG_KICK);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    X86Topology topo = machine_topology(&m->opts);
    m->cpus = g_new0(CPUState *, m->ncpus);
    for (unsigned i = 0; i < m->ncpus; i++)
        if (!create_vcpu(s, m, i, &topo, errp))
            return false;
    for (unsigned i = 0; i < m->ncpus; i++)
        while (!m->cpus[i]->started)
            bql_cond_wait(&s->parked_cond);
    return true;
}

void kvm_set_boot_info(KvmState *s, const BootInfo *bi)
{
    s->boot = *bi;
    s->have_boot = bi->mode != BOOT_FIRMWARE;   /* firmware: the reset vector */
}

/* Called with the lock held. A parked vCPU is outside KVM_RUN and rechecks its flags
 * when woken, so it is not kicked: a kick it never consumes would leave immediate_exit
 * set after the resume (that was the hang after a triple-fault reset, where the vCPU
 * parks by itself before the main thread pauses everything). */
static void kick(CPUState *cpu)
{
    if (cpu->parked)
        return;
    cpu->run->immediate_exit = 1;
    pthread_kill(cpu->thread, SIG_KICK);
}

void kvm_pause_all(KvmState *s)
{
    Machine *m = s->m;
    for (unsigned i = 0; i < m->ncpus; i++) {
        m->cpus[i]->stop = true;
        kick(m->cpus[i]);
    }
    for (unsigned i = 0; i < m->ncpus; i++)
        while (!m->cpus[i]->parked)
            bql_cond_wait(&s->parked_cond);
    kvm_coalesced_flush(s);
}

void kvm_resume_all(KvmState *s)
{
    Machine *m = s->m;
    for (unsigned i = 0; i < m->ncpus; i++)
        m->cpus[i]->stop = false;
    pthread_cond_broadcast(&s->resume_cond);
}

void kvm_reset_vcpus(KvmState *s)
{
    kvm_reset_irqchip(s);
    for (unsigned i = 0; i < s->m->ncpus; i++)
        s->m->cpus[i]->reset_pending = true;
}

void kvm_stop_vcpus(KvmState *s)
{
    Machine *m = s->m;
    if (!m->cpus)
        return;
    for (unsigned i = 0; i < m->ncpus; i++) {
        CPUState *cpu = m->cpus[i];
        if (!cpu || !cpu->thread)
            continue;
        cpu->quit = true;
        kick(cpu);
    }
    pthread_cond_broadcast(&s->resume_cond);
    bql_unlock();
    for (unsigned i = 0; i < m->ncpus; i++)
        if (m->cpus[i] && m->cpus[i]->thread)
            pthread_join(m->cpus[i]->thread, NULL);
    bql_lock();
    kvm_coalesced_flush(s);
}

/* The throttle's clock: kicks every running vCPU out of KVM_RUN each 10 ms so it
 * passes vcpu_throttle() even when the guest never exits. */
static void throttle_tick(void *opaque)
{
    KvmState *s = opaque;
    if (!s->throttle_pct)
        return;
    for (unsigned i = 0; i < s->m->ncpus; i++)
        kick(s->m->cpus[i]);
    timer_mod(s->throttle_timer, clock_ns(s->m->clock) + 10000000);
}

void kvm_set_throttle(KvmState *s, unsigned pct)
{
    __atomic_store_n(&s->throttle_pct, MIN(pct, 99u), __ATOMIC_RELAXED);
    if (!s->throttle_timer)
        s->throttle_timer = timer_new(s->m->clock, throttle_tick, s);
    if (pct)
        timer_mod(s->throttle_timer, clock_ns(s->m->clock) + 10000000);
    else
        timer_del(s->throttle_timer);
}

unsigned kvm_get_throttle(KvmState *s)
{
    return s->throttle_pct;
}

int kvm_vcpu_thread_id(KvmState *s, unsigned i)
{
    return i < s->m->ncpus ? s->m->cpus[i]->tid : 0;
}

/* A vCPU's registers can only be read while it is outside KVM_RUN: from its own
 * thread, or from the main thread after parking every vCPU. */
void kvm_vcpu_dump(KvmState *s, unsigned i, GString *out)
{
    if (i >= s->m->ncpus)
        return;
    CPUState *cpu = s->m->cpus[i];
    bool self = pthread_equal(pthread_self(), cpu->thread);
    bool pause = !self && !cpu->parked;
    if (pause)
        kvm_pause_all(s);
    X86CPUState *st = g_new0(X86CPUState, 1);
    if (x86_cpu_get_state(s->fd, cpu->fd, st) == 0)
        x86_cpu_dump_state(st, out);
    else
        g_string_append(out, "(registers unavailable)\n");
    g_free(st);
    if (pause)
        kvm_resume_all(s);
}
