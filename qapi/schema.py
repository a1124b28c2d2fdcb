"""QAPI-like schema reader and checker for Vireo (qapi/gen.py uses it).

The dialect is QEMU's (docs/devel/qapi-code-gen in QEMU): a file is a sequence of
JSON objects written with single-quoted strings and '#' comments. Expressions:

  { 'include': 'FILE' }
  { 'enum': NAME, 'data': [ VALUE, ... ], '*prefix': C_PREFIX, '*c-header': HEADER }
  { 'struct': NAME, 'data': { MEMBER: TYPE, '*OPTIONAL': TYPE, ... } }
  { 'union': NAME, 'base': { ... } | STRUCT, 'discriminator': MEMBER,
    'data': { ENUM_VALUE: STRUCT, ... } }
  { 'command': NAME, '*data': MEMBERS | STRUCT, '*returns': TYPE | [ TYPE ],
    '*gen': false, '*session': true, '*allow-preconfig': bool, '*boxed': true,
    '*features': [ NAME ] }
    ('boxed': the handler takes the whole argument object, a STRUCT or UNION, as
    one parameter, as QEMU's boxed commands do)
  { 'event': NAME, '*data': MEMBERS | STRUCT }

TYPE is a builtin (str, int, int8..int64, uint8..uint64, size, number, bool, any,
null), a defined name, or [ TYPE ] for an array. Every error is a SchemaError whose
text starts with "FILE:LINE: ", so a bad schema fails the build naming the spot.
Vireo extensions: 'c-header' (the C enum already exists in that header, with the
same order; the generated code asserts it), 'session' (the handler gets the
monitor session instead of the machine). 'boxed' commands take a STRUCT or UNION
as their whole argument; 'features'
of commands appear in query-qmp-schema as QEMU's do.
"""
import os
import re


class SchemaError(Exception):
    def __init__(self, info, msg):
        super().__init__(msg)
        self.info = info
        self.msg = msg

    def __str__(self):
        return "%s:%d: %s" % (self.info[0], self.info[1], self.msg)


class LDict(dict):
    """A dict that remembers the line of itself and of each key."""
    def __init__(self):
        super().__init__()
        self.info = None
        self.key_info = {}


class LList(list):
    def __init__(self):
        super().__init__()
        self.info = None


# ---- Lexer and parser -------------------------------------------------------------

class Parser:
    def __init__(self, fname, text):
        self.fname, self.text, self.pos, self.line = fname, text, 0, 1

    def info(self, line=None):
        return (self.fname, line if line is not None else self.line)

    def error(self, msg, line=None):
        raise SchemaError(self.info(line), msg)

    def skip_space(self):
        t = self.text
        while self.pos < len(t):
            c = t[self.pos]
            if c == '\n':
                self.line += 1
            elif c == '#':
                while self.pos < len(t) and t[self.pos] != '\n':
                    self.pos += 1
                continue
            elif c not in ' \t\r':
                return
            self.pos += 1

    def token(self):
        """Returns (kind, value, line); kind is one of '{}[]:,' 'str' 'bool' 'eof'."""
        self.skip_space()
        line = self.line
        if self.pos >= len(self.text):
            return ('eof', None, line)
        c = self.text[self.pos]
        if c in '{}[]:,':
            self.pos += 1
            return (c, c, line)
        if c in '\'"':
            return ('str', self.string(c), line)
        m = re.compile(r'true|false').match(self.text, self.pos)
        if m:
            self.pos = m.end()
            return ('bool', m.group() == 'true', line)
        self.error("stray '%s'" % c)

    def string(self, quote):
        out, t = [], self.text
        self.pos += 1
        while True:
            if self.pos >= len(t) or t[self.pos] == '\n':
                self.error('missing terminating %s' % quote)
            c = t[self.pos]
            self.pos += 1
            if c == quote:
                return ''.join(out)
            if c == '\\':
                if self.pos >= len(t):
                    self.error('missing terminating %s' % quote)
                e = t[self.pos]
                self.pos += 1
                if e not in '\\/\'"':
                    self.error("unknown escape \\%s" % e)
                c = e
            elif not (' ' <= c <= '~'):
                self.error('non-printable or non-ASCII character in string')
            out.append(c)

    def expect(self, kinds, what):
        kind, val, line = self.token()
        if kind not in kinds:
            self.error('expected %s, got %s' % (what, 'end of file' if kind == 'eof'
                                                 else repr(val)), line)
        return kind, val, line

    def value(self, tok=None):
        kind, val, line = tok or self.expect(('{', '[', 'str', 'bool'), 'a value')
        if kind == '{':
            return self.obj(line)
        if kind == '[':
            return self.array(line)
        if kind in ('str', 'bool'):
            return val
        self.error("expected a value, got '%s'" % val, line)

    def obj(self, line):
        d = LDict()
        d.info = self.info(line)
        kind, val, kline = self.expect(('str', '}'), "a string or '}'")
        while kind != '}':
            if val in d:
                self.error("duplicate key '%s'" % val, kline)
            self.expect((':',), "':'")
            d.key_info[val] = self.info(kline)
            d[val] = self.value()
            kind, _, _ = self.expect((',', '}'), "',' or '}'")
            if kind == ',':
                kind, val, kline = self.expect(('str',), 'a string')
        return d

    def array(self, line):
        a = LList()
        a.info = self.info(line)
        tok = self.token()
        while tok[0] != ']':
            a.append(self.value(tok))
            kind, _, _ = self.expect((',', ']'), "',' or ']'")
            if kind == ']':
                break
            tok = self.token()
        return a

    def exprs(self):
        out = []
        while True:
            kind, val, line = self.token()
            if kind == 'eof':
                return out
            if kind != '{':
                self.error('expected a top-level object, got %s' % repr(val), line)
            out.append(self.obj(line))


