/* Secrets (-object secret): what other objects read by id (backends/secret.c). */
#ifndef VIREO_SECRET_H
#define VIREO_SECRET_H
#include <stddef.h>
#include <stdint.h>
#include "vireo/error.h"
typedef struct Machine Machine;
/* The bytes of secret @id (owned by the object); an error naming @id when missing. */
bool secret_get(Machine *m, const char *id, const uint8_t **data, size_t *len,
                GError **errp);
#endif
