/* Private to system/cmdline*.c: the helpers every option handler uses. */
#ifndef SYSTEM_CMDLINE_INT_H
#define SYSTEM_CMDLINE_INT_H
#include "vireo/cmdline.h"

/* "-OPT VAL: WHY" */
bool cmdline_bad(GError **errp, const char *opt, const char *val, const char *why);
bool cmdline_is_help(const char *v);
/* Parses @v as flat keyval with @implied; keys outside @keys (NULL: any) are
 * "Invalid parameter 'K'". Errors are prefixed "-OPT V: ". */
JsonObject *cmdline_opt_parse(const char *opt, const char *v, const char *implied,
                              const char *const *keys, bool *help, GError **errp);
/* A boolean parameter (absent: @def), with QEMU's message on a bad value. */
bool cmdline_opt_bool(JsonObject *o, const char *opt, const char *v, const char *key,
                      bool def, bool *out, GError **errp);

/* system/cmdline-proc.c: the process options. */
bool cmdline_h_pidfile(VireoOptions *o, const char *v, GError **errp);
bool cmdline_h_daemonize(VireoOptions *o, const char *v, GError **errp);
bool cmdline_h_name(VireoOptions *o, const char *v, GError **errp);
bool cmdline_h_msg(VireoOptions *o, const char *v, GError **errp);
bool cmdline_h_overcommit(VireoOptions *o, const char *v, GError **errp);
bool cmdline_h_trace(VireoOptions *o, const char *v, GError **errp);
bool cmdline_h_sandbox(VireoOptions *o, const char *v, GError **errp);
bool cmdline_h_global(VireoOptions *o, const char *v, GError **errp);
bool cmdline_h_add_fd(VireoOptions *o, const char *v, GError **errp);
void global_prop_free(GlobalProp *g);

/* system/readconfig.c: -readconfig FILE, each section run as the option it names. */
bool cmdline_h_readconfig(VireoOptions *o, const char *v, GError **errp);
/* Runs option -@name with @val (as if given on the command line). */
bool cmdline_run_option(VireoOptions *o, const char *name, const char *val, GError **errp);

#endif
