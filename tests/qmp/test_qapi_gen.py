#!/usr/bin/env python3
"""Generator tests: schema errors are build errors naming FILE:LINE (qapi/gen.py).

Each bad schema is written to a temporary folder and run through gen.py the way
meson runs it; the exit status must be 1 and stderr must carry the file, the line
and the message. The real schema must generate, and the output must be stable.
"""
import os
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get('VIREO_SOURCE_DIR',
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
GEN = os.path.join(SRC, 'qapi', 'gen.py')


def run_gen(files, main='s.json'):
    with tempfile.TemporaryDirectory() as d:
        for name, text in files.items():
            with open(os.path.join(d, name), 'w') as f:
                f.write(text)
        p = subprocess.run([sys.executable, GEN, os.path.join(d, main), '-o', d],
                           capture_output=True, text=True)
        out = {}
        for name in ('qapi-generated.h', 'qapi-generated.c'):
            path = os.path.join(d, name)
            if os.path.exists(path):
                with open(path) as f:
                    out[name] = f.read()
        return p.returncode, p.stderr.replace(d + os.sep, ''), out


class BadSchemas(unittest.TestCase):
    def bad(self, text, where, message, extra=None):
        files = {'s.json': text}
        files.update(extra or {})
        rc, err, out = run_gen(files)
        self.assertEqual(rc, 1, err)
        self.assertIn('qapi-gen: %s: ' % where, err)
        self.assertIn(message, err)
        self.assertEqual(out, {}, 'no output on error')

    def test_syntax_unterminated_string(self):
        self.bad("{ 'command': 'x' }\n{ 'struct': 'S', 'data': { 'a': 'str } }\n",
                 's.json:2', "missing terminating '")

    def test_syntax_missing_colon(self):
        self.bad("# comment\n{ 'enum' 'E' }\n", 's.json:2', "expected ':'")

    def test_syntax_trailing_garbage(self):
        self.bad("{ 'command': 'x' } 42\n", 's.json:1', "stray '4'")

    def test_top_level_not_object(self):
        self.bad("[ 'x' ]\n", 's.json:1', 'expected a top-level object')

    def test_duplicate_key(self):
        self.bad("{ 'command': 'x',\n  'command': 'y' }\n", 's.json:2', "duplicate key 'command'")

    def test_unknown_type(self):
        self.bad("{ 'struct': 'S',\n  'data': { 'a': 'Nope' } }\n", 's.json:2',
                 "member 'a' of 'S' uses unknown type 'Nope'")

    def test_unknown_return_type(self):
        self.bad("\n{ 'command': 'q', 'returns': [ 'Nope' ] }\n", 's.json:2',
                 "'returns' of command 'q' uses unknown type 'Nope'")

    def test_unknown_key(self):
        self.bad("{ 'command': 'q',\n  'retruns': 'str' }\n", 's.json:2',
                 "unknown key 'retruns' in command 'q'")

    def test_duplicate_type(self):
        self.bad("{ 'enum': 'E', 'data': [ 'a' ] }\n{ 'struct': 'E', 'data': {} }\n",
                 's.json:2', "type 'E' is already defined (first at")

    def test_builtin_redefined(self):
        self.bad("{ 'struct': 'str', 'data': {} }\n", 's.json:1',
                 "type 'str' is already defined (a builtin type)")

    def test_duplicate_command(self):
        self.bad("{ 'command': 'q' }\n{ 'command': 'q' }\n", 's.json:2',
                 "command 'q' is already defined")

    def test_duplicate_enum_value(self):
        self.bad("{ 'enum': 'E', 'data': [ 'a-b', 'a_b' ] }\n", 's.json:1',
                 "enum 'E' value 'a_b' is duplicated")

    def test_member_clash(self):
        self.bad("{ 'struct': 'S', 'data': { 'a-b': 'int',\n '*a_b': 'str' } }\n", 's.json:2',
                 "member 'a_b' of struct 'S' clashes with another member")

    def test_bad_name(self):
        self.bad("{ 'command': 'bad name' }\n", 's.json:1', "is not a valid name")

    def test_event_case(self):
        self.bad("{ 'event': 'Stop' }\n", 's.json:1', "event name 'Stop' must be in upper case")

    def test_gen_not_bool(self):
        self.bad("{ 'command': 'q',\n  'gen': 'no' }\n", 's.json:2',
                 "'gen' of command 'q' must be true or false")

    def test_boxed_needs_named_type(self):
        self.bad("{ 'command': 'q', 'boxed': true, 'data': { 'a': 'str' } }\n", 's.json:1',
                 "'data' of boxed command 'q' must name a struct or union")

    def test_union_bad_discriminator(self):
        self.bad("{ 'struct': 'A', 'data': {} }\n"
                 "{ 'union': 'U', 'base': { 'k': 'str' }, 'discriminator': 'k',\n"
                 "  'data': { 'a': 'A' } }\n", 's.json:2',
                 "discriminator 'k' of union 'U' must be a required enum member")

    def test_include_missing(self):
        self.bad("{ 'command': 'q' }\n{ 'include': 'gone.json' }\n", 's.json:2',
                 "can't read include 'gone.json'")

    def test_error_in_included_file(self):
        self.bad("{ 'include': 'sub.json' }\n", 'sub.json:3', "uses unknown type 'Nope'",
                 {'sub.json': "# sub\n\n{ 'command': 'q', 'data': { 'x': 'Nope' } }\n"})

    def test_include_cycle(self):
        self.bad("{ 'include': 'sub.json' }\n", 'sub.json:1', 'include cycle',
                 {'sub.json': "{ 'include': 's.json' }\n"})

    def test_array_of_two(self):
        self.bad("{ 'command': 'q', 'returns': [ 'str', 'int' ] }\n", 's.json:1',
                 'an array type must be [ TYPE ] with one name')


class GoodSchemas(unittest.TestCase):
    def test_small_schema(self):
        rc, err, out = run_gen({'s.json': (
            "# all the kinds\n"
            "{ 'enum': 'Color', 'data': [ 'red', 'dark-blue' ] }\n"
            "{ 'struct': 'Paint', 'data': { 'color': 'Color', '*coats': 'uint8',\n"
            "  'default': 'str', 'tags': [ 'str' ], '*shades': [ 'Color' ] } }\n"
            "{ 'command': 'paint', 'data': { 'p': 'Paint', '*dry': 'bool' },\n"
            "  'returns': [ 'Paint' ] }\n"
            "{ 'event': 'PAINTED', 'data': { 'color': 'Color' } }\n")})
        self.assertEqual(rc, 0, err)
        h, c = out['qapi-generated.h'], out['qapi-generated.c']
        self.assertIn('COLOR_DARK_BLUE,', h)
        self.assertIn('char *q_default;', h)        # C keyword gets QEMU's q_ prefix
        self.assertIn('bool has_coats;', h)
        self.assertIn('GPtrArray *qmp_paint(Machine *m, Paint *p, bool has_dry, bool dry, '
                      'GError **errp);', h)
        self.assertIn('void qapi_event_send_painted(Machine *m, Color color);', h)
        self.assertIn('"uint8_t"', c)               # range errors name the C type
        self.assertIn('{ "paint", qmp_marshal_paint },', c)

    def test_union(self):
        """A union: base members, the branch embedded as u.BRANCH; a boxed command
        takes it whole; its parser checks the members of the chosen branch."""
        rc, err, out = run_gen({'s.json': (
            "{ 'enum': 'Kind', 'data': [ 'a', 'unix' ] }\n"
            "{ 'struct': 'A', 'data': { 'x': 'int' } }\n"
            "{ 'struct': 'B', 'data': { '*y': 'str' } }\n"
            "{ 'union': 'U', 'base': { 'id': 'str', 'kind': 'Kind' },\n"
            "  'discriminator': 'kind', 'data': { 'a': 'A', 'unix': 'B' } }\n"
            "{ 'struct': 'Holder', 'data': { 'u': 'U', '*us': [ 'U' ] } }\n"
            "{ 'command': 'add', 'data': 'U', 'boxed': true }\n"
            "{ 'command': 'get', 'returns': 'Holder' }\n")})
        self.assertEqual(rc, 0, err)
        h, c = out['qapi-generated.h'], out['qapi-generated.c']
        self.assertIn('        A a;\n        B q_unix;\n    } u;', h)
        self.assertIn('KIND_UNIX,', h)                # enum constants keep their name
        self.assertIn('void qmp_add(Machine *m, U *arg, GError **errp);', h)
        self.assertIn('U *u;', h)
        self.assertIn('bool qapi_U_members_from_json(', h)
        self.assertIn('static const char *const U_known_a[] = { "id", "kind", "x", NULL };',
                      c)

    def test_real_schema_is_stable(self):
        schema = os.path.join(SRC, 'qapi', 'schema', 'vireo.json')
        outs = []
        for _ in range(2):
            with tempfile.TemporaryDirectory() as d:
                p = subprocess.run([sys.executable, GEN, schema, '-o', d],
                                   capture_output=True, text=True)
                self.assertEqual(p.returncode, 0, p.stderr)
                with open(os.path.join(d, 'qapi-generated.c')) as f:
                    outs.append(f.read())
        self.assertEqual(outs[0], outs[1])
        for cmd in ('query-status', 'qmp_capabilities', 'human-monitor-command',
                    'query-qmp-schema', 'system_powerdown'):
            self.assertIn('{ "%s", ' % cmd, outs[0])


if __name__ == '__main__':
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import taptest
    sys.exit(taptest.main())
