/*
 * The human monitor (HMP): a line editor, and commands that call the same qmp_*
 * handlers as QMP. Texts follow QEMU 7.2's hmp-commands*.hx and monitor/hmp*.c.
 */
#include "qapi/monitor-int.h"
#include "qapi/qapi-generated.h"
#include "vireo/kvm.h"
#include "vireo/net.h"
#include "migration/hmp.h"
#include <string.h>

typedef struct HmpCmd {
    const char *name;          /* "a|b" for aliases */
    const char *params;        /* for help */
    const char *help;
    void (*fn)(MonitorSession *s, const char *args, GString *out);
    bool takes_args;
} HmpCmd;

static void report(GString *out, GError *err)
{
    if (err) {
        g_string_append_printf(out, "Error: %s\n", err->message);
        g_error_free(err);
    }
}

/* ---- info ------------------------------------------------------------------------- */

static void info_status(MonitorSession *s, const char *args, GString *out)
{
    StatusInfo *i = qmp_query_status(s->m, NULL);
    g_string_append_printf(out, "VM status: %s", i->running ? "running" : "paused");
    if (!i->running && i->status != RUN_STATE_PAUSED)
        g_string_append_printf(out, " (%s)", RunState_str[i->status]);
    g_string_append_c(out, '\n');
    qapi_free_StatusInfo(i);
}

static void info_version(MonitorSession *s, const char *args, GString *out)
{
    VersionInfo *v = qmp_query_version(s->m, NULL);
    g_string_append_printf(out, "%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT
                           " (%s)\n", v->qemu->major, v->qemu->minor, v->qemu->micro,
                           v->package);
    qapi_free_VersionInfo(v);
}

static void info_cpus(MonitorSession *s, const char *args, GString *out)
{
    GPtrArray *a = qmp_query_cpus_fast(s->m, NULL);
    for (guint i = 0; i < a->len; i++) {
        CpuInfoFast *c = a->pdata[i];
        g_string_append_printf(out, "%c CPU #%" G_GINT64_FORMAT ": thread_id=%"
                               G_GINT64_FORMAT "\n", c->cpu_index == s->cpu_index ? '*' : ' ',
                               c->cpu_index, c->thread_id);
    }
    g_ptr_array_unref(a);
}

static void dump_cpu(MonitorSession *s, unsigned i, GString *out)
{
    g_string_append_printf(out, "CPU#%u\n", i);
    kvm_vcpu_dump(s->m->kvm, i, out);
}

static void info_registers(MonitorSession *s, const char *args, GString *out)
{
    if (!s->m->kvm || !s->m->ncpus) {
        g_string_append(out, "No CPU available\n");
        return;
    }
    if (!strcmp(args, "-a")) {
        for (unsigned i = 0; i < s->m->ncpus; i++)
            dump_cpu(s, i, out);
    } else if (*args) {
        g_string_append_printf(out, "info registers: unknown option '%s'\n", args);
    } else {
        dump_cpu(s, MIN(s->cpu_index, s->m->ncpus - 1), out);
    }
}

static void info_name(MonitorSession *s, const char *args, GString *out)
{
    if (s->m->opts.name)
        g_string_append_printf(out, "%s\n", s->m->opts.name);
}

static void info_uuid(MonitorSession *s, const char *args, GString *out)
{
    UuidInfo *u = qmp_query_uuid(s->m, NULL);
    g_string_append_printf(out, "%s\n", u->UUID);
    qapi_free_UuidInfo(u);
}

static void info_kvm(MonitorSession *s, const char *args, GString *out)
{
    g_string_append_printf(out, "kvm support: %s\n", s->m->kvm ? "enabled" : "disabled");
}

static void info_chardev(MonitorSession *s, const char *args, GString *out)
{
    GPtrArray *a = qmp_query_chardev(s->m, NULL);
    for (guint i = 0; i < a->len; i++) {
        ChardevInfo *c = a->pdata[i];
        g_string_append_printf(out, "%s: filename=%s\n", c->label, c->filename);
    }
    g_ptr_array_unref(a);
}

/* ui/hmp-ui.c */
void hmp_screendump(MonitorSession *s, const char *args, GString *out);
void hmp_sendkey(MonitorSession *s, const char *args, GString *out);
void hmp_info_vnc(MonitorSession *s, const char *args, GString *out);
void hmp_info_mice(MonitorSession *s, const char *args, GString *out);

static void info_network(MonitorSession *s, const char *args, GString *out)
{
    net_hmp_info_network(s->m, out);
}

static void info_usernet(MonitorSession *s, const char *args, GString *out)
{
    net_hmp_info_usernet(s->m, out);
}

