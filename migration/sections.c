/*
 * What a stream carries besides RAM: the CONFIG record (what the destination must
 * match: machine, CPUs, RAM blocks, and one entry per section with the name and
 * version of each of its state levels) and the DEVICE records (the state of each
 * section). A section is the in-kernel VM state ("kvm-vm"), one device, or one vCPU
 * ("x86-cpu"), identified by its name and its instance among sections of that name,
 * or a -netdev user ("slirp", libslirp's state), identified by the netdev id.
 *
 * The destination compares CONFIG with its own machine before any RAM is sent, so a
 * missing or extra device, a version too new or a different RAM size is refused at
 * once, by name; the DEVICE records are checked by the validators when applied.
 */
#include "migration.h"
#include "vireo/kvm.h"
#include "vireo/net.h"
#include "vireo/pci.h"
#include <string.h>

/* ---- byte encoding ------------------------------------------------------------------ */

static void put_le(GByteArray *o, uint64_t v, unsigned n)
{
    uint8_t b[8];
    for (unsigned i = 0; i < n; i++)
        b[i] = v >> (8 * i);
    g_byte_array_append(o, b, n);
}

static void put_str(GByteArray *o, const char *s)
{
    size_t n = s ? MIN(strlen(s), 1024) : 0;
    put_le(o, n, 2);
    g_byte_array_append(o, (const guint8 *)(s ? s : ""), n);
}

/* Bounded reads from a CONFIG payload: any overrun fails. */
typedef struct Cur {
    const uint8_t *p, *end;
    bool bad;
} Cur;

static uint64_t get_le(Cur *c, unsigned n)
{
    uint64_t v = 0;
    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = true;
        return 0;
    }
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)c->p[i] << (8 * i);
    c->p += n;
    return v;
}

/* A string of at most @max - 1 bytes, NUL-terminated into @buf. */
static void get_str(Cur *c, char *buf, size_t max)
{
    size_t n = get_le(c, 2);
    buf[0] = 0;
    if (c->bad || n >= max || (size_t)(c->end - c->p) < n) {
        c->bad = true;
        return;
    }
    memcpy(buf, c->p, n);
    buf[n] = 0;
    if (memchr(buf, 0, n))
        c->bad = true;
    c->p += n;
}

/* ---- the section list ----------------------------------------------------------------- */

static void add_levels(MigSection *s, const DeviceClass *cls)
{
    const DeviceClass *rev[MIG_MAX_LEVELS];
    unsigned n = 0;
    for (; cls && n < MIG_MAX_LEVELS; cls = device_class_parent(cls))
        rev[n++] = cls;
    while (n--)
        if (rev[n]->vmsd)
            s->levels[s->nlevels++] = rev[n]->vmsd;
}

static uint32_t next_instance(GArray *a, const char *name)
{
    uint32_t k = 0;
    for (guint i = 0; i < a->len; i++)
        if (!strcmp(g_array_index(a, MigSection, i).name, name))
            k++;
    return k;
}

GArray *mig_sections(Machine *m)
{
    GArray *a = g_array_new(FALSE, TRUE, sizeof(MigSection));
    MigSection s;
    if (m->kvm) {
        memset(&s, 0, sizeof(s));
        g_strlcpy(s.name, "kvm-vm", sizeof(s.name));
        s.devfn = s.cpu = -1;
        s.levels[s.nlevels++] = &vmstate_kvm_vm;
        g_array_append_val(a, s);
    }
    for (guint i = 0; i < m->devices->len; i++) {
        Device *d = m->devices->pdata[i];
        memset(&s, 0, sizeof(s));
        g_strlcpy(s.name, d->cls->name, sizeof(s.name));
        s.instance = next_instance(a, s.name);
        g_strlcpy(s.id, d->id ? d->id : "", sizeof(s.id));
        s.dev = d;
        s.dev_serial = d->serial;
        s.cpu = -1;
        s.devfn = device_class_is(d->cls, &pci_device_class) ? ((PciDevice *)d)->devfn : -1;
        add_levels(&s, d->cls);
        g_array_append_val(a, s);
    }
    for (unsigned i = 0; m->kvm && m->cpus && i < m->ncpus; i++) {
        memset(&s, 0, sizeof(s));
        g_strlcpy(s.name, "x86-cpu", sizeof(s.name));
        s.instance = i;
        s.devfn = -1;
        s.cpu = i;
        s.levels[s.nlevels++] = &vmstate_x86_cpu;
        g_array_append_val(a, s);
    }
    GPtrArray *nds = net_netdevs(m);
    for (guint i = 0; i < nds->len; i++) {
        NetBackend *nd = nds->pdata[i];
        if (nd->type != NET_CLIENT_DRIVER_USER)
            continue;
        memset(&s, 0, sizeof(s));
        g_strlcpy(s.name, MIG_SECTION_SLIRP, sizeof(s.name));
        s.instance = next_instance(a, s.name);
        g_strlcpy(s.id, nd->id, sizeof(s.id));
        s.devfn = s.cpu = -1;
        s.nd = nd;
        s.levels[s.nlevels++] = &vmstate_slirp;
        g_array_append_val(a, s);
    }
    return a;
}

