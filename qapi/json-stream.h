/*
 * Splits a QMP input byte stream into JSON texts (QEMU qobject/json-streamer.c does
 * the same job): a text ends when its braces and brackets balance, or, for a bare
 * scalar at the top level, at the next delimiter. Parsing each text is left to
 * json-glib. Single-quoted strings (a QEMU extension) are rewritten to JSON strings.
 * Limits as QEMU's: nesting depth 1024, 64 MiB and 2M tokens per text; a text over a
 * limit is reported once and skipped up to its end. Streams may also share a budget
 * for what they hold together (the monitor: every client's unfinished command).
 */
#ifndef QAPI_JSON_STREAM_H
#define QAPI_JSON_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define JSON_STREAM_MAX_DEPTH  1024
#define JSON_STREAM_MAX_SIZE   (64u << 20)
#define JSON_STREAM_MAX_TOKENS (2u << 20)

/* What a stream may buffer without charging its budget: ordinary commands never touch
 * the shared budget, so clients that hoard it cannot starve them. */
#define JSON_STREAM_FREE       (64u << 10)

/* Bytes of unfinished texts that several streams may hold together, beyond each one's
 * JSON_STREAM_FREE. A text that would take more is reported over the limit. */
typedef struct JsonStreamBudget {
    size_t used;
    size_t limit;
} JsonStreamBudget;

/* Called with one complete text (@error NULL) or with @error set (text NULL). */
typedef void JsonStreamEmit(void *opaque, const char *text, size_t len, const char *error);

typedef struct JsonStream JsonStream;

JsonStream *json_stream_new(JsonStreamEmit *emit, void *opaque);
void json_stream_free(JsonStream *s);
/* Charges @b (which must outlive the stream) for what the stream buffers beyond
 * JSON_STREAM_FREE. */
void json_stream_set_budget(JsonStream *s, JsonStreamBudget *b);
/* Feeds bytes; calls emit for every text completed by them. Returns the bytes
 * consumed: all of @len unless emit called json_stream_pause(). */
size_t json_stream_feed(JsonStream *s, const uint8_t *buf, size_t len);
/* From inside emit: json_stream_feed() returns after the current text (the caller
 * keeps the rest of its bytes and feeds them later). */
void json_stream_pause(JsonStream *s);
/* Drops a partial text (new connection). */
void json_stream_reset(JsonStream *s);

#endif
