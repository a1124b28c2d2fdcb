/*
 * The one error convention (ARCHITECTURE.md): GError at realize/QMP/CLI boundaries,
 * in the G_IO_ERROR domain with the closest GIOErrorEnum code, and a message that names
 * the option, file, device or command at fault. Negative errno inside subsystems.
 */
#ifndef VIREO_ERROR_H
#define VIREO_ERROR_H
#include <gio/gio.h>

#define vireo_error(errp, ...) g_set_error((errp), G_IO_ERROR, G_IO_ERROR_FAILED, __VA_ARGS__)

#endif
