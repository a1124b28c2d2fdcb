/*
 * "secret" objects (QEMU 7.2's secret): bytes given inline (data=) or read from a file
 * (file=), raw or base64 (format=). Consumers look them up by id. Secrets encrypted
 * with another secret (keyid=, iv=) are refused: Vireo has no AES implementation.
 */
#include "vireo/object.h"
#include "vireo/secret.h"
#include <string.h>

typedef struct Secret {
    Object obj;
    char *data, *file, *keyid, *iv;
    int format;                      /* 0 raw, 1 base64 */
    uint8_t *bytes;
    size_t len;
} Secret;

static const char *const format_names[] = { "raw", "base64", NULL };

static bool fail(GError **errp, const char *msg)
{
    g_set_error_literal(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, msg);
    return false;
}

static bool secret_complete(Object *o, GError **errp)
{
    Secret *s = (Secret *)o;
    g_autofree char *text = NULL;
    gsize len = 0;
    if (s->data && s->file)
        return fail(errp, "'data' and 'file' are mutually exclusive");
    if (!s->data && !s->file)
        return fail(errp, "Either 'file' or 'data' must be provided");
    if (s->keyid || s->iv)
        return fail(errp, "secret: keyid/iv: encrypted secrets are not supported by Vireo");
    if (s->file) {
        GError *err = NULL;
        if (!g_file_get_contents(s->file, &text, &len, &err)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                        "Unable to read %s: %s", s->file, err->message);
            g_error_free(err);
            return false;
        }
    } else {
        text = g_strdup(s->data);
        len = strlen(text);
    }
    if (s->format == 1) {
        for (gsize i = 0; i < len; i++)
            if (!g_ascii_isalnum(text[i]) && !strchr("+/=\n\r", text[i]))
                return fail(errp, "Unable to decode secret data: invalid base64");
        s->bytes = g_base64_decode(text, &s->len);
    } else {
        s->bytes = (uint8_t *)g_steal_pointer(&text);
        s->len = len;
    }
    return true;
}

static void secret_finalize(Object *o)
{
    Secret *s = (Secret *)o;
    if (s->bytes)
        memset(s->bytes, 0, s->len);
    g_free(s->bytes);
}

bool secret_get(Machine *m, const char *id, const uint8_t **data, size_t *len,
                GError **errp)
{
    Object *o = object_find_typed(m, id, "secret", "secret", errp);
    if (!o)
        return false;
    *data = ((Secret *)o)->bytes;
    *len = ((Secret *)o)->len;
    return true;
}

static const Property common_props[] = {
    PROP_ENUMT_("format", Secret, format, format_names, "QCryptoSecretFormat", "raw",
                "raw or base64"),
    PROP("keyid", PROP_STR, Secret, keyid, NULL, "decryption key (not supported)"),
    PROP("iv", PROP_STR, Secret, iv, NULL, "decryption IV (not supported)"),
    PROP_END
};

static const Property secret_props[] = {
    PROP("data", PROP_STR, Secret, data, NULL, "the secret"),
    PROP("file", PROP_STR, Secret, file, NULL, "a file holding the secret"),
    PROP_END
};

const ObjectClass secret_common_class = {
    .type = { .name = "secret_common", .parent = "object", .abstract = true,
              .props = common_props },
    .instance_size = sizeof(Secret),
};

const ObjectClass secret_class = {
    .type = { .name = "secret", .parent = "secret_common", .props = secret_props,
              .desc = "a secret given inline or in a file" },
    .parent = &secret_common_class,
    .instance_size = sizeof(Secret),
    .complete = secret_complete,
    .finalize = secret_finalize,
};
