/*
 * The QEMU-compatible command line (-opt value, key=val,... option strings, help/?).
 * Parsing fills VireoOptions; nothing is created here, so it is unit-testable.
 */
#ifndef VIREO_CMDLINE_H
#define VIREO_CMDLINE_H

#include <stdbool.h>
#include <glib.h>
#include "vireo/machine.h"
#include "vireo/option.h"
#include "vireo/net.h"
#include "vireo/device.h"

/* A parsed option argument (-device, and the other options with a JSON form): its
 * text for messages and its tree; @kv when it came from keyval text. */
typedef struct OptEntry {
    char *text;
    JsonObject *obj;
    bool kv;
} OptEntry;

typedef struct VireoOptions {
    MachineOpts machine;
    const char *accel;            /* "kvm" */
    bool nographic;
    bool no_user_config;
    const char *display;          /* NULL (default), "none", "sdl" */
    const char *vga;              /* -vga: NULL (default: std), "std", "none" */
    GPtrArray *vncs;              /* char * -vnc specs (and -display vnc=) */
    bool full_screen, show_cursor, window_close;   /* -display sdl options */
    const char *grab_mod;         /* -display sdl,grab-mod= */
    GPtrArray *serials;           /* char * specs for -serial, in order */
    GPtrArray *chardevs;          /* char * -chardev specs */
    GPtrArray *drives;            /* char * -drive specs (also from -hda, -cdrom, ...) */
    GPtrArray *blockdevs;         /* OptEntry * of -blockdev */
    GPtrArray *audiodevs;         /* OptEntry * of -audiodev (driver none only) */
    GPtrArray *owned;             /* strings the parser and -readconfig made (freed with o) */
    GPtrArray *devices;           /* OptEntry * of -device, checked against the classes */
    GPtrArray *objects;           /* OptEntry * of -object */
    GPtrArray *qmps;              /* char * -qmp specs (control) */
    GPtrArray *qmps_pretty;       /* char * -qmp-pretty specs */
    GPtrArray *mons;              /* char * -mon specs */
    GPtrArray *monitors;          /* char * -monitor specs (HMP) */
    NetOptions *net;              /* -netdev, -nic, -net (net/netdev.c) */
    /* What to print instead of running (help and version requests). */
    bool want_version, want_help;
    bool machine_help, cpu_help, device_help;
    const char *device_help_name;  /* -device NAME,help */
    bool object_help;              /* -object help */
    const char *object_help_name;  /* -object TYPE,help */
    bool smp_given;
    /* Process options (system/cmdline-proc.c). */
    const char *pidfile;          /* -pidfile */
    bool daemonize;               /* -daemonize */
    const char *process_name;     /* -name process= */
    bool msg_timestamp, msg_guest_name;   /* -msg */
    bool mem_lock;                /* -overcommit mem-lock=on */
    bool sandbox;                 /* -sandbox on */
    unsigned sandbox_sets;        /* SANDBOX_SET_* (vireo/sandbox.h) */
    GPtrArray *globals;           /* GlobalProp * of -global */
    GPtrArray *add_fds;           /* char * -add-fd specs */
    const char *help_group;       /* "-OPT help" for an option with parameters */
} VireoOptions;

/* QEMU's command-line option groups and their parameters (query-command-line-options):
 * a parameter's name, type (CommandLineParameterType order), help and default. */
typedef enum { CLP_STRING, CLP_BOOLEAN, CLP_NUMBER, CLP_SIZE } CmdParamType;
typedef struct CmdParam {
    const char *name;
    CmdParamType type;
    const char *help;
    const char *def;
} CmdParam;
/* Calls @fn for each option group Vireo has, with its parameters. */
void cmdline_groups_foreach(void (*fn)(const char *group, const CmdParam *params,
                                       unsigned n, void *opaque), void *opaque);
/* Prints "GROUP options:" and the parameters of option -@opt (its help). */
void cmdline_print_group_help(const char *opt, GString *out);

/* Parses argv; on error sets @errp with one line naming the option and value. */
bool cmdline_parse(int argc, char **argv, VireoOptions *o, GError **errp);
void cmdline_free(VireoOptions *o);
void opt_entry_free(OptEntry *e);
/* Parses "-m" values: "512", "512M", "2G", "size=1G" (default unit MiB). */
bool cmdline_parse_mem(const char *s, uint64_t *out, GError **errp);
/* Parses "-smp" values: "2", "cpus=4,sockets=2,cores=2,threads=1". */
bool cmdline_parse_smp(const char *s, MachineOpts *mo, GError **errp);
void cmdline_print_usage(GString *out);

#endif