static bool by_id(const char *name)
{
    return !strcmp(name, MIG_SECTION_SLIRP);
}

char *mig_section_label(const MigSection *s)
{
    GString *g = g_string_new(NULL);
    if (by_id(s->name)) {
        g_string_append_printf(g, "'%s' (netdev '%s')", s->name, s->id);
        return g_string_free(g, FALSE);
    }
    g_string_append_printf(g, "'%s' instance %u", s->name, s->instance);
    if (s->id[0] || s->devfn >= 0) {
        g_string_append(g, " (");
        if (s->id[0])
            g_string_append_printf(g, "id '%s'%s", s->id, s->devfn >= 0 ? ", " : "");
        if (s->devfn >= 0)
            g_string_append_printf(g, "PCI 00:%02x.%x", PCI_SLOT(s->devfn), PCI_FUNC(s->devfn));
        g_string_append(g, ")");
    }
    return g_string_free(g, FALSE);
}

/* ---- CONFIG ---------------------------------------------------------------------------- */

void mig_config_build(Machine *m, GArray *secs, uint32_t flags, GByteArray *out)
{
    put_str(out, m->cls ? m->cls->name : "");
    put_str(out, m->opts.cpu_model ? m->opts.cpu_model : "");
    put_le(out, m->ncpus, 4);
    put_str(out, m->opts.uuid ? m->opts.uuid : "");
    mig_ram_config(m, out);
    put_le(out, secs->len, 4);
    for (guint i = 0; i < secs->len; i++) {
        const MigSection *s = &g_array_index(secs, MigSection, i);
        put_str(out, s->name);
        put_le(out, s->instance, 4);
        put_str(out, s->id);
        put_le(out, (uint32_t)s->devfn, 4);
        put_le(out, s->nlevels, 1);
        for (unsigned l = 0; l < s->nlevels; l++) {
            put_str(out, s->levels[l]->name);
            put_le(out, s->levels[l]->version, 4);
        }
    }
}

static bool differs(GError **errp, const char *what, const char *stream, const char *here)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                "%s differs: '%s' in the stream, '%s' here", what, stream, here);
    return false;
}

static bool malformed(GError **errp)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                "the stream's configuration record is malformed");
    return false;
}

/* The local section the stream's @st stands for: the same name and instance, or for
 * a netdev, the same name and id. */
static int find_local(GArray *secs, const MigSection *st)
{
    for (guint i = 0; i < secs->len; i++) {
        const MigSection *s = &g_array_index(secs, MigSection, i);
        if (strcmp(s->name, st->name))
            continue;
        if (by_id(s->name) ? !strcmp(s->id, st->id) : s->instance == st->instance)
            return i;
    }
    return -1;
}

/* One section as the stream's CONFIG record describes it. */
typedef struct StreamSection {
    MigSection s;
    unsigned nlevels;
    char level[MIG_MAX_LEVELS][128];
    uint32_t version[MIG_MAX_LEVELS];
} StreamSection;

static bool read_section(Cur *c, StreamSection *st)
{
    memset(st, 0, sizeof(*st));
    get_str(c, st->s.name, sizeof(st->s.name));
    st->s.instance = get_le(c, 4);
    get_str(c, st->s.id, sizeof(st->s.id));
    st->s.devfn = (int32_t)get_le(c, 4);
    st->s.cpu = -1;
    st->nlevels = get_le(c, 1);
    if (c->bad || st->nlevels > MIG_MAX_LEVELS)
        return false;
    for (unsigned l = 0; l < st->nlevels; l++) {
        get_str(c, st->level[l], sizeof(st->level[l]));
        st->version[l] = get_le(c, 4);
    }
    return !c->bad;
}

