/*
 * The KVM VM: /dev/kvm, memory slots derived from the RAM regions of the system
 * address space (a listener, so hw/ never issues a KVM ioctl), the in-kernel irqchip
 * (PIC, IOAPIC, LAPICs) and PIT, interrupt lines, MSI, ioeventfd and irqfd; coalesced
 * writes are in coalesced.c.
 * Reference: Linux Documentation/virt/kvm/api.rst.
 */
#include "kvm-int.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_TSS_ADDR          0xfffbd000
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000

int kvm_vm_ioctl(KvmState *s, unsigned long req, void *arg)
{
    int r;
    do {
        r = ioctl(s->vm_fd, req, arg);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

const struct kvm_cpuid2 *kvm_supported_cpuid(KvmState *s)
{
    return s->supported_cpuid;
}

bool kvm_available(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

int kvm_max_vcpus(KvmState *s) { return s->max_vcpus; }

static void slot_set(KvmState *s, uint32_t id, MemRegion *mr, bool add)
{
    struct kvm_userspace_memory_region r = {
        .slot = id,
        .flags = mr->readonly ? KVM_MEM_READONLY : 0,
        .guest_phys_addr = mr->base,
        .memory_size = add ? mr->size : 0,
        .userspace_addr = (uintptr_t)mr->ram,
    };
    int e = kvm_vm_ioctl(s, KVM_SET_USER_MEMORY_REGION, &r);
    if (e < 0)
        g_warning("kvm: %s memory slot for '%s' at 0x%" G_GINT64_MODIFIER "x: %s",
                  add ? "adding" : "removing", mr->name, mr->base, g_strerror(-e));
}

/* The lowest slot number not in use: regions come and go (the i440FX shadow segments
 * on every PAM write), and KVM limits slot numbers (KVM_CAP_NR_MEMSLOTS). */
static uint32_t slot_free_id(KvmState *s)
{
    for (uint32_t id = 0;; id++) {
        bool used = false;
        for (guint i = 0; i < s->slots->len && !used; i++)
            used = g_array_index(s->slots, KvmSlot, i).id == id;
        if (!used)
            return id;
    }
}

int kvm_slot_update(KvmState *s, KvmSlot *slot)
{
    MemRegion *mr = slot->mr;
    struct kvm_userspace_memory_region r = {
        .slot = slot->id,
        .flags = (mr->readonly ? KVM_MEM_READONLY : 0) |
                 (slot->logging ? KVM_MEM_LOG_DIRTY_PAGES : 0),
        .guest_phys_addr = mr->base, .memory_size = mr->size,
        .userspace_addr = (uintptr_t)mr->ram,
    };
    return kvm_vm_ioctl(s, KVM_SET_USER_MEMORY_REGION, &r);
}

static void listener_add(MemListener *l, MemRegion *mr)
{
    KvmState *s = l->opaque;
    KvmSlot slot = { .mr = mr, .id = slot_free_id(s) };
    g_array_append_val(s->slots, slot);
    slot_set(s, slot.id, mr, true);
}

static void listener_del(MemListener *l, MemRegion *mr)
{
    KvmState *s = l->opaque;
    for (guint i = 0; i < s->slots->len; i++) {
        KvmSlot *slot = &g_array_index(s->slots, KvmSlot, i);
        if (slot->mr == mr) {
            slot_set(s, slot->id, mr, false);
            g_free(slot->bitmap);
            g_array_remove_index(s->slots, i);
            return;
        }
    }
}

/* MemRegion eventfds become KVM ioeventfds; if KVM refuses one, the write still exits
 * and the dispatcher signals the eventfd itself, so this only costs speed. */
static void ioeventfd_set(MemListener *l, const MemEventfd *e, uint64_t addr, bool add)
{
    KvmState *s = l->opaque;
    bool pio = l == &s->io_listener;
    int r = kvm_ioeventfd(s, e->fd, addr, e->len, pio, e->match, e->data, add);
    if (r < 0 && add)
        log_budget_warn(&s->log_ioeventfd, "kvm: ioeventfd at %s 0x%" G_GINT64_MODIFIER
                        "x: %s (the write will exit)", pio ? "port" : "address", addr,
                        g_strerror(-r));
}

static void ioeventfd_add(MemListener *l, MemRegion *r, const MemEventfd *e, uint64_t addr)
{
    ioeventfd_set(l, e, addr, true);
}

static void ioeventfd_del(MemListener *l, MemRegion *r, const MemEventfd *e, uint64_t addr)
{
    ioeventfd_set(l, e, addr, false);
}

int kvm_check_ext(KvmState *s, int cap)
{
    int r = ioctl(s->vm_fd >= 0 ? s->vm_fd : s->fd, KVM_CHECK_EXTENSION, cap);
    return r < 0 ? 0 : r;
}

static bool kvm_fail(GError **errp, const char *what, int err)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "kvm: %s: %s", what, g_strerror(err));
    return false;
}

static struct kvm_cpuid2 *get_supported_cpuid(int fd)
{
    for (int n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + n * sizeof(c->entries[0]));
        c->nent = n;
        if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
            return c;
        g_free(c);
        if (errno != E2BIG)
            return NULL;
    }
    return NULL;
}

