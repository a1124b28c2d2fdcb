/* The pc board's entry points used by main (hw/i386/pc.c). */
#ifndef VIREO_PC_H
#define VIREO_PC_H
#include "vireo/machine.h"
#include "vireo/loader.h"

/* Maps guest RAM (memfd, 2 MiB aligned) as ram-below-4g / ram-above-4g. */
bool machine_alloc_ram(Machine *m, GError **errp);
/* Fills m->e820 from the RAM layout. */
void pc_build_e820(Machine *m);
/* After -device processing: assigns BARs, writes ACPI tables, loads the payload. */
bool pc_finish_init(Machine *m, BootInfo *bi, GError **errp);
/* Checks -kernel/-initrd files (exist, bootable, fit) before the machine is built. */
bool pc_check_payload(const MachineOpts *o, GError **errp);
/* Loads -kernel/-initrd/-append, or the embedded default guest. */
bool pc_load_payload(Machine *m, BootInfo *bi, GError **errp);
#endif
