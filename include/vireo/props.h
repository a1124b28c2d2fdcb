/*
 * Property tables (util/props.c): the typed fields of a configurable object — a device,
 * the machine, a backend object — named as QEMU names them. The same table serves
 * -device/-machine/-object/-netdev text and JSON, -global, built-in objects created by
 * the board (typed setters, never printed and re-parsed), QMP introspection
 * (device-list-properties, qom-get) and help output.
 */
#ifndef VIREO_PROPS_H
#define VIREO_PROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include "vireo/error.h"

typedef enum {
    PROP_BOOL,     /* bool: on/off, yes/no, true/false, y/n */
    PROP_U8,
    PROP_U16,
    PROP_U32,
    PROP_U64,
    PROP_I32,      /* int32_t */
    PROP_I64,      /* int64_t */
    PROP_SIZE,     /* uint64_t with K/M/G/T/P/E suffixes */
    PROP_STR,      /* char * (owned, g_free'd) */
    PROP_CHARDEV,  /* char * naming a -chardev id; resolved by the owner at realize */
    PROP_DRIVE,    /* char * naming a drive / block node; resolved at realize */
    PROP_NETDEV,   /* char * naming a -netdev id; resolved at realize */
    PROP_LINK,     /* char * naming another object's id (-object, iothread, ...) */
    PROP_ENUM,     /* int: index into @enum_names */
    PROP_MACADDR,  /* uint8_t[6]: "52:54:00:12:34:56" */
    PROP_PCI_DEVFN,/* int32_t: "slot[.fn]" in hex (QEMU's addr=), -1 = automatic */
} PropType;

typedef struct Property {
    const char *name;
    PropType type;
    size_t offset;         /* from the start of the object struct */
    const char *defval;    /* parsed like a user value; NULL = zero/empty (-1 for devfn) */
    const char *help;
    const char *const *enum_names;  /* PROP_ENUM: NULL-terminated value names */
    const char *link_type;          /* PROP_LINK: the QOM type it names ("iothread");
                                     * PROP_ENUM: its QAPI type ("QCryptoSecretFormat") */
} Property;

#define PROP(n, t, st, f, def, h) \
    { .name = (n), .type = (t), .offset = offsetof(st, f), .defval = (def), .help = (h) }
#define PROP_ENUM_(n, st, f, names, def, h) \
    { .name = (n), .type = PROP_ENUM, .offset = offsetof(st, f), .defval = (def), \
      .help = (h), .enum_names = (names) }
#define PROP_LINK_(n, st, f, lt, h) \
    { .name = (n), .type = PROP_LINK, .offset = offsetof(st, f), .help = (h), \
      .link_type = (lt) }
#define PROP_ENUMT_(n, st, f, names, qapi, def, h) \
    { .name = (n), .type = PROP_ENUM, .offset = offsetof(st, f), .defval = (def), \
      .help = (h), .enum_names = (names), .link_type = (qapi) }
#define PROP_END { .name = NULL }

/* QEMU's on/off/auto, as PROP_ENUM names; the field is an int holding OnOffAuto. */
typedef enum { ON_OFF_AUTO_AUTO, ON_OFF_AUTO_ON, ON_OFF_AUTO_OFF } OnOffAuto;
extern const char *const on_off_auto_names[];

/* QEMU's type name of a property ("bool", "uint32", "size", "str", "chr", ...);
 * a link says "link<TYPE>" (newly allocated). */
const char *prop_type_name(const Property *p);
char *prop_qom_type(const Property *p);
/* The same as QOM objects other than devices name it (QEMU's object_property_add_*):
 * "string", "bool", "int", "link<T>", an enum's QAPI name or "a|b|c". */
char *prop_qom_object_type(const Property *p);
const Property *props_find(const Property *table, const char *name);

/* Sets @p of @obj from @v: keyval text when @kv, else a JSON value of the property's
 * type. Errors use QEMU's words and name the parameter; @owner ("virtio-blk-pci") names
 * the object where QEMU does ("Property 'OWNER.NAME' doesn't take value 'V'"). */
bool prop_set(const Property *p, void *obj, JsonNode *v, bool kv, const char *owner,
              GError **errp);
/* The same from text (keyval rules). */
bool prop_set_text(const Property *p, void *obj, const char *text, const char *owner,
                   GError **errp);
/* Typed setters for objects the program builds itself (no text round trip). */
bool prop_set_bool(const Property *p, void *obj, bool v, const char *owner, GError **errp);
bool prop_set_int(const Property *p, void *obj, int64_t v, const char *owner, GError **errp);
bool prop_set_str(const Property *p, void *obj, const char *v, const char *owner,
                  GError **errp);

/* Applies every member of @o; a member the table lacks is "Property 'OWNER.KEY' not
 * found" (members listed in @skip, NULL-terminated or NULL, are left to the caller). */
bool props_apply(const Property *table, void *obj, JsonObject *o, bool kv,
                 const char *owner, const char *const *skip, GError **errp);

/* Applies the defaults; cannot fail for a correct table (a bad default is a bug). */
void props_init(const Property *table, void *obj, const char *owner);
/* Frees what the properties own (strings). */
void props_free(const Property *table, void *obj);
/* The current value as JSON (qom-get), or NULL for an unset string. */
JsonNode *prop_get(const Property *p, const void *obj);
/* The text form of a value (for help and "default-value"), newly allocated. */
char *prop_format(const Property *p, const void *obj);

/* "OWNER options:" and one line per property ("  name=<type> - help (default: x)"). */
void props_print_help(const Property *table, const char *owner, GString *out);
/* Only the property lines of that help. */
void props_print_entries(const Property *table, GString *out);

#endif
