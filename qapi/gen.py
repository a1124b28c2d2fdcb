#!/usr/bin/env python3
"""qapi-gen: emits Vireo's QMP glue from the schema (qapi/schema.py reads it).

Output (both in --output-dir):
  qapi-generated.h  C types for enums, structs and unions (a union is its base members,
                    then the branch of its discriminator embedded as u.BRANCH, as in
                    QEMU), handler prototypes (qmp_*), event
                    senders (qapi_event_send_*), the dispatch table declaration.
  qapi-generated.c  enum name tables, struct free/parse/emit functions, one
                    marshaller per command (argument checks with QEMU's error texts),
                    the sorted dispatch table, event senders, and the introspection
                    data for query-qmp-schema (QEMU's SchemaInfo format).

Run by meson (qapi/meson.build). A schema error prints "FILE:LINE: message" and
exits 1, which fails the build.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from schema import (Schema, SchemaError, Builtin, Enum, Struct, Union, Array,  # noqa: E402
                    c_name)

INT_RANGES = {
    'int8': ('INT8_MIN', 'INT8_MAX'), 'int16': ('INT16_MIN', 'INT16_MAX'),
    'int32': ('INT32_MIN', 'INT32_MAX'), 'int64': ('INT64_MIN', 'INT64_MAX'),
    'int': ('INT64_MIN', 'INT64_MAX'),
}
UINT_RANGES = {'uint8': 'UINT8_MAX', 'uint16': 'UINT16_MAX', 'uint32': 'UINT32_MAX',
               'uint64': 'UINT64_MAX', 'size': 'UINT64_MAX'}


# ---- C helpers per type ----------------------------------------------------------------

def is_ptr_array(t):
    el = t.element
    return isinstance(el, (Struct, Union)) or (isinstance(el, Builtin) and
                                               el.name in ('str', 'any'))


def c_type(t):
    if isinstance(t, Builtin):
        return t.c_type
    if isinstance(t, Enum):
        return t.name
    if isinstance(t, (Struct, Union)):
        return t.c_name() + ' *'
    if isinstance(t, Array):
        return 'GPtrArray *' if is_ptr_array(t) else 'GArray *'
    raise AssertionError(t)


def is_pointer(t):
    return c_type(t).endswith('*')


def array_fn(t):
    return 'qapi_%sList' % c_name(t.element.name)


def emit_expr(t, v):
    """C statement appending the JSON of value @v (of type @t) to GString o."""
    if isinstance(t, Builtin):
        if t.name == 'str':
            return 'qj_str(o, %s);' % v
        if t.name in ('any', 'null'):
            return 'qj_node(o, %s);' % v
        if t.name == 'bool':
            return 'qj_bool(o, %s);' % v
        if t.name == 'number':
            return 'qj_number(o, %s);' % v
        if t.name in UINT_RANGES:
            return 'qj_uint(o, %s);' % v
        return 'qj_int(o, %s);' % v
    if isinstance(t, Enum):
        return 'qj_enum(o, %s_str, QAPI_COUNT_%s, (int)%s);' % (t.name, t.name, v)
    if isinstance(t, (Struct, Union)):
        return 'qapi_%s_to_json(o, %s);' % (t.c_name(), v)
    return '%s_to_json(o, %s);' % (array_fn(t), v)


def parse_stmt(t, node, path, name, dst):
    """C statements parsing JsonNode @node into lvalue @dst; 'return false' on error."""
    fail = 'return false;'
    if isinstance(t, Builtin):
        if t.name == 'str':
            return 'if (!qv_str(%s, %s, %s, &%s, errp)) %s' % (node, path, name, dst, fail)
        if t.name == 'any':
            return 'if (!qv_any(%s, %s, %s, &%s, errp)) %s' % (node, path, name, dst, fail)
        if t.name == 'bool':
            return 'if (!qv_bool(%s, %s, %s, kv, &%s, errp)) %s' % (node, path, name, dst, fail)
        if t.name == 'number':
            return 'if (!qv_number(%s, %s, %s, kv, &%s, errp)) %s' % (node, path, name, dst,
                                                                   fail)
        if t.name in UINT_RANGES:
            if t.name == 'size':
                return ('{ uint64_t v_; if (!qv_size(%s, %s, %s, kv, &v_, errp)) %s '
                        '%s = v_; }' % (node, path, name, fail, dst))
            return ('{ uint64_t v_; if (!qv_uint(%s, %s, %s, kv, %s, "%s", &v_, errp)) %s '
                    '%s = v_; }' % (node, path, name, UINT_RANGES[t.name], t.c_type,
                                    fail, dst))
        lo, hi = INT_RANGES[t.name]
        return ('{ int64_t v_; if (!qv_int(%s, %s, %s, kv, %s, %s, "%s", &v_, errp)) %s '
                '%s = v_; }' % (node, path, name, lo, hi, t.c_type, fail, dst))
    if isinstance(t, Enum):
        return ('{ int v_; if (!qv_enum(%s, %s, %s, %s_str, QAPI_COUNT_%s, &v_, errp)) %s '
                '%s = (%s)v_; }' % (node, path, name, t.name, t.name, fail, dst, t.name))
    if isinstance(t, (Struct, Union)):
        return 'if (!qapi_%s_from_json(%s, %s, %s, kv, &%s, errp)) %s' % (
            t.c_name(), node, path, name, dst, fail)
    return 'if (!%s_from_json(%s, %s, %s, kv, &%s, errp)) %s' % (array_fn(t), node, path, name,
                                                             dst, fail)


def free_stmt(t, v):
    if isinstance(t, Builtin):
        if t.name == 'str':
            return 'g_free(%s);' % v
        if t.name == 'any':
            return 'if (%s) json_node_unref(%s);' % (v, v)
        return None
    if isinstance(t, (Struct, Union)):
        return 'qapi_free_%s(%s);' % (t.c_name(), v)
    if isinstance(t, Array):
        return 'if (%s) g_%s_unref(%s);' % (v, 'ptr_array' if is_ptr_array(t) else 'array', v)
    return None


# ---- Code generation -----------------------------------------------------------------

class Gen:
    def __init__(self, schema):
        self.s = schema
        self.h, self.c = [], []

    def structs(self):
        """Every struct has a C form (a struct member that is a union is a pointer to the
        union's C struct; commands may still be 'gen': false and parse JSON themselves)."""
        return [t for t in self.s.order if isinstance(t, Struct)]

    def unions(self):
        return [t for t in self.s.order if isinstance(t, Union)]

    def arrays(self):
        seen = []
        def walk(t):
            if isinstance(t, Array) and t not in seen:
                seen.append(t)
        for st in self.structs():
            for m in st.members:
                walk(m.type)
        for u in self.unions():
            for m in u.base:
                walk(m.type)
        for cmd in self.s.commands:
            if cmd.gen and cmd.ret is not None:
                walk(cmd.ret)
        return seen

    def gen_enum(self, e):
        n = len(e.values)
        self.h.append('')
        if e.c_header:
            self.h.append('/* enum %s is declared in "%s" */' % (e.name, e.c_header))
        else:
            self.h.append('typedef enum %s {' % e.name)
            for v in e.values:
                self.h.append('    %s,' % e.const(v))
            self.h.append('    %s__MAX' % (e.prefix or e.const('x')[:-2]))
            self.h.append('} %s;' % e.name)
        self.h.append('#define QAPI_COUNT_%s %d' % (e.name, n))
        self.h.append('extern const char *const %s_str[%d];' % (e.name, n))
        self.c.append('')
        self.c.append('const char *const %s_str[%d] = {' % (e.name, n))
        for v in e.values:
            self.c.append('    [%s] = "%s",' % (e.const(v), v))
        self.c.append('};')
        for i, v in enumerate(e.values):
            self.c.append('_Static_assert(%s == %d, "enum %s: %s must be value %d (%s:%d)");'
                          % (e.const(v), i, e.name, v, i, e.info[0], e.info[1]))

    def gen_struct_decl(self, st):
        self.h.append('')
        self.h.append('struct %s {' % st.c_name())
        for m in st.members:
            if m.optional and not is_pointer(m.type):
                self.h.append('    bool has_%s;' % c_name(m.name))
            ct = c_type(m.type)
            self.h.append('    %s%s%s;' % (ct, '' if ct.endswith('*') else ' ', c_name(m.name)))
        self.h.append('};')
        n = st.c_name()
        self.h.append('void qapi_free_%s(%s *p);' % (n, n))
        self.h.append('void qapi_%s_free_members(%s *p);' % (n, n))
        self.h.append('void qapi_%s_to_json(GString *o, const %s *p);' % (n, n))
        # kv: the tree came from keyval text (scalars are strings to convert), as QEMU's
        # keyval input visitor; otherwise JSON types must match.
        self.h.append('bool qapi_%s_from_json(JsonNode *n, const char *path, const char *name, '
                      'bool kv, %s **out, GError **errp);' % (n, n))
        self.h.append('bool qapi_%s_members_from_json(JsonObject *obj, const char *path, '
                      'bool kv, %s *p, GError **errp);' % (n, n))
        # The same without the check for unknown members (a union checks its own).
        self.h.append('bool qapi_%s_members_parse(JsonObject *obj, const char *path, '
                      'bool kv, %s *p, GError **errp);' % (n, n))

    def gen_struct_free(self, st):
        n = st.c_name()
        c = self.c
        c += ['', 'void qapi_%s_free_members(%s *p)' % (n, n), '{']
        for m in st.members:
            f = free_stmt(m.type, 'p->' + c_name(m.name))
            if f:
                c.append('    ' + f)
        c += ['    (void)p;', '}', '',
              'void qapi_free_%s(%s *p)' % (n, n), '{', '    if (!p)', '        return;',
              '    qapi_%s_free_members(p);' % n, '    g_free(p);', '}']

    def gen_members_to_json(self, members, prefix):
        c = ['    bool first = true;', '    g_string_append_c(o, \'{\');']
        c += self.gen_member_keys(members, prefix, '    ')
        c.append('    (void)first;')
        c.append('    g_string_append_c(o, \'}\');')
        return c

    def gen_member_keys(self, members, prefix, ind0):
        c = []
        for m in members:
            v = prefix + c_name(m.name)
            ind = ind0
            if m.optional:
                c.append(ind0 + 'if (%s) {' % (v if is_pointer(m.type) else
                                               prefix + 'has_' + c_name(m.name)))
                ind = ind0 + '    '
            c.append(ind + 'qj_key(o, &first, "%s");' % m.name)
            c.append(ind + emit_expr(m.type, v))
            if m.optional:
                c.append(ind0 + '}')
        return c

    def gen_struct_to_json(self, st):
        n = st.c_name()
        self.c += ['', 'void qapi_%s_to_json(GString *o, const %s *p)' % (n, n), '{',
                   '    if (!p) {', '        g_string_append(o, "{}");', '        return;',
                   '    }']
        self.c += self.gen_members_to_json(st.members, 'p->')
        self.c.append('}')

    def gen_members_parse(self, members):
        c = []
        for m in members:
            cn = c_name(m.name)
            c.append('    n = json_object_get_member(obj, "%s");' % m.name)
            if m.optional:
                c.append('    if (n) {')
                if not is_pointer(m.type):
                    c.append('        p->has_%s = true;' % cn)
                c.append('        ' + parse_stmt(m.type, 'n', 'path', '"%s"' % m.name,
                                                 'p->' + cn))
                c.append('    }')
            else:
                c.append('    if (!n)')
                c.append('        return qv_missing(path, "%s", errp);' % m.name)
                c.append('    ' + parse_stmt(m.type, 'n', 'path', '"%s"' % m.name, 'p->' + cn))
        return c

    def gen_struct_from_json(self, st):
        n = st.c_name()
        c = self.c
        known = ', '.join('"%s"' % m.name for m in st.members)
        c += ['', 'bool qapi_%s_members_parse(JsonObject *obj, const char *path, '
              'bool kv, %s *p, GError **errp)' % (n, n), '{', '    JsonNode *n;']
        c += self.gen_members_parse(st.members)
        c += ['    (void)n;', '    (void)kv;', '    (void)obj;', '    (void)path;',
              '    (void)p;', '    (void)errp;', '    return true;', '}']
        c += ['', 'bool qapi_%s_members_from_json(JsonObject *obj, const char *path, '
              'bool kv, %s *p, GError **errp)' % (n, n), '{',
              '    static const char *const known[] = { %sNULL };' % (known + ', ' if known
                                                                   else ''),
              '    return qapi_%s_members_parse(obj, path, kv, p, errp) &&' % n,
              '           qv_check_unexpected(obj, path, known, errp);', '}']
        self.gen_from_json(n)

    def gen_from_json(self, n):
        c = self.c
        c += ['', 'bool qapi_%s_from_json(JsonNode *n, const char *path, const char *name, '
              'bool kv, %s **out, GError **errp)' % (n, n), '{',
              '    JsonObject *obj;',
              '    if (!qv_object(n, path, name, &obj, errp))', '        return false;',
              '    %s *p = g_new0(%s, 1);' % (n, n),
              '    g_autofree char *full = qv_full(path, name);',
              '    if (!qapi_%s_members_from_json(obj, full, kv, p, errp)) {' % n,
              '        qapi_free_%s(p);' % n, '        return false;', '    }',
              '    *out = p;', '    return true;', '}']

    # ---- unions: base members, then the discriminator's branch as u.BRANCH ----

    def union_tag(self, u):
        return [m for m in u.base if m.name == u.discriminator][0]

    def gen_union_decl(self, u):
        n = u.c_name()
        self.h += ['', 'struct %s {' % n]
        for m in u.base:
            if m.optional and not is_pointer(m.type):
                self.h.append('    bool has_%s;' % c_name(m.name))
            ct = c_type(m.type)
            self.h.append('    %s%s%s;' % (ct, '' if ct.endswith('*') else ' ', c_name(m.name)))
        if u.branches:
            self.h.append('    union {')
            for val, b in u.branches.items():
                self.h.append('        %s %s;' % (b.c_name(), c_name(val)))
            self.h.append('    } u;')
        self.h.append('};')
        for proto in ('void qapi_free_%s(%s *p);', 'void qapi_%s_free_members(%s *p);',
                      'void qapi_%s_to_json(GString *o, const %s *p);'):
            self.h.append(proto % (n, n))
        self.h.append('bool qapi_%s_from_json(JsonNode *n, const char *path, const char *name, '
                      'bool kv, %s **out, GError **errp);' % (n, n))
        self.h.append('bool qapi_%s_members_from_json(JsonObject *obj, const char *path, '
                      'bool kv, %s *p, GError **errp);' % (n, n))

    def gen_union_switch(self, u, stmt):
        tag = self.union_tag(u)
        c = ['    switch (p->%s) {' % c_name(u.discriminator)]
        for val, b in u.branches.items():
            c.append('    case %s:' % tag.type.const(val))
            c += stmt(val, b)
            c.append('        break;')
        c += ['    default:', '        break;', '    }']
        return c

    def gen_union_code(self, u):
        n = u.c_name()
        c = self.c
        c += ['', 'void qapi_%s_free_members(%s *p)' % (n, n), '{']
        for m in u.base:
            f = free_stmt(m.type, 'p->' + c_name(m.name))
            if f:
                c.append('    ' + f)
        c += self.gen_union_switch(u, lambda v, b: ['        qapi_%s_free_members(&p->u.%s);'
                                                  % (b.c_name(), c_name(v))])
        c += ['}', '', 'void qapi_free_%s(%s *p)' % (n, n), '{', '    if (!p)',
              '        return;', '    qapi_%s_free_members(p);' % n, '    g_free(p);', '}']
        c += ['', 'void qapi_%s_to_json(GString *o, const %s *p)' % (n, n), '{',
              '    if (!p) {', '        g_string_append(o, "{}");', '        return;', '    }',
              '    bool first = true;', '    g_string_append_c(o, \'{\');']
        c += self.gen_member_keys(u.base, 'p->', '    ')
        c += self.gen_union_switch(u, lambda v, b: self.gen_member_keys(
            b.members, 'p->u.%s.' % c_name(v), '        '))
        c += ['    (void)first;', '    g_string_append_c(o, \'}\');', '}']
        base = ['"%s"' % m.name for m in u.base]
        for val, b in u.branches.items():
            names = base + ['"%s"' % m.name for m in b.members]
            c += ['', 'static const char *const %s_known_%s[] = { %s, NULL };'
                  % (n, c_name(val), ', '.join(names))]
        c += ['', 'bool qapi_%s_members_from_json(JsonObject *obj, const char *path, '
              'bool kv, %s *p, GError **errp)' % (n, n), '{',
              '    static const char *const known[] = { %s, NULL };' % ', '.join(base),
              '    JsonNode *n;']
        c += self.gen_members_parse(u.base)
        c += ['    (void)n;', '    const char *const *k = known;']
        c += self.gen_union_switch(u, lambda v, b: [
            '        if (!qapi_%s_members_parse(obj, path, kv, &p->u.%s, errp))'
            % (b.c_name(), c_name(v)), '            return false;',
            '        k = %s_known_%s;' % (n, c_name(v))])
        c += ['    return qv_check_unexpected(obj, path, k, errp);', '}']
        self.gen_from_json(n)

    def gen_array(self, t):
        fn, ct = array_fn(t), c_type(t)
        el = t.element
        self.h.append('void %s_to_json(GString *o, const %sarr);' % (fn, ct))
        self.h.append('bool %s_from_json(JsonNode *n, const char *path, const char *name, '
                      'bool kv, %s*out, GError **errp);' % (fn, ct))
        get = ('g_ptr_array_index(arr, i)' if is_ptr_array(t) else
               'g_array_index(arr, %s, i)' % c_type(el))
        c = self.c
        c += ['', 'void %s_to_json(GString *o, const %sarr)' % (fn, ct), '{',
              '    g_string_append_c(o, \'[\');',
              '    for (guint i = 0; arr && i < arr->len; i++) {',
              '        if (i)', '            g_string_append(o, ", ");',
              '        ' + emit_expr(el, get), '    }', '    g_string_append_c(o, \']\');', '}']
        if is_ptr_array(t):
            f = ('(GDestroyNotify)qapi_free_%s' % el.c_name()
                 if isinstance(el, (Struct, Union)) else
                 'g_free' if el.name == 'str' else '(GDestroyNotify)json_node_unref')
            new = 'g_ptr_array_new_with_free_func(%s)' % f
            add = 'g_ptr_array_add(a, v);'
        else:
            new = 'g_array_new(FALSE, TRUE, sizeof(%s))' % c_type(el)
            add = 'g_array_append_val(a, v);'
        vdecl = '%s%sv = %s;' % (c_type(el), '' if is_pointer(el) else ' ',
                                 'NULL' if is_pointer(el) else '0')
        c += ['', 'static bool parse_elem_%s(JsonNode *n, const char *path, bool kv, %s*dst, '
              'GError **errp)' % (fn, c_type(el) + ('' if is_pointer(el) else ' ')), '{',
              '    (void)kv;',
              '    ' + parse_stmt(el, 'n', 'path', 'NULL', '*dst'), '    return true;', '}']
        c += ['', 'bool %s_from_json(JsonNode *n, const char *path, const char *name, '
              'bool kv, %s*out, GError **errp)' % (fn, ct), '{', '    JsonArray *ja;',
              '    if (!qv_array(n, path, name, &ja, errp))', '        return false;',
              '    g_autofree char *full = qv_full(path, name);',
              '    %sa = %s;' % (ct, new),
              '    for (guint i = 0; i < json_array_get_length(ja); i++) {',
              '        g_autofree char *elem = g_strdup_printf("%s[%u]", full, i);',
              '        ' + vdecl,
              '        if (!parse_elem_%s(json_array_get_element(ja, i), elem, kv, &v, errp)) {'
              % fn, '            %s(a);' % ('g_ptr_array_unref' if is_ptr_array(t) else
                                           'g_array_unref'),
              '            return false;', '        }', '        ' + add, '    }',
              '    *out = a;', '    return true;', '}']

    def handler_params(self, cmd):
        ps = ['MonitorSession *s' if cmd.session else 'Machine *m']
        if cmd.boxed:
            return ps + ['%s *arg' % cmd.args.c_name(), 'GError **errp']
        for m in (cmd.args.members if cmd.args else []):
            cn = c_name(m.name)
            if m.optional and not is_pointer(m.type):
                ps.append('bool has_%s' % cn)
            ct = c_type(m.type)
            if ct == 'char *':
                ct = 'const char *'
            ps.append('%s%s%s' % (ct, '' if ct.endswith('*') else ' ', cn))
        ps.append('GError **errp')
        return ps

    def gen_command(self, cmd):
        cn = c_name(cmd.name)
        if not cmd.gen:
            self.h.append('bool qmp_%s(QmpCtx *c, JsonObject *args, GString *ret, '
                          'GError **errp);' % cn)
            return
        rt = c_type(cmd.ret) if cmd.ret else 'void'
        self.h.append('%s%sqmp_%s(%s);' % (rt, '' if rt.endswith('*') else ' ', cn,
                                           ', '.join(self.handler_params(cmd))))
        c = self.c
        c += ['', 'static bool qmp_marshal_%s(QmpCtx *c, JsonObject *args, GString *o, '
              'GError **errp)' % cn, '{', '    GError *err = NULL;']
        a = cmd.args
        if a:
            c += ['    %s a = { 0 };' % a.c_name(),
                  '    if (!qapi_%s_members_from_json(args, NULL, false, &a, errp)) {' % a.c_name(),
                  '        qapi_%s_free_members(&a);' % a.c_name(), '        return false;',
                  '    }']
        else:
            c += ['    static const char *const known[] = { NULL };',
                  '    if (!qv_check_unexpected(args, NULL, known, errp))',
                  '        return false;']
        call_args = ['c->session' if cmd.session else 'c->m']
        if cmd.boxed:
            call_args.append('&a')
        for m in (a.members if a and not cmd.boxed else []):
            if m.optional and not is_pointer(m.type):
                call_args.append('a.has_' + c_name(m.name))
            call_args.append('a.' + c_name(m.name))
        call = 'qmp_%s(%s, &err)' % (cn, ', '.join(call_args))
        c.append('    %s%s;' % ('%s%sr = ' % (rt, '' if rt.endswith('*') else ' ')
                                if cmd.ret else '', call))
        if a:
            c.append('    qapi_%s_free_members(&a);' % a.c_name())
        fr = free_stmt(cmd.ret, 'r') if cmd.ret else None
        c += ['    if (err) {', '        g_propagate_error(errp, err);']
        if fr:
            c.append('        ' + fr)
        c += ['        return false;', '    }']
        c.append('    ' + (emit_expr(cmd.ret, 'r') if cmd.ret else 'g_string_append(o, "{}");'))
        if fr:
            c.append('    ' + fr)
        c += ['    return true;', '}']

    def gen_dispatch(self):
        cmds = sorted(self.s.commands, key=lambda x: x.name)
        self.c += ['', '/* Sorted by name for qmp_command_find(). */',
                   'const QmpCommand qmp_commands[] = {']
        for cmd in cmds:
            fn = ('qmp_marshal_' if cmd.gen else 'qmp_') + c_name(cmd.name)
            self.c.append('    { "%s", %s },' % (cmd.name, fn))
        self.c += ['};', 'const size_t qmp_commands_count = %d;' % len(cmds)]

    def gen_event(self, ev):
        cn = c_name(ev.name).lower()
        ps = ['Machine *m']
        for m in (ev.args.members if ev.args else []):
            if m.optional and not is_pointer(m.type):
                ps.append('bool has_%s' % c_name(m.name))
            ct = c_type(m.type)
            ct = 'const char *' if ct == 'char *' else ct
            ps.append('%s%s%s' % (ct, '' if ct.endswith('*') else ' ', c_name(m.name)))
        proto = 'void qapi_event_send_%s(%s)' % (cn, ', '.join(ps))
        self.h.append(proto + ';')
        self.c += ['', proto, '{']
        if not ev.args:
            self.c += ['    monitor_emit_event(m, "%s", NULL);' % ev.name, '}']
            return
        self.c.append('    GString *o = g_string_sized_new(64);')
        self.c += self.gen_members_to_json(ev.args.members, '')
        self.c += ['    monitor_emit_event(m, "%s", o->str);' % ev.name,
                   '    g_string_free(o, TRUE);', '}']

    def generate(self):
        h, c = self.h, self.c
        headers = sorted({t.c_header for t in self.s.order if isinstance(t, Enum) and
                          t.c_header})
        h += ['/* Generated by qapi/gen.py from %s: do not edit. */' % self.s.files[0],
              '#ifndef QAPI_GENERATED_H', '#define QAPI_GENERATED_H', '',
              '#include "qapi/qapi-runtime.h"']
        h += ['#include "%s"' % x for x in headers]
        c += ['/* Generated by qapi/gen.py: do not edit. */',
              '#include "qapi/qapi-generated.h"', '#include <stdint.h>']
        for t in self.s.order:
            if isinstance(t, Enum):
                self.gen_enum(t)
        h.append('')
        for st in self.structs() + self.unions():
            h.append('typedef struct %s %s;' % (st.c_name(), st.c_name()))
        for st in self.structs():
            self.gen_struct_decl(st)
        for u in self.unions():
            self.gen_union_decl(u)
        h.append('')
        for t in self.arrays():
            self.gen_array(t)
        for st in self.structs():
            self.gen_struct_free(st)
            self.gen_struct_to_json(st)
            self.gen_struct_from_json(st)
        for u in self.unions():
            self.gen_union_code(u)
        h += ['', '/* Command handlers (hand-written, qapi/qmp-*.c). */']
        for cmd in self.s.commands:
            self.gen_command(cmd)
        self.gen_dispatch()
        h += ['', '/* Event senders: queue the event to every negotiated QMP session. */']
        for ev in self.s.events:
            self.gen_event(ev)
        c += ['', '/* query-qmp-schema: QEMU\'s SchemaInfo list (qapi/introspect.json). */',
              'const char qmp_schema_json[] =']
        text = json.dumps(Introspect(self.s).build(), separators=(', ', ': '))
        for i in range(0, len(text), 100):
            c.append('    "%s"' % text[i:i + 100].replace('\\', '\\\\').replace('"', '\\"'))
        c[-1] += ';'
        h += ['', '#endif']
        return '\n'.join(h) + '\n', '\n'.join(c) + '\n'


class Introspect:
    """QEMU's SchemaInfo list: commands and events by name, types numbered."""

    def __init__(self, schema):
        self.s = schema
        self.names, self.out = {}, []

    def name_of(self, t):
        if t is None:
            return self.empty
        if t.name in self.names:
            return self.names[t.name]
        if isinstance(t, Builtin):
            jt = t.json_type
            name = {'string': 'str', 'boolean': 'bool', 'value': 'any'}.get(jt, jt)
            self.names[t.name] = name
            if not any(e['name'] == name for e in self.out):
                self.out.append({'name': name, 'meta-type': 'builtin', 'json-type': jt})
            return name
        if isinstance(t, Array):
            el = self.name_of(t.element)
            name = '[%s]' % el
            self.names[t.name] = name
            self.out.append({'name': name, 'meta-type': 'array', 'element-type': el})
            return name
        name = str(self.count)
        self.count += 1
        self.names[t.name] = name
        entry = {'name': name, 'meta-type': 'object'}
        self.out.append(entry)
        if isinstance(t, Enum):
            entry.update({'meta-type': 'enum', 'members': [{'name': v} for v in t.values],
                          'values': list(t.values)})
        elif isinstance(t, Struct):
            entry['members'] = self.members(t.members)
        elif isinstance(t, Union):
            entry['members'] = self.members(t.base)
            entry['tag'] = t.discriminator
            entry['variants'] = [{'case': k, 'type': self.name_of(v)}
                                 for k, v in t.branches.items()]
        return name

    def members(self, members):
        out = []
        for m in members:
            d = {'name': m.name, 'type': self.name_of(m.type)}
            if m.optional:
                d['default'] = None
            out.append(d)
        return out

    def build(self):
        self.count = 1
        self.empty = '0'
        self.out.append({'name': '0', 'meta-type': 'object', 'members': []})
        for cmd in self.s.commands:
            entry = {'name': cmd.name, 'meta-type': 'command',
                     'arg-type': self.name_of(cmd.args), 'ret-type': self.name_of(cmd.ret)}
            if cmd.features:
                entry['features'] = list(cmd.features)
            self.out.append(entry)
        for ev in self.s.events:
            self.out.append({'name': ev.name, 'meta-type': 'event',
                             'arg-type': self.name_of(ev.args)})
        return self.out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('schema')
    ap.add_argument('-o', '--output-dir', default='.')
    ap.add_argument('--check', action='store_true', help='check the schema only')
    ap.add_argument('--depfile', help='write the schema files read, for the build system')
    a = ap.parse_args()
    try:
        schema = Schema(a.schema)
        h, c = Gen(schema).generate()
    except SchemaError as e:
        print('qapi-gen: %s' % e, file=sys.stderr)
        return 1
    if a.check:
        return 0
    for name, text in (('qapi-generated.h', h), ('qapi-generated.c', c)):
        path = os.path.join(a.output_dir, name)
        with open(path + '.tmp', 'w') as f:
            f.write(text)
        os.replace(path + '.tmp', path)
    if a.depfile:
        with open(a.depfile, 'w') as f:
            f.write('%s: %s\n' % (os.path.join(a.output_dir, 'qapi-generated.c'),
                                  ' '.join(p.replace(' ', '\\ ') for p in schema.files)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
