#!/usr/bin/env python3
"""Writes the .hex cases of the conformance suite (tests/verifier/*/*.hex).

Raw bytes are the one way to write a module the text form can't express: a bad magic, a truncation, an
overlong uleb, invalid UTF-8. Most cases here are one base module (valid/complete_module_as_bytes.hex) with one
field changed or cut off, so when the module format changes, change BASE (and the cases that name its fields)
and run this script again: `python3 tests/verifier/make_hex_cases.py`. Each case is written with its header
(expect, rule, what it is) and one annotated line per field.
"""
import os

root = os.path.dirname(os.path.abspath(__file__))
cases = {}



def uleb(n):
    """The unsigned LEB128 encoding of n."""
    out = []
    while True:
        b = n & 0x7f
        n >>= 7
        if n == 0:
            return out + [b]
        out.append(b | 0x80)


def h(bs):
    return ' '.join(f'{b:02x}' for b in bs)


def s(text):
    """A string field: its uleb length, then its UTF-8 bytes."""
    b = text.encode()
    return uleb(len(b)) + list(b)

# The base module: every section non-empty; main prints "hi". Each field: hex, comment, the field's name (None
# for a line that is part of the field before it; truncations cut after named fields only).
BASE = [
    ('48 4c 56 4d', 'magic "HLVM"', 'magic'),
    ('01 00', 'version 1', 'version'),
    ('00 00', 'flags', 'flags'),
    (h(s('m')), 'module name "m"', 'module name'),
    (h(s('m.hl')), 'source file "m.hl"', 'source file name'),
    ('01 ' + h(s('hi')), '1 string constant: "hi"', 'string constants'),
    ('00', 'no classes', 'classes'),
    ('01 05 01', '1 type: [int]', 'types'),
    ('01 ' + h(s('println')) + ' 01 04 00', '1 native: println(string) -> void', 'native imports'),
    ('01', '1 function', 'function count'),
    (h(s('main')), '  name "main"', 'function name'),
    ('00', '  no parameters', 'parameters'),
    ('00', '  returns void', 'return type'),
    ('01 01', '  1 local: int', 'locals'),
    ('01', '  max stack 1', 'max stack'),
    ('0b', '  11 bytes of code:', 'code length'),
    ('04 00 00 00 00', '    sconst 0', None),
    ('37 00 00 00 00', '    callnative 0', None),
    ('39', '    retvoid', 'code'),
    ('01 00 01', '  1 line entry: offset 0, line 1', 'line table'),
    ('00', '  no exception handlers', 'exception handlers'),
    ('01', 'entry: function 0', 'entry'),
]

def case(name, expect, rules, about, fields, extra=()):
    """Records a case: its header, then one line per field (hex, padded, then the field's comment)."""
    rules = [rules] if isinstance(rules, str) else rules
    lines = [f'; expect: {expect}'] + list(extra) + [f'; rule: {r}' for r in rules] + [f'; {l}' for l in about.split('\n')]
    width = max([len(f[0]) for f in fields if len(f[0]) < 60] + [20]) + 2
    for hexs, comment, *_ in fields:
        lines.append(hexs.ljust(width) + ('; ' + comment if comment else ''))
    cases[name] = '\n'.join(lines).rstrip() + '\n'

def replace(field_name, hexs, comment, fields=BASE):
    """The fields with one of them replaced."""
    return [(hexs, comment, field_name) if f[2] == field_name else f for f in fields]

M = 'malformed/'
case('valid/complete_module_as_bytes.hex', 'valid', ['format.truncated'],
     'The base module of the malformed .hex cases, whole: it reads, verifies and prints "hi".',
     BASE, extra=['; expect-output: hi'])

