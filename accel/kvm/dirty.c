/*
 * Dirty logging for migration and the display (Documentation/virt/kvm/api.rst:
 * KVM_MEM_LOG_DIRTY_PAGES, KVM_GET_DIRTY_LOG, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 and
 * KVM_CLEAR_DIRTY_LOG).
 *
 * The hooks sit on the memory listener of the system address space, so migration and
 * the VGA ask the address space (as_log_*, as_log_display_*: system/memory-log.c,
 * which starts a slot's log once while either client wants it and hands every
 * harvest to both) and never KVM. Starting the log
 * write-protects the slot; with manual protection KVM_GET_DIRTY_LOG neither clears nor
 * write-protects: a sync reads the bitmap, then clears exactly the pages it is about
 * to hand out, which write-protects them again; a page written after that is reported
 * by the next sync. Without the capability, KVM_GET_DIRTY_LOG does both at once.
 * (INITIALLY_SET is not used: the caller copies everything in its first pass anyway.)
 */
#include "kvm-int.h"
#include <errno.h>
#include <string.h>

void kvm_dirty_log_init(KvmState *s)
{
    int caps = kvm_check_ext(s, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
    struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
                                  .args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE };
    if (!(caps & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE) ||
        kvm_vm_ioctl(s, KVM_ENABLE_CAP, &cap) < 0)
        return;
    s->manual_dirty_protect = true;
}

static KvmSlot *find_slot(KvmState *s, MemRegion *mr)
{
    for (guint i = 0; i < s->slots->len; i++) {
        KvmSlot *slot = &g_array_index(s->slots, KvmSlot, i);
        if (slot->mr == mr)
            return slot;
    }
    return NULL;
}

static uint64_t bitmap_bytes(const MemRegion *mr)
{
    return ((mr->size / 4096 + 63) / 64) * 8;
}

static int kvm_log_start(MemListener *l, MemRegion *mr)
{
    KvmState *s = l->opaque;
    KvmSlot *slot = find_slot(s, mr);
    if (!slot)
        return 0;                   /* not a KVM slot: nothing the guest writes directly */
    if (slot->logging)
        return 0;
    slot->logging = true;
    slot->bitmap = g_malloc0(bitmap_bytes(mr));
    int e = kvm_slot_update(s, slot);
    if (e < 0) {
        slot->logging = false;
        g_clear_pointer(&slot->bitmap, g_free);
    }
    return e;
}

static void kvm_log_stop(MemListener *l, MemRegion *mr)
{
    KvmState *s = l->opaque;
    KvmSlot *slot = find_slot(s, mr);
    if (!slot || !slot->logging)
        return;
    slot->logging = false;
    kvm_slot_update(s, slot);
    g_clear_pointer(&slot->bitmap, g_free);
}

/* Clears (re-protects) the pages set in the bitmap, in 64-page aligned pieces that
 * contain any (api.rst: first_page and num_pages multiples of 64, or up to the end). */
static int clear_log(KvmState *s, KvmSlot *slot)
{
    uint64_t pages = slot->mr->size / 4096, words = (pages + 63) / 64;
    uint64_t *map = slot->bitmap;
    for (uint64_t w = 0; w < words;) {
        if (!map[w]) {
            w++;
            continue;
        }
        uint64_t end = w;
        while (end < words && map[end] && end - w < 4096)
            end++;
        struct kvm_clear_dirty_log c = {
            .slot = slot->id, .first_page = w * 64,
            .num_pages = MIN(end * 64, pages) - w * 64, .dirty_bitmap = map + w,
        };
        int e = kvm_vm_ioctl(s, KVM_CLEAR_DIRTY_LOG, &c);
        if (e < 0)
            return e;
        w = end;
    }
    return 0;
}

static int kvm_log_sync(MemListener *l, MemRegion *mr,
                        void (*fn)(MemRegion *r, const unsigned long *bitmap, void *opaque),
                        void *opaque)
{
    KvmState *s = l->opaque;
    KvmSlot *slot = find_slot(s, mr);
    if (!slot || !slot->logging)
        return 0;
    struct kvm_dirty_log d = { .slot = slot->id, .dirty_bitmap = slot->bitmap };
    memset(slot->bitmap, 0, bitmap_bytes(mr));
    int e = kvm_vm_ioctl(s, KVM_GET_DIRTY_LOG, &d);
    if (e < 0)
        return e;
    if (s->manual_dirty_protect && (e = clear_log(s, slot)) < 0)
        return e;
    fn(mr, (const unsigned long *)slot->bitmap, opaque);
    return 0;
}

void kvm_dirty_log_hooks(KvmState *s, MemListener *l)
{
    l->log_start = kvm_log_start;
    l->log_stop = kvm_log_stop;
    l->log_sync = kvm_log_sync;
}