static bool create_vm(KvmState *s, GError **errp)
{
    int v = ioctl(s->fd, KVM_GET_API_VERSION, 0);
    if (v != KVM_API_VERSION) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "kvm: API version %d, need %d", v, KVM_API_VERSION);
        return false;
    }
    do {
        s->vm_fd = ioctl(s->fd, KVM_CREATE_VM, 0);
    } while (s->vm_fd < 0 && errno == EINTR);
    if (s->vm_fd < 0)
        return kvm_fail(errp, "KVM_CREATE_VM", errno);
    static const int needed[] = { KVM_CAP_IRQCHIP, KVM_CAP_USER_MEMORY, KVM_CAP_PIT2,
                                  KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_SIGNAL_MSI,
                                  KVM_CAP_IOEVENTFD, KVM_CAP_IRQFD };
    static const char *const names[] = { "IRQCHIP", "USER_MEMORY", "PIT2",
                                         "IMMEDIATE_EXIT", "SIGNAL_MSI", "IOEVENTFD", "IRQFD" };
    for (unsigned i = 0; i < G_N_ELEMENTS(needed); i++) {
        if (!kvm_check_ext(s, needed[i])) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                        "kvm: the host KVM lacks KVM_CAP_%s", names[i]);
            return false;
        }
    }
    kvm_dirty_log_init(s);
    s->max_vcpus = kvm_check_ext(s, KVM_CAP_MAX_VCPUS);
    if (!s->max_vcpus)
        s->max_vcpus = kvm_check_ext(s, KVM_CAP_NR_VCPUS);
    if (!s->max_vcpus)
        s->max_vcpus = 4;
    s->run_size = ioctl(s->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (s->run_size <= 0)
        return kvm_fail(errp, "KVM_GET_VCPU_MMAP_SIZE", errno);
    return true;
}

static bool create_irqchip(KvmState *s, GError **errp)
{
    int e;
    if ((e = kvm_vm_ioctl(s, KVM_SET_TSS_ADDR, (void *)(uintptr_t)KVM_TSS_ADDR)) < 0)
        return kvm_fail(errp, "KVM_SET_TSS_ADDR", -e);
    uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
    if ((e = kvm_vm_ioctl(s, KVM_SET_IDENTITY_MAP_ADDR, &idmap)) < 0)
        return kvm_fail(errp, "KVM_SET_IDENTITY_MAP_ADDR", -e);
    if ((e = kvm_vm_ioctl(s, KVM_CREATE_IRQCHIP, NULL)) < 0)
        return kvm_fail(errp, "KVM_CREATE_IRQCHIP", -e);
    struct kvm_pit_config pit = { .flags = 0 };
    if ((e = kvm_vm_ioctl(s, KVM_CREATE_PIT2, &pit)) < 0)
        return kvm_fail(errp, "KVM_CREATE_PIT2", -e);
    /* Power-on irqchip/PIT state, restored at every reset. */
    s->pic[0].chip_id = KVM_IRQCHIP_PIC_MASTER;
    s->pic[1].chip_id = KVM_IRQCHIP_PIC_SLAVE;
    s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
    if (kvm_vm_ioctl(s, KVM_GET_IRQCHIP, &s->pic[0]) < 0 ||
        kvm_vm_ioctl(s, KVM_GET_IRQCHIP, &s->pic[1]) < 0 ||
        kvm_vm_ioctl(s, KVM_GET_IRQCHIP, &s->ioapic) < 0 ||
        kvm_vm_ioctl(s, KVM_GET_PIT2, &s->pit) < 0)
        return kvm_fail(errp, "reading the initial irqchip state", errno);
    return true;
}

KvmState *kvm_init(Machine *m, GError **errp)
{
    KvmState *s = g_new0(KvmState, 1);
    s->vm_fd = -1;
    s->m = m;
    kvm_log_budgets_init(s);
    s->slots = g_array_new(FALSE, FALSE, sizeof(KvmSlot));
    pthread_cond_init(&s->parked_cond, NULL);
    pthread_cond_init(&s->resume_cond, NULL);
    s->fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (s->fd < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "Could not access KVM kernel module: %s (is /dev/kvm present and "
                    "accessible?)", g_strerror(errno));
        kvm_destroy(s);
        return NULL;
    }
    if (!create_vm(s, errp) || !create_irqchip(s, errp)) {
        kvm_destroy(s);
        return NULL;
    }
    s->supported_cpuid = get_supported_cpuid(s->fd);
    if (!s->supported_cpuid) {
        kvm_fail(errp, "KVM_GET_SUPPORTED_CPUID", errno);
        kvm_destroy(s);
        return NULL;
    }
    kvm_listeners_init(s);
    as_add_listener(m->sysmem, &s->listener);
    as_add_listener(m->io, &s->io_listener);
    return s;
}

