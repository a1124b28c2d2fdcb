/*
 * Guest-triggerable KVM messages stay within their log budgets (issue 13): an IRQ line
 * or MSI that KVM refuses (an MSI-X table entry pointing at no CPU fails every time the
 * device interrupts), an ioeventfd re-armed at every driver reset, a coalesced zone
 * re-registered at every UART mode change. KVM is replaced by a VM fd that fails every
 * ioctl (EBADF), which is how each of those paths reports an error; no /dev/kvm needed.
 */
#include "accel/kvm/kvm-int.h"
#include "log-count.h"

static KvmState *failing_kvm(Machine *m)
{
    KvmState *s = g_new0(KvmState, 1);
    s->fd = s->vm_fd = -1;
    s->m = m;
    kvm_log_budgets_init(s);
    m->opts.coalesced_io = true;
    kvm_listeners_init(s);
    s->have_coalesced_mmio = s->have_coalesced_pio = true;   /* as if KVM offered them */
    return s;
}

static void test_floods(void)
{
    Machine *m = machine_new_test(0);
    KvmState *s = failing_kvm(m);
    kvm_connect_irqs(s, m);
    MemEventfd e = { .off = 0, .len = 2, .fd = -1 };
    LogCount c;
    const char *what[] = { "KVM_IRQ_LINE", "KVM_SIGNAL_MSI", "ioeventfd", "zone" };
    for (unsigned k = 0; k < G_N_ELEMENTS(what); k++) {
        log_count_start(&c);
        for (int i = 0; i < 100000; i++) {
            switch (k) {
            case 0: irq_set(&m->gsi[5], i & 1); break;
            case 1: msi_send(&m->msi, 0xfee00000 | (i & 0xff000), 0x4021); break;
            case 2: s->listener.eventfd_add(&s->listener, NULL, &e, 0xc0003000); break;
            case 3: s->io_listener.coalescing_add(&s->io_listener, NULL, 0x3f8, 1); break;
            }
        }
        unsigned lines = log_count_stop(&c);
        g_test_message("%s: %u lines for 100000 failures", what[k], lines);
        g_assert_cmpuint(lines, >=, 1);
        g_assert_cmpuint(lines, <=, LOG_FLOOD_MAX_LINES);
    }
    kvm_coalesced_destroy(s);
    g_free(s);
    machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm/log-floods", test_floods);
    return g_test_run();
}