# ---- truncation at every section and field boundary: the reason the reader must give for a file cut off right
# after each field. Inside the functions, a count check can come first: the function count promises at least 6
# bytes per function, and a code length its bytes.
TRUNCATED = {
    'magic': 'truncated',
    'version': 'truncated',
    'flags': 'truncated while reading module name',
    'module name': 'truncated while reading source file name',
    'source file name': 'truncated while reading string constants',
    'string constants': 'truncated while reading classes',
    'classes': 'truncated while reading types',
    'types': 'truncated while reading native imports',
    'native imports': 'truncated while reading functions',
    'function count': '1 functions cannot fit in the 0 bytes that remain',
    'function name': '1 functions cannot fit in the 5 bytes that remain',
    'parameters': 'truncated',
    'return type': 'truncated while reading locals',
    'locals': 'truncated while reading max stack',
    'max stack': 'truncated while reading code bytes',
    'code length': '11 code bytes cannot fit in the 0 bytes that remain',
    'code': 'truncated while reading line entries',
    'line table': 'truncated while reading exception handlers',
    'exception handlers': 'truncated while reading entry function',
}
for i, field in enumerate(BASE[:-1]):
    after = field[2]
    if after is None:
        continue
    reason = TRUNCATED[after]
    rules = ['format.truncated'] + (['format.count'] if 'cannot fit' in reason else [])
    case(M + 'truncated_after_' + after.replace(' ', '_') + '.hex', f'malformed {reason}', rules,
         f'The base module (valid/complete_module_as_bytes.hex) cut off right after its {after}.',
         BASE[:i + 1])

case(M+'empty_file.hex', 'malformed bad magic', 'format.magic', 'A file of no bytes at all.', [])
case(M+'bad_magic.hex', 'malformed bad magic', 'format.magic', 'The base module with "HLVX" for its magic.',
     replace('magic', '48 4c 56 58', 'magic "HLVX"'))
case(M+'bad_magic_lowercase.hex', 'malformed bad magic', 'format.magic', 'The magic is case-sensitive: "hlvm" is not "HLVM".',
     replace('magic', '68 6c 76 6d', 'magic "hlvm"'))
case(M+'short_magic.hex', 'malformed bad magic', 'format.magic', 'Three bytes of the magic and nothing more.', [('48 4c 56', '"HLV"', 'magic')])
case(M+'version_2.hex', 'malformed unsupported module format version 2', 'format.version', 'The base module claiming format version 2.',
     replace('version', '02 00', 'version 2'))
case(M+'version_0.hex', 'malformed unsupported module format version 0', 'format.version', 'Format version 0.',
     replace('version', '00 00', 'version 0'))
case(M+'version_big_endian.hex', 'malformed unsupported module format version 256', 'format.version', 'Version 1 written big-endian reads as 256.',
     replace('version', '00 01', 'version 1, big-endian'))
case(M+'flags_set.hex', 'malformed unknown module flags 0x0002', 'format.flags', 'A module flag this runtime does not know.',
     replace('flags', '02 00', 'flags 2'))
case(M+'function_sources_missing.hex', 'malformed truncated', 'format.flags',
     'Flag 1 announces a table of function sources after the entry, but the file ends there.',
     replace('flags', '01 00', 'flags 1: function sources follow'))
case(M+'flags_high_bit.hex', 'malformed unknown module flags 0x8000', 'format.flags', 'The highest flag bit.',
     replace('flags', '00 80', 'flags 0x8000'))
case(M+'trailing_byte.hex', 'malformed 1 unexpected bytes after the end of the module', 'format.trailing',
     'One byte after the entry field.', BASE + [('00', 'one byte too many', None)])
case(M+'trailing_module.hex', 'malformed unexpected bytes after the end of the module', 'format.trailing',
     'A second module appended to the first.', BASE + [(' '.join(f[0] for f in BASE), 'the same module again', None)])

# ---- counts and lengths past the end, absurdly large, or not 32-bit
case(M+'string_count_past_end.hex', 'malformed 100 string constants cannot fit in the', 'format.count',
     'A string count of 100 with far fewer bytes left.', replace('string constants', '64 ' + h(s('hi')), '100 string constants, then one'))
