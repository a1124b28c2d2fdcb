/* Private to accel/kvm. */
#ifndef ACCEL_KVM_INT_H
#define ACCEL_KVM_INT_H

#include "vireo/kvm.h"
#include "vireo/cpu.h"
#include "vireo/log.h"
#include <linux/kvm.h>
#include <pthread.h>

struct CPUState {
    unsigned index;
    uint32_t apic_id;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    int tid;
    KvmState *kvm;
    Machine *m;
    bool stop, parked, quit, started;
    bool reset_pending;          /* put reset state (+ boot regs for the BSP) */
    bool exit_handled;           /* an exit was handled since the last KVM_RUN: KVM
                                  * finishes its instruction at the next one */
    X86CPUState *reset_state;
    LogBudget log;               /* messages a guest can trigger (exits, resets) */
    int64_t throttle_next;       /* monotonic us of the next throttle sleep */
};

typedef struct KvmSlot {
    MemRegion *mr;
    uint32_t id;
    bool logging;                /* KVM_MEM_LOG_DIRTY_PAGES set (dirty.c) */
    uint64_t *bitmap;            /* KVM_GET_DIRTY_LOG buffer while logging */
} KvmSlot;

struct KvmState {
    int fd, vm_fd;
    int run_size;
    int max_vcpus, nr_slots;
    Machine *m;
    MemListener listener;
    GArray *slots;               /* KvmSlot */
    struct kvm_cpuid2 *supported_cpuid;
    struct kvm_irqchip pic[2], ioapic;
    struct kvm_pit_state2 pit;
    BootInfo boot;
    bool have_boot;
    bool manual_dirty_protect;   /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled */
    unsigned throttle_pct;       /* migration auto-converge: share of time vCPUs sleep */
    Timer *throttle_timer;
    pthread_cond_t parked_cond, resume_cond;
    /* coalesced.c */
    MemListener io_listener;
    int coalesced_page;
    bool have_coalesced_mmio, have_coalesced_pio;
    unsigned coalesced_zones, coalesced_max;
    struct kvm_coalesced_mmio_ring *coalesced_ring;
    Timer *coalesced_timer;
    /* Messages a guest can trigger: an MSI or IRQ KVM refuses (an MSI-X table pointing
     * nowhere), an ioeventfd or coalesced zone KVM refuses (re-armed at every driver
     * reset or UART mode change). */
    LogBudget log_irq, log_msi, log_ioeventfd, log_zone;
    /* irqroute.c: MSI routes of irqfds (GSI 24 + index) */
    GArray *msi_routes;
};

int kvm_vm_ioctl(KvmState *s, unsigned long req, void *arg);
void kvm_reset_irqchip(KvmState *s);
void kvm_apply_boot_regs(CPUState *cpu, const BootInfo *bi);
int kvm_check_ext(KvmState *s, int cap);
void kvm_log_budgets_init(KvmState *s);
/* The memory listeners' hooks (slots, coalesced zones, ioeventfds); not registered. */
void kvm_listeners_init(KvmState *s);
/* Re-issues KVM_SET_USER_MEMORY_REGION for @slot (flags changed). */
int kvm_slot_update(KvmState *s, KvmSlot *slot);

/* dirty.c */
void kvm_dirty_log_init(KvmState *s);
void kvm_dirty_log_hooks(KvmState *s, MemListener *l);

/* irqroute.c */
int kvm_msi_irqfd_add(KvmState *s, int fd, uint64_t addr, uint32_t data);
int kvm_msi_irqfd_update(KvmState *s, int handle, uint64_t addr, uint32_t data);
void kvm_msi_irqfd_del(KvmState *s, int handle);

void kvm_coalesced_init(KvmState *s);
void kvm_coalesced_destroy(KvmState *s);
void kvm_coalesced_attach(KvmState *s, void *run);
void kvm_coalesced_flush(KvmState *s);

#endif
