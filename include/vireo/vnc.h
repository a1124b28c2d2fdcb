/*
 * The VNC server (ui/vnc*.c): -vnc and -display vnc=. See docs/display.md.
 * Machine lock held.
 */
#ifndef VIREO_VNC_H
#define VIREO_VNC_H

#include <stdbool.h>
#include <glib.h>
#include "vireo/machine.h"

typedef struct VncDisplay VncDisplay;
typedef struct VncClient VncClient;

/* Makes the audio backend @id (an -audiodev, driver none: Vireo has no sound device)
 * known to -vnc's audiodev=. Before vnc_parse_option(). */
void vnc_add_audiodev(Machine *m, const char *id);
/* -vnc [host]:N[,to=L][,websocket=on|PORT|HOST:PORT][,password=on][,share=...][,id=][,display=DEV][,head=H][,audiodev=ID] or
 * unix:PATH[,...]: listens and shows the console (after the display devices exist).
 * Errors name the option and the culprit. */
bool vnc_parse_option(Machine *m, const char *spec, GError **errp);
/* Closes every client and listener (unix socket files are removed). */
void vnc_cleanup(Machine *m);
/* The server with @id (NULL: the first), or NULL. */
VncDisplay *vnc_find(Machine *m, const char *id);
/* A client on a connected socket (tests use a socketpair). */
VncClient *vnc_client_new(VncDisplay *vd, int fd);
/* The same for a websocket connection: HTTP upgrade first (ui/vnc-ws.c). */
VncClient *vnc_client_new_ws(VncDisplay *vd, int fd);

#endif