case(M+'string_count_absurd.hex', 'malformed 2147483647 string constants cannot fit', 'format.count',
     'The largest count a uleb may hold, for the string constants.', replace('string constants', 'ff ff ff ff 07 ' + h(s('hi')), '2147483647 string constants'))
case(M+'type_count_past_end.hex', 'malformed types cannot fit', 'format.count',
     'A type count past the end.', replace('types', '7f 05 01', '127 types'))
case(M+'native_count_past_end.hex', 'malformed native imports cannot fit', 'format.count',
     'A native import count past the end.', replace('native imports', 'ff ff 03 ' + h(s('println')) + ' 01 04 00', '65535 native imports'))
case(M+'function_count_absurd.hex', 'malformed 2147483647 functions cannot fit', 'format.count',
     'The largest count for the functions.', replace('function count', 'ff ff ff ff 07', '2147483647 functions'))
case(M+'parameter_count_past_end.hex', 'malformed parameters cannot fit', 'format.count',
     'A parameter count past the end.', replace('parameters', 'ff 7f', '16383 parameters'))
case(M+'native_parameter_count_past_end.hex', 'malformed native parameters cannot fit', 'format.count',
     'A native\'s parameter count past the end.', replace('native imports', '01 ' + h(s('println')) + ' ff ff 7f 04 00', '1 native: println with 2097151 parameters'))
case(M+'local_count_past_end.hex', 'malformed locals cannot fit', 'format.count',
     'A local count past the end.', replace('locals', 'ff ff 01 01', '32767 locals, then one int'))
case(M+'code_length_past_end.hex', 'malformed 200 code bytes cannot fit', 'format.count',
     'A code length of 200 with 11 bytes of code.', replace('code length', 'c8 01', '200 bytes of code:'))
case(M+'code_length_absurd.hex', 'malformed 2147483647 code bytes cannot fit', 'format.count',
     'The largest code length a uleb may hold.', replace('code length', 'ff ff ff ff 07', '2147483647 bytes of code:'))
case(M+'line_count_past_end.hex', 'malformed line entries cannot fit', 'format.count',
     'A line count past the end.', replace('line table', '40 00 01', '64 line entries'))
case(M+'module_name_past_end.hex', 'malformed module name of 127 bytes cannot fit', 'format.count',
     'A module name longer than the file.', replace('module name', '7f 6d', 'module name of 127 bytes'))
case(M+'string_length_absurd.hex', 'malformed string constant of 2147483647 bytes cannot fit', 'format.count',
     'A string constant of 2^31-1 bytes.', replace('string constants', '01 ff ff ff ff 07 68 69', '1 string constant of 2147483647 bytes'))
case(M+'uleb_too_large.hex', 'malformed string constants 4294967295 is too large', 'format.uleb',
     'A uleb of 2^32-1: 32 bits, but past 2^31-1.', replace('string constants', 'ff ff ff ff 0f', '4294967295 string constants'))
case(M+'uleb_2_pow_31.hex', 'malformed functions 2147483648 is too large', 'format.uleb',
     'A uleb of exactly 2^31.', replace('function count', '80 80 80 80 08', '2147483648 functions'))
case(M+'uleb_33_bits.hex', 'malformed types does not fit in 32 bits', 'format.uleb',
     'A uleb whose fifth byte carries a 33rd bit.', replace('types', 'ff ff ff ff 1f', 'a type count of 2^33-1'))
case(M+'uleb_six_bytes.hex', 'malformed max stack does not fit in 32 bits', 'format.uleb',
     'A uleb of six bytes: the fifth still has its continuation bit.', replace('max stack', '81 80 80 80 80 00', 'max stack 1, in six bytes'))
case(M+'uleb_unfinished.hex', 'malformed truncated while reading entry function', ['format.uleb', 'format.truncated'],
     'The file ends inside a uleb: its last byte has the continuation bit.', BASE[:-1] + [('81', 'entry, continued...', None)])

