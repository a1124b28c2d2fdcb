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
/* Thread id of vCPU @i (for query-cpus-fast), and a register dump (info registers). */
int kvm_vcpu_thread_id(KvmState *s, unsigned i);
void kvm_vcpu_dump(KvmState *s, unsigned i, GString *out);

#endif