void kvm_destroy(KvmState *s)
{
    if (!s)
        return;
    if (s->m && s->listener.opaque)
        as_del_listener(s->m->sysmem, &s->listener);
    if (s->m)
        kvm_coalesced_destroy(s);
    if (s->vm_fd >= 0)
        close(s->vm_fd);
    if (s->fd >= 0)
        close(s->fd);
    g_array_free(s->slots, TRUE);
    if (s->msi_routes)
        g_array_free(s->msi_routes, TRUE);
    g_free(s->supported_cpuid);
    g_free(s);
}

static void kvm_gsi_handler(void *opaque, int n, int level)
{
    KvmState *s = opaque;
    struct kvm_irq_level l = { .irq = n, .level = level };
    int e = kvm_vm_ioctl(s, KVM_IRQ_LINE, &l);
    if (e < 0)
        log_budget_warn(&s->log_irq, "kvm: KVM_IRQ_LINE gsi %d level %d: %s", n, level,
                        g_strerror(-e));
}

static void kvm_msi_send(void *opaque, uint64_t addr, uint32_t data)
{
    KvmState *s = opaque;
    struct kvm_msi msi = { .address_lo = addr, .address_hi = addr >> 32, .data = data };
    int e = kvm_vm_ioctl(s, KVM_SIGNAL_MSI, &msi);
    if (e < 0)
        log_budget_warn(&s->log_msi, "kvm: KVM_SIGNAL_MSI 0x%" G_GINT64_MODIFIER "x/0x%x: %s",
                        addr, data, g_strerror(-e));
}

void kvm_listeners_init(KvmState *s)
{
    s->listener = (MemListener){ .region_add = listener_add, .region_del = listener_del,
                                 .opaque = s };
    kvm_coalesced_init(s);       /* coalescing hooks of s->listener and s->io_listener */
    kvm_dirty_log_hooks(s, &s->listener);
    s->listener.eventfd_add = s->io_listener.eventfd_add = ioeventfd_add;
    s->listener.eventfd_del = s->io_listener.eventfd_del = ioeventfd_del;
}

void kvm_log_budgets_init(KvmState *s)
{
    s->log_irq = s->log_msi = s->log_ioeventfd = s->log_zone = (LogBudget)LOG_BUDGET_DEFAULT;
}

static int msi_irqfd_add(void *opaque, int fd, uint64_t addr, uint32_t data)
{
    return kvm_msi_irqfd_add(opaque, fd, addr, data);
}

static int msi_irqfd_update(void *opaque, int handle, uint64_t addr, uint32_t data)
{
    return kvm_msi_irqfd_update(opaque, handle, addr, data);
}

static void msi_irqfd_del(void *opaque, int handle)
{
    kvm_msi_irqfd_del(opaque, handle);
}

void kvm_connect_irqs(KvmState *s, Machine *m)
{
    for (int i = 0; i < MACHINE_NUM_GSI; i++)
        m->gsi[i] = (IrqLine){ .handler = kvm_gsi_handler, .opaque = s, .n = i };
    m->msi = (MsiSink){ .send = kvm_msi_send, .irqfd_add = msi_irqfd_add,
                        .irqfd_update = msi_irqfd_update, .irqfd_del = msi_irqfd_del,
                        .opaque = s };
}

int kvm_ioeventfd(KvmState *s, int fd, uint64_t addr, unsigned len, bool pio,
                  bool match, uint64_t data, bool assign)
{
    struct kvm_ioeventfd io = {
        .datamatch = data, .addr = addr, .len = len, .fd = fd,
        .flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
                 (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
                 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };
    return kvm_vm_ioctl(s, KVM_IOEVENTFD, &io);
}

int kvm_irqfd(KvmState *s, int fd, unsigned gsi, bool assign)
{
    struct kvm_irqfd f = { .fd = fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };
    return kvm_vm_ioctl(s, KVM_IRQFD, &f);
}

/* Restores the power-on PIC/IOAPIC/PIT state (KVM does not reset them itself). */
void kvm_reset_irqchip(KvmState *s)
{
    kvm_vm_ioctl(s, KVM_SET_IRQCHIP, &s->pic[0]);
    kvm_vm_ioctl(s, KVM_SET_IRQCHIP, &s->pic[1]);
    kvm_vm_ioctl(s, KVM_SET_IRQCHIP, &s->ioapic);
    kvm_vm_ioctl(s, KVM_SET_PIT2, &s->pit);
}