/* One stream section's levels against the local section's descriptions. */
static bool check_levels(const StreamSection *st, const MigSection *local, GError **errp)
{
    g_autofree char *label = mig_section_label(local);
    if (st->nlevels != local->nlevels) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "section %s has %u state "
                    "levels in the stream, %u here", label, st->nlevels, local->nlevels);
        return false;
    }
    for (unsigned l = 0; l < st->nlevels; l++) {
        const VMStateDesc *d = local->levels[l];
        uint32_t v = st->version[l];
        if (strcmp(st->level[l], d->name)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "section %s: state '%s' "
                        "in the stream where this machine has '%s'", label, st->level[l],
                        d->name);
            return false;
        }
        if (v > (uint32_t)d->version || v < (uint32_t)MAX(d->min_version, 0)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "section %s: state '%s' "
                        "version %u is not supported (accepts %d..%d)", label, st->level[l],
                        v, d->min_version, d->version);
            return false;
        }
    }
    return true;
}

static bool check_header(Machine *m, Cur *c, GError **errp)
{
    char machine[128], cpu[256], uuid[64];
    get_str(c, machine, sizeof(machine));
    get_str(c, cpu, sizeof(cpu));
    uint32_t ncpus = get_le(c, 4);
    get_str(c, uuid, sizeof(uuid));
    if (c->bad)
        return malformed(errp);
    const char *here = m->cls ? m->cls->name : "";
    if (strcmp(machine, here))
        return differs(errp, "the machine type", machine, here);
    here = m->opts.cpu_model ? m->opts.cpu_model : "";
    if (strcmp(cpu, here))
        return differs(errp, "the CPU model (-cpu)", cpu, here);
    if (ncpus != m->ncpus) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "the number of vCPUs differs: %u in the stream, %u here", ncpus, m->ncpus);
        return false;
    }
    MigrationState *s = mig_state(m);
    here = m->opts.uuid ? m->opts.uuid : "";
    if (s->caps[MIGRATION_CAPABILITY_VALIDATE_UUID] && uuid[0] && strcmp(uuid, here))
        return differs(errp, "the VM's UUID", uuid, here);
    return true;
}

/*
 * The whole list is read first, so that a device one side has and the other lacks is
 * reported by name before anything it shifted (another device's PCI slot, say).
 */
bool mig_config_check(Machine *m, GArray *secs, const uint8_t *buf, size_t len,
                      GArray *map, GError **errp)
{
    Cur c = { buf, buf + len, false };
    if (!check_header(m, &c, errp) || !mig_ram_config_check(m, &c.p, c.end, errp))
        return false;
    uint32_t n = get_le(&c, 4);
    /* each section takes at least 13 bytes: no allocation beyond what the record holds */
    if (c.bad || n > MIG_MAX_SECTIONS || n > (size_t)(c.end - c.p) / 13)
        return malformed(errp);
    g_autofree StreamSection *st = g_new0(StreamSection, n ? n : 1);
    for (uint32_t i = 0; i < n; i++)
        if (!read_section(&c, &st[i]))
            return malformed(errp);
    if (c.p != c.end)
        return malformed(errp);

    g_autofree int *local = g_new(int, n ? n : 1);
    g_autofree bool *seen = g_new0(bool, secs->len + 1);
    for (uint32_t i = 0; i < n; i++) {
        int k = find_local(secs, &st[i].s);
        g_autofree char *label = mig_section_label(&st[i].s);
        if (k >= 0 && seen[k]) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "the stream names section %s twice", label);
            return false;
        }
        if (k < 0) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the stream has section "
                        "%s, which this machine lacks (an extra %s on the source?)", label,
                        by_id(st[i].s.name) ? "netdev" : "device");
            return false;
        }
        seen[k] = true;
        local[i] = k;
    }
    for (guint k = 0; k < secs->len; k++) {
        if (!seen[k]) {
            const MigSection *l = &g_array_index(secs, MigSection, k);
            g_autofree char *label = mig_section_label(l);
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "this machine has "
                        "section %s, which the stream lacks (an extra %s here?)", label,
                        by_id(l->name) ? "netdev" : "device");
            return false;
        }
    }
    g_array_set_size(map, 0);
    for (uint32_t i = 0; i < n; i++) {
        const MigSection *l = &g_array_index(secs, MigSection, local[i]);
        if (l->devfn != st[i].s.devfn) {
            g_autofree char *sl = mig_section_label(&st[i].s);
            g_autofree char *ll = mig_section_label(l);
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "section %s is %s here",
                        sl, ll);
            return false;
        }
        if (!check_levels(&st[i], l, errp))
            return false;
        g_array_append_val(map, local[i]);
    }
    return true;
}