# ---- The model ----------------------------------------------------------------------

BUILTINS = {
    # name: (C type, JSON type for introspection, input helper kind)
    'str': ('char *', 'string'), 'int': ('int64_t', 'int'), 'int8': ('int8_t', 'int'),
    'int16': ('int16_t', 'int'), 'int32': ('int32_t', 'int'), 'int64': ('int64_t', 'int'),
    'uint8': ('uint8_t', 'int'), 'uint16': ('uint16_t', 'int'),
    'uint32': ('uint32_t', 'int'), 'uint64': ('uint64_t', 'int'), 'size': ('uint64_t', 'int'),
    'number': ('double', 'number'), 'bool': ('bool', 'boolean'), 'any': ('JsonNode *', 'value'),
    'null': ('JsonNode *', 'null'),
}
NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_-]*$')
# Enum values may start with a digit (QEMU's QKeyCode has '1'..'0').
ENUM_VALUE_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_-]*$')


class Entity:
    def __init__(self, name, info):
        self.name, self.info = name, info


class Type(Entity):
    meta = None

    def c_name(self):
        return c_name(self.name)


class Builtin(Type):
    meta = 'builtin'

    def __init__(self, name):
        super().__init__(name, None)
        self.c_type, self.json_type = BUILTINS[name]


class Enum(Type):
    meta = 'enum'

    def __init__(self, name, info, values, prefix, c_header):
        super().__init__(name, info)
        self.values, self.prefix, self.c_header = values, prefix, c_header

    def const(self, value):
        # No keyword prefix here: the constant is prefixed already (QEMU: FOO_UNIX).
        return (self.prefix or camel_to_upper(self.name)) + '_' + \
            re.sub(r'[^A-Za-z0-9_]', '_', value).upper()


class Member:
    def __init__(self, name, type_ref, optional, info):
        self.name, self.type_ref, self.optional, self.info = name, type_ref, optional, info
        self.type = None


class Struct(Type):
    meta = 'object'

    def __init__(self, name, info, members, implicit=False):
        super().__init__(name, info)
        self.members, self.implicit = members, implicit


class Union(Type):
    meta = 'object'

    def __init__(self, name, info, base, discriminator, branches):
        super().__init__(name, info)
        self.base, self.discriminator, self.branches = base, discriminator, branches


class Array(Type):
    meta = 'array'

    def __init__(self, element):
        super().__init__('[%s]' % element.name, None)
        self.element = element


