/*
 * APIC id layout (Intel SDM vol. 3A 8.9.1 "Hierarchical Mapping of Shared Resources";
 * the same packing QEMU uses): SMT, core, die and package ids occupy consecutive bit
 * fields, each ceil(log2(count)) bits wide, the SMT field lowest.
 */
#include "cpu-int.h"

static unsigned width(unsigned n)
{
    return n > 1 ? g_bit_storage(n - 1) : 0;
}

void x86_topo_info(const X86Topology *t, unsigned cpu_index, TopoInfo *ti)
{
    ti->sockets = t && t->sockets ? t->sockets : 1;
    ti->dies = t && t->dies ? t->dies : 1;
    ti->cores = t && t->cores ? t->cores : 1;
    ti->threads = t && t->threads ? t->threads : 1;
    ti->core_off = width(ti->threads);
    ti->die_off = ti->core_off + width(ti->cores);
    ti->pkg_off = ti->die_off + width(ti->dies);
    ti->thread_id = cpu_index % ti->threads;
    ti->core_id = cpu_index / ti->threads % ti->cores;
    ti->die_id = cpu_index / (ti->threads * ti->cores) % ti->dies;
    ti->socket_id = cpu_index / (ti->threads * ti->cores * ti->dies);
}

uint32_t x86_apic_id(const X86Topology *t, unsigned cpu_index)
{
    TopoInfo ti;
    x86_topo_info(t, cpu_index, &ti);
    return ti.socket_id << ti.pkg_off | ti.die_id << ti.die_off |
           ti.core_id << ti.core_off | ti.thread_id;
}

void x86_topo_ids(const X86Topology *t, unsigned cpu_index, TopoIds *ids)
{
    TopoInfo ti;
    x86_topo_info(t, cpu_index, &ti);
    *ids = (TopoIds){ .socket_id = ti.socket_id, .die_id = ti.die_id,
                      .core_id = ti.core_id, .thread_id = ti.thread_id };
}
