/*
 * accel/kvm: everything that talks to /dev/kvm. The board and devices use these
 * functions (never raw ioctls): VM creation, the memory-slot listener, the in-kernel
 * irqchip and PIT, interrupt lines, MSI, ioeventfd/irqfd, and the vCPU threads.
 */
#ifndef VIREO_KVM_H
#define VIREO_KVM_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "vireo/machine.h"
#include "vireo/loader.h"

/* Opens /dev/kvm and creates the VM with irqchip and PIT; RAM slots follow
 * m->sysmem through a listener from then on. Errors name what is missing. */
KvmState *kvm_init(Machine *m, GError **errp);
void kvm_destroy(KvmState *s);
/* True when /dev/kvm can be opened read-write (for tests and `query-kvm`). */
bool kvm_available(void);
int kvm_max_vcpus(KvmState *s);
/* KVM_GET_SUPPORTED_CPUID of this VM's /dev/kvm (what -cpu models are built from). */
const struct kvm_cpuid2 *kvm_supported_cpuid(KvmState *s);

/* Wires m->gsi[] and m->msi to the in-kernel irqchip. */
void kvm_connect_irqs(KvmState *s, Machine *m);

/* ioeventfd on a PIO or MMIO address (datamatch when @match); irqfd on a GSI. */
int kvm_ioeventfd(KvmState *s, int fd, uint64_t addr, unsigned len, bool pio,
                  bool match, uint64_t data, bool assign);
int kvm_irqfd(KvmState *s, int fd, unsigned gsi, bool assign);

/* Creates the vCPUs (CPUID from -cpu, topology from -smp), parked until resumed. */
bool kvm_create_vcpus(KvmState *s, Machine *m, GError **errp);
/* Sets the boot entry state applied to the BSP at every reset. */
void kvm_set_boot_info(KvmState *s, const BootInfo *bi);
/* Pause/resume every vCPU (main thread, lock held); resets vCPU and irqchip state. */
void kvm_pause_all(KvmState *s);
void kvm_resume_all(KvmState *s);
void kvm_reset_vcpus(KvmState *s);
/* Stops and joins every vCPU thread. */
void kvm_stop_vcpus(KvmState *s);
/* ---- migration and snapshots (accel/kvm/kvm-state.c, dirty.c) ---- */

/* The VM's in-kernel state: PIC, IOAPIC, PIT (uapi layouts) and kvmclock. */
typedef struct KvmVmState {
    struct kvm_irqchip pic[2];
    struct kvm_irqchip ioapic;
    struct kvm_pit_state2 pit;
    uint64_t clock;                 /* kvmclock (ns) when the VM stopped */
} KvmVmState;
extern const VMStateDesc vmstate_kvm_vm;        /* section "kvm-vm" */
/* Reads / writes it (VM stopped). kvm_vm_state_put leaves the clock alone:
 * kvm_clock_put() sets it just before the vCPUs run. */
bool kvm_vm_state_get(KvmState *s, KvmVmState *st, GError **errp);
bool kvm_vm_state_put(KvmState *s, const KvmVmState *st, GError **errp);
bool kvm_clock_put(KvmState *s, uint64_t clock, GError **errp);
/* vCPU @i's whole state (it must be parked). _put also drops the pending power-on
 * reset, so the vCPU resumes from @st. Errors name the vCPU and the ioctl. */
bool kvm_vcpu_state_get(KvmState *s, unsigned i, X86CPUState *st, GError **errp);
bool kvm_vcpu_state_put(KvmState *s, unsigned i, const X86CPUState *st, GError **errp);

/* Auto-converge: the vCPUs sleep @pct percent of their time (0: never), main thread. */
void kvm_set_throttle(KvmState *s, unsigned pct);
unsigned kvm_get_throttle(KvmState *s);

/* Thread id of vCPU @i (for query-cpus-fast), and a register dump (info registers). */
int kvm_vcpu_thread_id(KvmState *s, unsigned i);
void kvm_vcpu_dump(KvmState *s, unsigned i, GString *out);

#endif
