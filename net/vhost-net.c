/*
 * vhost-net (Linux Documentation/virt/... and drivers/vhost/vhost.h's ioctls): owner,
 * feature negotiation, the guest memory table (RAM below and above 4 GiB), each vring's
 * size, base index, addresses (host-virtual, after checking the rings lie in guest RAM),
 * kick and call eventfds, and the tap fd as the backend. The tap has the 12-byte
 * virtio-net header (TUNSETVNETHDRSZ), so VHOST_NET_F_VIRTIO_NET_HDR is not asked for:
 * the header goes between guest and tap untouched.
 */
#include "vireo/vhost-net.h"
#include "vireo/machine.h"
#include <errno.h>
#include <linux/vhost.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct VhostNet {
    Machine *m;
    int fd, tapfd;
    uint32_t busyloop_us;
    uint64_t features;
    bool running;
};

static int vh_ioctl(VhostNet *v, unsigned long req, void *arg)
{
    int r;
    do {
        r = ioctl(v->fd, req, arg);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

static bool fail(GError **errp, const char *what, int err)
{
    g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(err), "vhost-net: %s: %s", what,
                g_strerror(err));
    return false;
}

VhostNet *vhost_net_new(Machine *m, int vhostfd, int tapfd, uint32_t busyloop_us,
                        GError **errp)
{
    VhostNet *v = g_new0(VhostNet, 1);
    v->m = m;
    v->fd = vhostfd;
    v->tapfd = tapfd;
    v->busyloop_us = busyloop_us;
    int e = vh_ioctl(v, VHOST_SET_OWNER, NULL);
    if (e < 0 || (e = vh_ioctl(v, VHOST_GET_FEATURES, &v->features)) < 0) {
        fail(errp, e == -EBUSY ? "VHOST_SET_OWNER" : "VHOST_GET_FEATURES", -e);
        vhost_net_free(v);
        return NULL;
    }
    return v;
}

void vhost_net_free(VhostNet *v)
{
    if (!v)
        return;
    if (v->running) {
        uint16_t last[2];
        vhost_net_stop(v, last);
    }
    close(v->fd);
    g_free(v);
}

uint64_t vhost_net_features(const VhostNet *v) { return v->features; }
bool vhost_net_running(const VhostNet *v) { return v->running; }

static bool set_mem_table(VhostNet *v, GError **errp)
{
    Machine *m = v->m;
    struct vhost_memory *mem = g_malloc0(sizeof(*mem) + 2 * sizeof(mem->regions[0]));
    mem->regions[0] = (struct vhost_memory_region){
        .guest_phys_addr = 0, .memory_size = m->below_4g,
        .userspace_addr = (uintptr_t)m->ram };
    mem->nregions = 1;
    if (m->above_4g)
        mem->regions[mem->nregions++] = (struct vhost_memory_region){
            .guest_phys_addr = 1ull << 32, .memory_size = m->above_4g,
            .userspace_addr = (uintptr_t)(m->ram + m->below_4g) };
    int e = vh_ioctl(v, VHOST_SET_MEM_TABLE, mem);
    g_free(mem);
    return e >= 0 || fail(errp, "VHOST_SET_MEM_TABLE", -e);
}

/* The rings as host pointers; NULL when they are not wholly in guest RAM. */
static bool ring_addr(VhostNet *v, unsigned i, const VhostVring *r, GError **errp)
{
    AddressSpace *as = v->m->sysmem;
    void *desc = as_ram_ptr(as, r->desc, 16ull * r->num);
    void *avail = as_ram_ptr(as, r->avail, 6 + 2ull * r->num);
    void *used = as_ram_ptr_writable(as, r->used, 6 + 8ull * r->num);
    if (!desc || !avail || !used) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "vhost-net: ring %u outside guest RAM", i);
        return false;
    }
    struct vhost_vring_addr a = { .index = i, .desc_user_addr = (uintptr_t)desc,
                                  .avail_user_addr = (uintptr_t)avail,
                                  .used_user_addr = (uintptr_t)used };
    int e = vh_ioctl(v, VHOST_SET_VRING_ADDR, &a);
    return e >= 0 || fail(errp, "VHOST_SET_VRING_ADDR", -e);
}

static bool start_ring(VhostNet *v, unsigned i, const VhostVring *r, GError **errp)
{
    struct vhost_vring_state num = { .index = i, .num = r->num };
    struct vhost_vring_state base = { .index = i, .num = r->last_avail_idx };
    struct vhost_vring_file kick = { .index = i, .fd = r->kick };
    struct vhost_vring_file call = { .index = i, .fd = r->call };
    int e;
    if ((e = vh_ioctl(v, VHOST_SET_VRING_NUM, &num)) < 0)
        return fail(errp, "VHOST_SET_VRING_NUM", -e);
    if ((e = vh_ioctl(v, VHOST_SET_VRING_BASE, &base)) < 0)
        return fail(errp, "VHOST_SET_VRING_BASE", -e);
    if (!ring_addr(v, i, r, errp))
        return false;
    if ((e = vh_ioctl(v, VHOST_SET_VRING_KICK, &kick)) < 0)
        return fail(errp, "VHOST_SET_VRING_KICK", -e);
    if ((e = vh_ioctl(v, VHOST_SET_VRING_CALL, &call)) < 0)
        return fail(errp, "VHOST_SET_VRING_CALL", -e);
    if (v->busyloop_us) {
        struct vhost_vring_state bl = { .index = i, .num = v->busyloop_us };
        if ((e = vh_ioctl(v, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &bl)) < 0)
            return fail(errp, "VHOST_SET_VRING_BUSYLOOP_TIMEOUT", -e);
    }
    return true;
}

bool vhost_net_start(VhostNet *v, uint64_t features, const VhostVring vr[2], GError **errp)
{
    uint64_t f = features & v->features;
    int e = vh_ioctl(v, VHOST_SET_FEATURES, &f);
    if (e < 0)
        return fail(errp, "VHOST_SET_FEATURES", -e);
    if (!set_mem_table(v, errp))
        return false;
    for (unsigned i = 0; i < 2; i++)
        if (!start_ring(v, i, &vr[i], errp))
            return false;
    for (unsigned i = 0; i < 2; i++) {
        struct vhost_vring_file b = { .index = i, .fd = v->tapfd };
        if ((e = vh_ioctl(v, VHOST_NET_SET_BACKEND, &b)) < 0) {
            struct vhost_vring_file off = { .index = 0, .fd = -1 };
            vh_ioctl(v, VHOST_NET_SET_BACKEND, &off);
            return fail(errp, "VHOST_NET_SET_BACKEND", -e);
        }
    }
    v->running = true;
    return true;
}

void vhost_net_stop(VhostNet *v, uint16_t last_avail[2])
{
    for (unsigned i = 0; i < 2; i++) {
        struct vhost_vring_file b = { .index = i, .fd = -1 };
        struct vhost_vring_state s = { .index = i };
        vh_ioctl(v, VHOST_NET_SET_BACKEND, &b);
        last_avail[i] = vh_ioctl(v, VHOST_GET_VRING_BASE, &s) >= 0 ? s.num : 0;
        struct vhost_vring_file none = { .index = i, .fd = -1 };
        vh_ioctl(v, VHOST_SET_VRING_KICK, &none);
        vh_ioctl(v, VHOST_SET_VRING_CALL, &none);
    }
    v->running = false;
}