class Command(Entity):
    def __init__(self, name, info, args, ret, gen, session, features=(), boxed=False):
        super().__init__(name, info)
        self.args, self.ret, self.gen, self.session = args, ret, gen, session
        self.features, self.boxed = list(features), boxed


class Event(Entity):
    def __init__(self, name, info, args):
        super().__init__(name, info)
        self.args = args


C_KEYWORDS = set("""auto break case char const continue default do double else enum extern
float for goto if inline int long register restrict return short signed sizeof static
struct switch typedef union unsigned void volatile while bool true false
unix linux i386""".split())   # the last three are predefined macros of GNU C, as QEMU's list


def c_name(name):
    """A C identifier for @name; C keywords get QEMU's "q_" prefix."""
    s = re.sub(r'[^A-Za-z0-9_]', '_', name)
    return 'q_' + s if s in C_KEYWORDS else s


def camel_to_upper(name):
    s = re.sub(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', '_', name)
    return c_name(s).upper()


class Schema:
    """Reads @fname (and its includes), builds and checks the model."""

    def __init__(self, fname):
        self.types = {n: Builtin(n) for n in BUILTINS}
        self.commands, self.events, self.order = [], [], []
        self.files = []
        self._read(fname, set(), None)
        self._resolve()

    # -- reading --
    def _read(self, fname, seen, info):
        path = os.path.abspath(fname)
        if path in seen:
            raise SchemaError(info, "include cycle through '%s'" % fname)
        try:
            with open(fname, encoding='utf-8') as f:
                text = f.read()
        except OSError as e:
            if info is None:
                raise SchemaError((fname, 1), "can't read: %s" % e.strerror)
            raise SchemaError(info, "can't read include '%s': %s" % (fname, e.strerror))
        except UnicodeDecodeError:
            raise SchemaError((fname, 1), 'file is not UTF-8')
        self.files.append(fname)
        for expr in Parser(fname, text).exprs():
            if 'include' in expr:
                self._check_keys(expr, {'include'}, set())
                inc = expr['include']
                if not isinstance(inc, str):
                    raise SchemaError(expr.info, "'include' must be a string")
                sub = os.path.join(os.path.dirname(fname), inc)
                self._read(sub, seen | {path}, expr.info)
            else:
                self._define(expr)

    @staticmethod
    def _check_keys(expr, required, optional):
        for k in expr:
            if k not in required | optional:
                raise SchemaError(expr.key_info[k], "unknown key '%s' in %s '%s'"
                                  % (k, next(iter(expr)), expr[next(iter(expr))]))
        for k in required:
            if k not in expr:
                raise SchemaError(expr.info, "missing key '%s'" % k)

    def _name(self, expr, meta):
        name = expr[meta]
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise SchemaError(expr.info, '%s name %r is not a valid name' % (meta, name))
        return name

    def _add_type(self, t):
        if t.name in self.types:
            old = self.types[t.name]
            where = ' (first at %s:%d)' % old.info if old.info else ' (a builtin type)'
            raise SchemaError(t.info, "type '%s' is already defined%s" % (t.name, where))
        self.types[t.name] = t
        self.order.append(t)

    def _members(self, data, info, what):
        if not isinstance(data, dict):
            raise SchemaError(info, "'data' of %s must be an object" % what)
        out, seen = [], set()
        for key, val in data.items():
            kinfo = data.key_info[key]
            opt = key.startswith('*')
            name = key[1:] if opt else key
            if not NAME_RE.match(name):
                raise SchemaError(kinfo, "member name %r of %s is not a valid name"
                                  % (name, what))
            if c_name(name) in seen:
                raise SchemaError(kinfo, "member '%s' of %s clashes with another member"
                                  % (name, what))
            seen.add(c_name(name))
            if isinstance(val, dict):
                self._check_keys(val, {'type'}, {'features'})
                val = val['type']
            out.append(Member(name, self._type_ref(val, kinfo, "member '%s' of %s"
                                                   % (name, what)), opt, kinfo))
        return out

    def _type_ref(self, ref, info, what):
        if isinstance(ref, list):
            if len(ref) != 1 or not isinstance(ref[0], str):
                raise SchemaError(info, '%s: an array type must be [ TYPE ] with one name'
                                  % what)
            return [ref[0]]
        if not isinstance(ref, str):
            raise SchemaError(info, '%s: a type must be a name or [ NAME ]' % what)
        return ref

    def _define(self, expr):
        metas = [k for k in ('enum', 'struct', 'union', 'command', 'event') if k in expr]
        if len(metas) != 1:
            raise SchemaError(expr.info, 'expression must have exactly one of '
                              "'enum', 'struct', 'union', 'command', 'event', 'include'")
        getattr(self, '_def_' + metas[0])(expr)

    def _def_enum(self, expr):
        self._check_keys(expr, {'enum', 'data'}, {'prefix', 'c-header'})
        name = self._name(expr, 'enum')
        data = expr['data']
        if not isinstance(data, list) or not data:
            raise SchemaError(expr.info, "'data' of enum '%s' must be a non-empty array"
                              % name)
        seen = set()
        for v in data:
            if not isinstance(v, str) or not ENUM_VALUE_RE.match(v):
                raise SchemaError(expr.info, "enum '%s' value %r is not a valid name"
                                  % (name, v))
            if c_name(v).upper() in seen:
                raise SchemaError(expr.info, "enum '%s' value '%s' is duplicated"
                                  % (name, v))
            seen.add(c_name(v).upper())
        self._add_type(Enum(name, expr.info, list(data), expr.get('prefix'),
                            expr.get('c-header')))

    def _def_struct(self, expr):
        self._check_keys(expr, {'struct', 'data'}, {'features'})
        name = self._name(expr, 'struct')
        self._add_type(Struct(name, expr.info,
                              self._members(expr['data'], expr.info, "struct '%s'" % name)))

    def _def_union(self, expr):
        self._check_keys(expr, {'union', 'base', 'discriminator', 'data'}, set())
        name = self._name(expr, 'union')
        base = expr['base']
        if isinstance(base, dict):
            base = self._members(base, expr.info, "base of union '%s'" % name)
        elif not isinstance(base, str):
            raise SchemaError(expr.info, "'base' of union '%s' must be an object or a name"
                              % name)
        if not isinstance(expr['data'], dict):
            raise SchemaError(expr.info, "'data' of union '%s' must be an object" % name)
        branches = {k: (v, expr['data'].key_info[k]) for k, v in expr['data'].items()}
        self._add_type(Union(name, expr.info, base, expr['discriminator'], branches))

    def _args(self, expr, what):
        data = expr.get('data')
        if data is None:
            return None
        if isinstance(data, str):
            return data
        t = Struct('q_obj_%s-arg' % expr[what], expr.info,
                   self._members(data, expr.info, "%s '%s'" % (what, expr[what])), True)
        self._add_type(t)
        return t.name

    def _def_command(self, expr):
        self._check_keys(expr, {'command'}, {'data', 'returns', 'gen', 'session',
                                             'allow-preconfig', 'features', 'boxed'})
        name = self._name(expr, 'command')
        if any(c.name == name for c in self.commands):
            raise SchemaError(expr.info, "command '%s' is already defined" % name)
        for k in ('gen', 'session', 'allow-preconfig', 'boxed'):
            if k in expr and not isinstance(expr[k], bool):
                raise SchemaError(expr.key_info[k], "'%s' of command '%s' must be true or "
                                  'false' % (k, name))
        ret = expr.get('returns')
        if ret is not None:
            ret = self._type_ref(ret, expr.key_info['returns'], "returns of '%s'" % name)
        boxed = expr.get('boxed', False)
        if boxed and not isinstance(expr.get('data'), str):
            raise SchemaError(expr.info, "'data' of boxed command '%s' must name a struct "
                              'or union' % name)
        feats = expr.get('features', [])
        if not isinstance(feats, list) or not all(isinstance(f, str) for f in feats):
            raise SchemaError(expr.info, "'features' of command '%s' must be a list of names"
                              % name)
        self.commands.append(Command(name, expr.info, self._args(expr, 'command'), ret,
                                     expr.get('gen', True), expr.get('session', False),
                                     feats, boxed))

    def _def_event(self, expr):
        self._check_keys(expr, {'event'}, {'data', 'features'})
        name = self._name(expr, 'event')
        if name.upper() != name:
            raise SchemaError(expr.info, "event name '%s' must be in upper case" % name)
        if any(e.name == name for e in self.events):
            raise SchemaError(expr.info, "event '%s' is already defined" % name)
        self.events.append(Event(name, expr.info, self._args(expr, 'event')))

    # -- resolving --
    def lookup(self, ref, info, what):
        if isinstance(ref, list):
            el = self.lookup(ref[0], info, what)
            key = '[%s]' % el.name
            if key not in self.types:
                self.types[key] = Array(el)
            return self.types[key]
        if isinstance(ref, Type):
            return ref
        t = self.types.get(ref)
        if t is None:
            raise SchemaError(info, "%s uses unknown type '%s'" % (what, ref))
        return t

    def _struct_ref(self, ref, info, what):
        t = self.lookup(ref, info, what)
        if not isinstance(t, Struct):
            raise SchemaError(info, "%s must be a struct, '%s' is not" % (what, t.name))
        return t

    def _resolve(self):
        for t in list(self.order):
            if isinstance(t, Struct):
                for m in t.members:
                    m.type = self.lookup(m.type_ref, m.info, "member '%s' of '%s'"
                                         % (m.name, t.name))
            elif isinstance(t, Union):
                self._resolve_union(t)
        for c in self.commands:
            what = "command '%s'" % c.name
            if c.boxed:
                c.args = self.lookup(c.args, c.info, "'data' of " + what)
                if not isinstance(c.args, (Struct, Union)):
                    raise SchemaError(c.info, "'data' of %s must be a struct or union"
                                      % what)
            else:
                c.args = c.args and self._struct_ref(c.args, c.info, "'data' of " + what)
            c.ret = c.ret and self.lookup(c.ret, c.info, "'returns' of " + what)
        for e in self.events:
            e.args = e.args and self._struct_ref(e.args, e.info, "'data' of event '%s'"
                                                 % e.name)
        for c in self.commands:
            if c.gen:
                self._check_c(c.args, c.info, "command '%s'" % c.name)
                self._check_c(c.ret, c.info, "command '%s'" % c.name)
        for e in self.events:
            self._check_c(e.args, e.info, "event '%s'" % e.name)

    def _resolve_union(self, u):
        what = "union '%s'" % u.name
        if isinstance(u.base, str):
            u.base = self._struct_ref(u.base, u.info, 'base of ' + what).members
        else:
            for m in u.base:
                m.type = self.lookup(m.type_ref, m.info, "member '%s' of %s" % (m.name, what))
        tag = [m for m in u.base if m.name == u.discriminator]
        if not tag or not isinstance(tag[0].type, Enum) or tag[0].optional:
            raise SchemaError(u.info, "discriminator '%s' of %s must be a required "
                              'enum member of its base' % (u.discriminator, what))
        for val, (ref, info) in u.branches.items():
            if val not in tag[0].type.values:
                raise SchemaError(info, "branch '%s' of %s is not a value of enum '%s'"
                                  % (val, what, tag[0].type.name))
            u.branches[val] = self._struct_ref(ref, info, "branch '%s' of %s" % (val, what))

    def _check_c(self, t, info, what, seen=None):
        """The C generator handles enums, structs, unions, builtins and arrays of them."""
        seen = seen or set()
        if t is None or t.name in seen:
            return
        seen.add(t.name)
        if isinstance(t, Union):
            for m in t.base:
                self._check_c(m.type, m.info, what, seen)
            for b in t.branches.values():
                self._check_c(b, info, what, seen)
        if isinstance(t, Builtin) and t.name == 'null':
            raise SchemaError(info, "%s uses type 'null', which has no C form" % what)
        if isinstance(t, Array):
            if isinstance(t.element, Array):
                raise SchemaError(info, '%s uses an array of arrays' % what)
            self._check_c(t.element, info, what, seen)
        if isinstance(t, Struct):
            for m in t.members:
                self._check_c(m.type, m.info, what, seen)