/* ---- DEVICE records ------------------------------------------------------------------- */

/* A section's netdev, unless it was removed since the section list was made. */
static NetBackend *section_netdev(Machine *m, const MigSection *s, GError **errp)
{
    if (g_ptr_array_find(net_netdevs(m), s->nd, NULL))
        return s->nd;
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "netdev '%s' was removed", s->id);
    return NULL;
}

/* A section's device, unless it was removed since the section list was made (a guest
 * may eject a hot-plugged device while a live migration runs). */
static Device *section_device(Machine *m, const MigSection *s, GError **errp)
{
    for (guint i = 0; i < m->devices->len; i++) {
        Device *d = m->devices->pdata[i];
        if (d->serial == s->dev_serial)
            return d;
    }
    g_autofree char *label = mig_section_label(s);
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "device %s was removed during the "
                "migration", label);
    return NULL;
}

static bool save_one(Machine *m, const MigSection *s, GByteArray *out, GError **errp)
{
    if (s->nd) {
        NetBackend *nd = section_netdev(m, s, errp);
        return nd && net_slirp_state_save(nd, out, errp);
    }
    if (s->dev) {
        Device *d = section_device(m, s, errp);
        if (d)
            device_state_save(d, out);
        return d != NULL;
    }
    if (s->cpu >= 0) {
        g_autofree X86CPUState *st = g_new0(X86CPUState, 1);
        if (!kvm_vcpu_state_get(m->kvm, s->cpu, st, errp))
            return false;
        vmstate_save(&vmstate_x86_cpu, st, out);
        return true;
    }
    KvmVmState st;
    if (!kvm_vm_state_get(m->kvm, &st, errp))
        return false;
    vmstate_save(&vmstate_kvm_vm, &st, out);
    return true;
}

bool mig_save_sections(Machine *m, GArray *secs, GByteArray *out, GError **errp)
{
    g_autoptr(GByteArray) one = g_byte_array_new();
    for (guint i = 0; i < secs->len; i++) {
        g_byte_array_set_size(one, 0);
        if (!save_one(m, &g_array_index(secs, MigSection, i), one, errp))
            return false;
        put_le(out, MIG_R_DEVICE, 1);
        put_le(out, i, 4);
        put_le(out, one->len, 4);
        g_byte_array_append(out, one->data, one->len);
    }
    return true;
}

static bool load_one(Machine *m, const MigSection *s, const uint8_t *buf, size_t len,
                     GError **errp)
{
    if (s->nd) {
        NetBackend *nd = section_netdev(m, s, errp);
        return nd && net_slirp_state_load(nd, buf, len, errp);
    }
    if (s->dev) {
        Device *d = section_device(m, s, errp);
        return d && device_state_load(d, buf, len, errp);
    }
    if (s->cpu >= 0) {
        g_autofree X86CPUState *st = g_new0(X86CPUState, 1);
        ssize_t n = vmstate_load(&vmstate_x86_cpu, st, buf, len, errp);
        if (n >= 0 && (size_t)n != len) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%zu bytes left over",
                        len - n);
            return false;
        }
        return n >= 0 && kvm_vcpu_state_put(m->kvm, s->cpu, st, errp);
    }
    KvmVmState st;
    ssize_t n = vmstate_load(&vmstate_kvm_vm, &st, buf, len, errp);
    if (n >= 0 && (size_t)n != len) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%zu bytes left over", len - n);
        return false;
    }
    if (n < 0 || !kvm_vm_state_put(m->kvm, &st, errp))
        return false;
    mig_state(m)->loaded_clock = st.clock;
    return true;
}

bool mig_load_section(Machine *m, const MigSection *s, const uint8_t *buf, size_t len,
                      GError **errp)
{
    if (load_one(m, s, buf, len, errp))
        return true;
    g_autofree char *label = mig_section_label(s);
    g_prefix_error(errp, "section %s: ", label);
    return false;
}