static const HmpCmd info_cmds[] = {
    { "chardev", "", "show the character devices", info_chardev },
    { "cpus", "", "show infos for each CPU", info_cpus },
    { "kvm", "", "show KVM information", info_kvm },
    { "mice", "", "show which guest mouse is receiving events", hmp_info_mice },
    { "migrate", "", "show migration status", hmp_info_migrate },
    { "migrate_capabilities", "", "show current migration capabilities",
      hmp_info_migrate_capabilities },
    { "migrate_parameters", "", "show current migration parameters",
      hmp_info_migrate_parameters },
    { "name", "", "show the current VM name", info_name },
    { "network", "", "show the network state", info_network },
    { "snapshots", "", "show the currently saved VM snapshots", hmp_info_snapshots },
    { "registers", "[-a]", "show the cpu registers (-a: all CPUs)", info_registers, true },
    { "status", "", "show the current VM status (running|paused)", info_status },
    { "usernet", "", "show user network stack connection states", info_usernet },
    { "uuid", "", "show the current VM UUID", info_uuid },
    { "version", "", "show the version of QEMU", info_version },
    { "vnc", "", "show the vnc server status", hmp_info_vnc },
    { NULL },
};

/* ---- commands ----------------------------------------------------------------------- */

static void cmd_stop(MonitorSession *s, const char *a, GString *out)
{
    GError *err = NULL;
    qmp_stop(s->m, &err);
    report(out, err);
}

static void cmd_cont(MonitorSession *s, const char *a, GString *out)
{
    GError *err = NULL;
    qmp_cont(s->m, &err);
    report(out, err);
}

static void cmd_reset(MonitorSession *s, const char *a, GString *out)
{
    qmp_system_reset(s->m, NULL);
}

static void cmd_powerdown(MonitorSession *s, const char *a, GString *out)
{
    qmp_system_powerdown(s->m, NULL);
}

static void cmd_quit(MonitorSession *s, const char *a, GString *out)
{
    qmp_quit(s->m, NULL);
}

static void cmd_cpu(MonitorSession *s, const char *args, GString *out)
{
    char *end;
    long i = strtol(args, &end, 0);
    if (!*args || *end || i < 0 || (unsigned long)i >= MAX(s->m->ncpus, 1u))
        g_string_append(out, "invalid CPU index\n");
    else
        s->cpu_index = i;
}

#define NET_CMD(fn) \
    static void cmd_##fn(MonitorSession *s, const char *args, GString *out) \
    { \
        net_hmp_##fn(s->m, args, out); \
    }
NET_CMD(netdev_add)
NET_CMD(netdev_del)
NET_CMD(set_link)
NET_CMD(hostfwd_add)
NET_CMD(hostfwd_remove)

static void cmd_help(MonitorSession *s, const char *args, GString *out);
static void cmd_info(MonitorSession *s, const char *args, GString *out);

static const HmpCmd cmds[] = {
    { "cont|c", "", "resume emulation", cmd_cont },
    { "cpu", "index", "set the default CPU", cmd_cpu, true },
    { "help|?", "[cmd]", "show the help", cmd_help, true },
    { "hostfwd_add", "[netdev_id] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport",
      "redirect TCP or UDP connections from host to guest (requires -net user)",
      cmd_hostfwd_add, true },
    { "hostfwd_remove", "[netdev_id] [tcp|udp]:[hostaddr]:hostport",
      "remove host-to-guest TCP or UDP redirection", cmd_hostfwd_remove, true },
    { "info", "[subcommand]", "show various information about the system state",
      cmd_info, true },
    { "delvm", "tag", "delete a VM snapshot from its tag", hmp_delvm, true },
    { "loadvm", "tag", "restore a VM snapshot from its tag", hmp_loadvm, true },
    { "migrate", "[-d] [-b] [-i] [-r] uri", "migrate to URI (using -d to not wait for "
      "completion)", hmp_migrate, true },
    { "migrate_cancel", "", "cancel the current VM migration", hmp_migrate_cancel },
    { "migrate_continue", "state", "Continue migration from the given paused state",
      hmp_migrate_continue, true },
    { "migrate_incoming", "uri", "Continue an incoming migration from an -incoming defer",
      hmp_migrate_incoming, true },
    { "migrate_set_capability", "capability state", "Enable/Disable the usage of a "
      "capability for migration", hmp_migrate_set_capability, true },
    { "migrate_set_parameter", "parameter value", "Set the parameter for migration",
      hmp_migrate_set_parameter, true },
    { "netdev_add", "[user|tap|socket|stream|dgram|hubport|bridge],id=str[,prop=value][,...]",
      "add host network device", cmd_netdev_add, true },
    { "netdev_del", "id", "remove host network device", cmd_netdev_del, true },
    { "quit|q", "", "quit the emulator", cmd_quit },
    { "savevm", "[tag]", "save a VM snapshot. If no tag is provided, a new snapshot is "
      "created", hmp_savevm, true },
    { "screendump", "filename [-f format] [device [head]]",
      "save screen from head 'head' of display device 'device' in specified format "
      "'format' as image 'filename'. Currently only 'png' and 'ppm' formats are supported.",
      hmp_screendump, true },
    { "sendkey", "keys [hold_ms]", "send keys to the VM (e.g. 'sendkey ctrl-alt-f1', "
      "default hold time=100 ms)", hmp_sendkey, true },
    { "set_link", "name on|off", "change the link status of a network adapter",
      cmd_set_link, true },
    { "stop|s", "", "stop emulation", cmd_stop },
    { "system_powerdown", "", "send system power down event", cmd_powerdown },
    { "system_reset", "", "reset the system", cmd_reset },
    { NULL },
};

