/*
 * SMBIOS tables (hw/smbios/smbios.c): built from the machine's shape and -smbios
 * options, handed to SeaBIOS through fw_cfg or placed in the BIOS area for direct boot.
 */
#ifndef VIREO_SMBIOS_H
#define VIREO_SMBIOS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define SMBIOS_ANCHOR_LEN 31     /* 2.8 entry point "_SM_" ... "_DMI_" */

typedef struct SmbiosMachine {
    uint64_t ram_size;
    unsigned sockets, cores_per_socket, threads_per_core;
    const char *uuid;            /* -uuid, or NULL */
    uint64_t ranges[2][2];       /* RAM ranges (start, size) for type 19 */
    unsigned nranges;
    GPtrArray *opts;             /* -smbios specs (char *), or NULL */
} SmbiosMachine;

typedef struct SmbiosTables {
    GByteArray *tables;          /* the structures, ending with type 127 */
    uint8_t anchor[SMBIOS_ANCHOR_LEN];   /* table address 0 until placed */
} SmbiosTables;

/* Checks one -smbios option (@opaque NULL) with errors naming it. */
bool smbios_option(void *opaque, const char *spec, GError **errp);
/* Builds the tables; false with an error naming a bad -smbios option. */
bool smbios_build(const SmbiosMachine *mi, SmbiosTables *out, GError **errp);
/* Sets the table address in an anchor and redoes both checksums. */
void smbios_anchor_set_address(uint8_t *anchor, uint32_t addr);

#endif