# ---- types
case(M+'unknown_type_kind.hex', 'malformed unknown type kind 10', 'format.type-kind',
     'Type kind 10 does not exist (0..6 and 8 do; 7, the null type, is never encoded).', replace('types', '01 0a', '1 type: kind 10'))
case(M+'unknown_type_kind_255.hex', 'malformed unknown type kind 127', 'format.type-kind',
     'Type kind 255, as a parameter.', replace('parameters', '01 ff', '1 parameter of kind 255'))
case(M+'unknown_element_kind.hex', 'malformed unknown type kind 10', 'format.type-kind',
     'An array whose element kind is unknown.', replace('types', '01 05 05 0a', '1 type: [[kind 10]]'))
case(M+'array_of_void_in_native.hex', 'malformed array of void', 'format.array-of-void',
     'A native returning [void].', replace('native imports', '01 ' + h(s('println')) + ' 01 04 05 00', '1 native: println(string) -> [void]'))
case(M+'array_nesting_40.hex', 'malformed type nested deeper than 32', 'format.type-depth',
     'A type table entry nested 40 deep.', replace('types', '01 05*40 01', '1 type: 40 nested arrays of int'))
case(M+'array_nesting_unbounded.hex', 'malformed type nested deeper than 32', 'format.type-depth',
     'A type of 100000 array kinds and no end: the reader must stop at depth 32, not recurse.', replace('types', '01 05*100000', '1 type: array of array of ...'))
case(M+'void_parameter.hex', "malformed function 'main' has a local or parameter of type void", 'format.void-local',
     'A void parameter.', replace('parameters', '01 00', '1 parameter: void'))

# ---- strings
for field, what, bad, about in [
    ('module name', 'module name', 'c0 80', 'an overlong encoding of NUL (C0 80)'),
    ('source file name', 'source file name', '6d 80', 'a continuation byte with no lead byte'),
    ('string constants', 'string constant', 'ed a0 bd ed b8 80', 'the pair U+D83D U+DE00 spelt as two surrogates (ED A0 BD ED B8 80), which WTF-8 spells only as its code point, F0 9F 98 80'),
    ('native imports', 'native name', 'e2 82', 'a three-byte sequence cut after two bytes'),
    ('function name', 'function name', 'ff', 'the byte FF, which never occurs in UTF-8'),
]:
    bs = [int(x, 16) for x in bad.split()]
    if field == 'string constants': hexs = '01 ' + h(uleb(len(bs)) + bs)
    elif field == 'native imports': hexs = '01 ' + h(uleb(len(bs)) + bs) + ' 01 04 00'
    else: hexs = h(uleb(len(bs)) + bs)
    case(M + 'invalid_utf8_' + what.replace(' ', '_') + '.hex', f'malformed {what} is not valid UTF-8', 'format.utf8',
         f'The {what} holds {about}.', replace(field, hexs, f'{what}: {bad}'))
case(M+'invalid_utf8_code_point_past_10ffff.hex', 'malformed string constant is not valid UTF-8', 'format.utf8',
     'F4 90 80 80 would be U+110000, past the last code point.', replace('string constants', '01 04 f4 90 80 80', '1 string constant: F4 90 80 80'))

# ---- functions
case(M+'locals_past_limit.hex', "malformed function 'main' has 65537 locals (at most 65536)", 'format.locals-limit',
     '65537 locals, one past the limit.', replace('locals', '81 80 04 01*65537', '65537 locals, all int'))
case(M+'locals_past_limit_with_parameters.hex', "malformed function 'main' has 65537 locals (at most 65536)", 'format.locals-limit',
     'One parameter and 65536 locals: the limit counts both.',
     replace('locals', '80 80 04 01*65536', '65536 locals, all int', replace('parameters', '01 01', '1 parameter: int')))