static bool name_matches(const char *names, const char *word)
{
    g_auto(GStrv) alts = g_strsplit(names, "|", -1);
    return g_strv_contains((const char *const *)alts, word);
}

static const HmpCmd *find(const HmpCmd *table, const char *word)
{
    for (; table->name; table++)
        if (name_matches(table->name, word))
            return table;
    return NULL;
}

static void help_table(const HmpCmd *t, const char *prefix, GString *out)
{
    for (; t->name; t++)
        g_string_append_printf(out, "%s%s %s -- %s\n", prefix, t->name, t->params, t->help);
}

static void cmd_help(MonitorSession *s, const char *args, GString *out)
{
    const HmpCmd *c = *args ? find(cmds, args) : NULL;
    if (c)
        g_string_append_printf(out, "%s %s -- %s\n", c->name, c->params, c->help);
    else if (!strcmp(args, "info") || !*args)
        help_table(*args ? info_cmds : cmds, *args ? "info " : "", out);
    else
        g_string_append_printf(out, "unknown command: '%s'\n", args);
}

/* Splits "word rest" (leading blanks skipped); returns the word, sets *rest. */
static char *split_word(const char *line, const char **rest)
{
    while (*line == ' ' || *line == '\t')
        line++;
    const char *e = line + strcspn(line, " \t");
    *rest = e + strspn(e, " \t");
    return g_strndup(line, e - line);
}

static void run(const HmpCmd *table, const char *prefix, MonitorSession *s,
                const char *line, GString *out)
{
    const char *args;
    g_autofree char *word = split_word(line, &args);
    const HmpCmd *c = find(table, word);
    if (!c) {
        g_string_append_printf(out, "unknown command: '%s%s'\n", prefix, word);
        return;
    }
    if (*args && !c->takes_args) {
        g_autofree char *name = g_strndup(c->name, strcspn(c->name, "|"));
        g_string_append_printf(out, "%s%s: extraneous characters at the end of line\n"
                               "Try \"help %s%s\" for more information\n", prefix, name,
                               prefix, name);
        return;
    }
    c->fn(s, args, out);
}

static void cmd_info(MonitorSession *s, const char *args, GString *out)
{
    if (!*args)
        help_table(info_cmds, "info ", out);
    else
        run(info_cmds, "info ", s, args, out);
}

void hmp_execute(MonitorSession *s, const char *line, GString *out)
{
    g_autofree char *l = g_strstrip(g_strdup(line));
    if (*l)
        run(cmds, "", s, l, out);
}

/* ---- line input ----------------------------------------------------------------------- */

#define HMP_PROMPT "(qemu) "
#define HMP_LINE_MAX 4096

void hmp_banner(MonitorSession *s)
{
    monitor_puts(s, "QEMU " G_STRINGIFY(QMP_QEMU_MAJOR) "." G_STRINGIFY(QMP_QEMU_MINOR) "."
                 G_STRINGIFY(QMP_QEMU_MICRO) " monitor (" QMP_PACKAGE
                 ") - type 'help' for more information\n" HMP_PROMPT);
}

static void hmp_line(MonitorSession *s)
{
    g_autoptr(GString) out = g_string_new("\n");
    hmp_execute(s, s->line->str, out);
    g_string_truncate(s->line, 0);
    g_string_append(out, HMP_PROMPT);
    monitor_puts(s, out->str);
}

/* One input byte: printable characters are echoed (the terminal is raw), backspace
 * edits, Enter runs the line, escape sequences (cursor keys) are skipped. */
static void hmp_byte(MonitorSession *s, char c)
{
    if (s->esc_state == 1) {
        s->esc_state = (c == '[' || c == 'O') ? 2 : 0;
        return;
    }
    if (s->esc_state == 2) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '~')
            s->esc_state = 0;
        return;
    }
    if (c == 27) {
        s->esc_state = 1;
    } else if (c == '\r' || c == '\n') {
        hmp_line(s);
    } else if (c == 127 || c == 8) {
        if (s->line->len) {
            g_string_truncate(s->line, s->line->len - 1);
            monitor_puts(s, "\b \b");
        }
    } else if ((unsigned char)c >= 32 && s->line->len < HMP_LINE_MAX) {
        g_string_append_c(s->line, c);
        monitor_puts(s, (char[]){ c, 0 });
    }
}

size_t hmp_input(MonitorSession *s, const uint8_t *buf, size_t len)
{
    size_t i = 0;
    while (i < len && !s->dead) {
        bool skip = buf[i] == '\n' && s->last_cr;  /* "\r\n" is one Enter */
        s->last_cr = buf[i] == '\r';
        char c = (char)buf[i++];
        if (!skip)
            hmp_byte(s, c);
        if ((c == '\r' || c == '\n') && monitor_input_held(s))
            break;                                  /* the rest waits for the reader */
    }
    return i;
}
