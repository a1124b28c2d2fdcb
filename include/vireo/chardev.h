/*
 * Character backends: stdio (with the QEMU Ctrl-A mux), file, pty, unix/tcp socket,
 * null. A frontend (UART, QMP, monitor) attaches callbacks; input is delivered on the
 * main loop with the machine lock held.
 */
#ifndef VIREO_CHARDEV_H
#define VIREO_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include "vireo/error.h"

typedef struct Chardev Chardev;

typedef enum { CHR_EVENT_OPENED, CHR_EVENT_CLOSED, CHR_EVENT_BREAK } ChrEvent;

typedef struct ChrFrontend {
    /* How many bytes the frontend can take now (0 stops input until it asks again). */
    int (*can_read)(void *opaque);
    void (*read)(void *opaque, const uint8_t *buf, size_t len);
    void (*event)(void *opaque, ChrEvent ev);
    void *opaque;
} ChrFrontend;

/* Creates a backend from a -chardev spec ("socket,id=x,path=...,server=on,wait=off")
 * or a -serial/-qmp shorthand ("stdio", "file:F", "pty", "unix:P,server=on", "tcp:H:P,...",
 * "null", "none"). @id may be NULL when the spec carries none. */
Chardev *chr_new(const char *spec, const char *default_id, GError **errp);
/* Creates from a shorthand as -serial/-qmp accept it. */
Chardev *chr_new_shorthand(const char *spec, const char *id, GError **errp);
void chr_free(Chardev *chr);

const char *chr_id(const Chardev *chr);
const char *chr_label(const Chardev *chr);      /* e.g. "stdio", "pty:/dev/pts/3" */
const char *chr_filename(const Chardev *chr);   /* QMP query-chardev "filename" */
bool chr_is_connected(const Chardev *chr);

/* Writes all of @buf (blocking briefly if needed); returns bytes written or -errno. */
ssize_t chr_write(Chardev *chr, const uint8_t *buf, size_t len);
void chr_set_frontend(Chardev *chr, const ChrFrontend *fe);
/* Called by a frontend when it can take input again after can_read returned 0. */
void chr_accept_input(Chardev *chr);

/* The registry of named chardevs hangs off the machine; these are the lookups. */
typedef struct ChrRegistry ChrRegistry;
ChrRegistry *chr_registry_new(void);
void chr_registry_free(ChrRegistry *r);
bool chr_registry_add(ChrRegistry *r, Chardev *chr, GError **errp);
Chardev *chr_registry_find(ChrRegistry *r, const char *id);
void chr_registry_foreach(ChrRegistry *r, void (*fn)(Chardev *c, void *opaque), void *opaque);

#endif
