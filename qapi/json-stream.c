/*
 * JSON text framing for QMP input (see json-stream.h). Only structure is tracked
 * here (strings, escapes, nesting); json-glib parses each framed text.
 */
#include "qapi/json-stream.h"
#include <string.h>

struct JsonStream {
    JsonStreamEmit *emit;
    void *opaque;
    GString *buf;
    unsigned depth;
    size_t tokens;
    char quote;            /* '"' or '\'' inside a string, else 0 */
    bool escape;           /* the previous string byte was a backslash */
    bool scalar;           /* inside a bare word or number */
    bool discard;          /* skipping the rest of a text over a limit */
    bool paused;           /* json_stream_pause() from emit */
    JsonStreamBudget *budget;
    size_t charged;        /* bytes of buf->len charged to @budget */
};

JsonStream *json_stream_new(JsonStreamEmit *emit, void *opaque)
{
    JsonStream *s = g_new0(JsonStream, 1);
    s->emit = emit;
    s->opaque = opaque;
    s->buf = g_string_sized_new(256);
    return s;
}

void json_stream_set_budget(JsonStream *s, JsonStreamBudget *b)
{
    s->budget = b;
}

void json_stream_pause(JsonStream *s)
{
    s->paused = true;
}

/* Empties the buffer, gives back its charge and, after a large text, its memory. */
static void buf_release(JsonStream *s)
{
    if (s->budget)
        s->budget->used -= s->charged;
    s->charged = 0;
    if (s->buf->allocated_len > 2 * JSON_STREAM_FREE) {
        g_string_free(s->buf, TRUE);
        s->buf = g_string_sized_new(256);
    } else {
        g_string_truncate(s->buf, 0);
    }
}

void json_stream_free(JsonStream *s)
{
    if (!s)
        return;
    buf_release(s);
    g_string_free(s->buf, TRUE);
    g_free(s);
}

void json_stream_reset(JsonStream *s)
{
    buf_release(s);
    s->depth = 0;
    s->tokens = 0;
    s->quote = 0;
    s->escape = s->scalar = s->discard = false;
}

static void finish(JsonStream *s)
{
    bool discarded = s->discard;
    g_autoptr(GString) text = NULL;
    size_t len = s->buf->len;
    if (!discarded && len) {
        if (len > JSON_STREAM_FREE) {       /* a large text: hand over the buffer itself */
            text = s->buf;
            s->buf = g_string_sized_new(256);
        } else {
            text = g_string_new_len(s->buf->str, len);
        }
    }
    json_stream_reset(s);
    if (text)       /* emit last: the callback may feed or reset the stream */
        s->emit(s->opaque, text->str, len, NULL);
}

static void fail(JsonStream *s, const char *error)
{
    buf_release(s);
    s->discard = true;
    s->emit(s->opaque, NULL, 0, error);
}

/* Charges the budget for what the buffer holds beyond JSON_STREAM_FREE; false when
 * that would pass the budget's limit. */
static bool charge(JsonStream *s)
{
    size_t need = s->buf->len > JSON_STREAM_FREE ? s->buf->len - JSON_STREAM_FREE : 0;
    if (!s->budget || need <= s->charged)
        return true;
    size_t more = need - s->charged;
    if (s->budget->used + more > s->budget->limit)
        return false;
    s->budget->used += more;
    s->charged = need;
    return true;
}

static void put(JsonStream *s, const char *p, size_t n)
{
    if (!s->discard)
        g_string_append_len(s->buf, p, n);
}

/* Inside a string: consumes bytes from @p up to @end; returns the count. */
static size_t in_string(JsonStream *s, const char *p, const char *end)
{
    const char *q = p;
    if (!s->escape && s->quote == '"') {
        while (q < end && *q != '"' && *q != '\\')
            q++;
        put(s, p, q - p);
        if (q == end)
            return q - p;
    }
    char c = *q++;
    if (s->escape) {
        s->escape = false;
        if (c == '\'' && s->quote == '\'')
            put(s, "'", 1);             /* \' is not a JSON escape */
        else
            put(s, (char[]){ '\\', c }, 2);
    } else if (c == '\\') {
        s->escape = true;
    } else if (c == s->quote) {
        s->quote = 0;
        put(s, "\"", 1);
        if (s->depth == 0)
            finish(s);
    } else if (c == '"') {
        put(s, "\\\"", 2);              /* '"' inside a single-quoted string */
    } else {
        put(s, &c, 1);
    }
    return q - p;
}

static bool is_delim(char c)
{
    return strchr(" \t\r\n{}[],:\"'", c) != NULL;
}

static void open_bracket(JsonStream *s, char c)
{
    if (++s->depth > JSON_STREAM_MAX_DEPTH && !s->discard)
        fail(s, "JSON nesting depth limit exceeded");
    put(s, &c, 1);
}

static void close_bracket(JsonStream *s, char c)
{
    put(s, &c, 1);
    if (s->depth == 0 || --s->depth == 0)
        finish(s);          /* a stray closer is a text of its own: a parse error */
}

static void structural(JsonStream *s, char c)
{
    if (s->scalar && is_delim(c)) {
        s->scalar = false;
        if (s->depth == 0)
            finish(s);
    }
    switch (c) {
    case '{': case '[':
        s->tokens++;
        open_bracket(s, c);
        break;
    case '}': case ']':
        s->tokens++;
        close_bracket(s, c);
        break;
    case '"': case '\'':
        s->tokens++;
        s->quote = c;
        put(s, "\"", 1);
        break;
    case ' ': case '\t': case '\r': case '\n':
        if (s->depth)
            put(s, &c, 1);
        break;
    default:
        if (!s->scalar)
            s->tokens++;
        s->scalar = true;
        put(s, &c, 1);
    }
}

size_t json_stream_feed(JsonStream *s, const uint8_t *buf, size_t len)
{
    const char *start = (const char *)buf, *p = start, *end = p + len;
    s->paused = false;
    while (p < end) {
        if (s->quote)
            p += in_string(s, p, end);
        else
            structural(s, *p++);
        if (s->paused)
            break;
        if (s->discard)
            continue;
        if (s->buf->len > JSON_STREAM_MAX_SIZE)
            fail(s, "JSON token size limit exceeded");
        else if (s->tokens > JSON_STREAM_MAX_TOKENS)
            fail(s, "JSON token count limit exceeded");
        else if (!charge(s))
            fail(s, "JSON token size limit exceeded (the unfinished input of all clients "
                 "together has reached its limit)");
        if (s->paused)
            break;
    }
    s->paused = false;
    return p - start;
}
