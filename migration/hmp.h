/*
 * HMP commands of migration and snapshots (migration/hmp.c); qapi/hmp.c lists them.
 */
#ifndef MIGRATION_HMP_H
#define MIGRATION_HMP_H

#include <glib.h>

typedef struct MonitorSession MonitorSession;

void hmp_migrate(MonitorSession *s, const char *args, GString *out);
void hmp_migrate_cancel(MonitorSession *s, const char *args, GString *out);
void hmp_migrate_incoming(MonitorSession *s, const char *args, GString *out);
void hmp_migrate_continue(MonitorSession *s, const char *args, GString *out);
void hmp_migrate_set_capability(MonitorSession *s, const char *args, GString *out);
void hmp_migrate_set_parameter(MonitorSession *s, const char *args, GString *out);
void hmp_info_migrate(MonitorSession *s, const char *args, GString *out);
void hmp_info_migrate_capabilities(MonitorSession *s, const char *args, GString *out);
void hmp_info_migrate_parameters(MonitorSession *s, const char *args, GString *out);
void hmp_savevm(MonitorSession *s, const char *args, GString *out);
void hmp_loadvm(MonitorSession *s, const char *args, GString *out);
void hmp_delvm(MonitorSession *s, const char *args, GString *out);
void hmp_info_snapshots(MonitorSession *s, const char *args, GString *out);

#endif