case(M+'code_past_limit.hex', "malformed function 'main' has 16777217 bytes of code (at most 16777216)", 'format.code-limit',
     'One byte more than 16 MiB of code (all nop).',
     [f for f in replace('code', '00*16777217', '16777217 nops', replace('code length', '81 80 80 08', '16777217 bytes of code:'))
      if f[2] is not None])
case(M+'line_table_past_code.hex', "malformed line table of 'main' points past its code", 'format.line-table',
     'A line entry at offset 12 of 11 bytes of code.', replace('line table', '01 0c 01', '1 line entry: offset 12, line 1'))
case(M+'line_table_offset_overflow.hex', "malformed line table of 'main' points past its code", 'format.line-table',
     'Two line entries whose offset deltas add up past 2^31 (1 + 2147483647): the sum must not wrap\naround to a negative offset that looks in range.',
     replace('line table', '02 01 01 ff ff ff ff 07 02', '2 line entries: +1 line 1, +2147483647 line 2'))
case(M+'line_table_far_past_code.hex', "malformed line table of 'main' points past its code", 'format.line-table',
     'A line entry at offset 2^31-1.', replace('line table', '01 ff ff ff ff 07 01', '1 line entry: offset 2147483647'))
case(M+'entry_past_functions.hex', 'malformed entry function index 1 is out of range (1 functions)', 'format.entry',
     'The entry field says function 1 (it holds the index + 1) of one function.', replace('entry', '02', 'entry: function 1'))

# ---- valid edges that need many bytes
V = 'valid/'
case(V+'locals_at_limit.hex', 'valid', ['format.locals-limit', 'decode.local'],
     'A function with 65536 locals, the limit; it writes and reads the last one, local 65535.',
     [f for f in BASE if f[2] in ('magic', 'version', 'flags')] + [
      ('00', 'module name ""', None), ('00', 'source ""', None), ('00', 'no strings', None), ('00', 'no classes', None), ('00', 'no types', None), ('00', 'no natives', None),
      ('01', '1 function', None), (h(s('main')), '  name "main"', None), ('00', '  no parameters', None), ('01', '  returns int', None),
      ('80 80 04 01*65536', '  65536 locals, all int', None), ('01', '  max stack 1', None), ('10', '  16 bytes of code:', None),
      ('01 07 00 00 00 00 00 00 00', '    iconst 7', None), ('06 ff ff', '    store 65535', None), ('05 ff ff', '    load 65535', None), ('38', '    ret', None),
      ('00', '  no line entries', None), ('00', '  no exception handlers', None), ('01', 'entry: function 0', None)], extra=['; expect-result: 7'])
case(V+'newarray_of_65536_elements.hex', 'valid', ['decode.count', 'stack.overflow', 'format.max-stack-limit'],
     'An array literal of 65536 elements, the most newarray takes: the stack reaches 65536, the largest\nmax stack the format allows, and newarray pops them all.',
     [f for f in BASE if f[2] in ('magic', 'version', 'flags')] + [
      ('00', 'module name ""', None), ('00', 'source ""', None), ('00', 'no strings', None), ('00', 'no classes', None), ('01 05 01', '1 type: [int]', None), ('00', 'no natives', None),
      ('01', '1 function', None), (h(s('main')), '  name "main"', None), ('00', '  no parameters', None), ('01', '  returns int', None),
      ('00', '  no locals', None), ('80 80 04', '  max stack 65536', None), (h(uleb(9 + 65535 + 9 + 2)), f'  {9 + 65535 + 9 + 2} bytes of code:', None),
      ('01 03 00 00 00 00 00 00 00', '    iconst 3', None), ('08*65535', '    dup, 65535 times', None),
      ('3a 00 00 00 00 00 00 01 00', '    newarray 0 65536', None), ('3d', '    alen', None), ('38', '    ret', None),
      ('00', '  no line entries', None), ('00', '  no exception handlers', None), ('01', 'entry: function 0', None)], extra=['; expect-result: 65536'])

for path, text in cases.items():
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    open(full, 'w').write(text)
print(f'wrote {len(cases)} cases')
