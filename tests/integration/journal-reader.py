#!/usr/bin/env python3
"""
tests/integration/journal-reader.py: a reader of chime journals written
from doc/journal-format.md alone, with the Python standard library only
(msgpack is decoded by hand; the LMDB file is read through `mdb_dump`).

    journal-reader.py PAGE JOURNAL_DIR[=EXPORT_FILE]...

PAGE is doc/journal-format.md: the types of the accounts and bodies of
every record kind are read from its tables ("Record kinds").  For each
journal directory (DATA/journal of a stopped daemon) it:

- reads `meta` and `log` (mdb_dump -a: one read transaction);
- decodes every record as the page says (any valid msgpack encoding,
  sizes checked against the bytes, nesting at most 32, nothing after the
  array) and verifies the chain, seq by seq, then meta's head; prints
  "ok: N records, seq 1..N, head HEX" or "bad: seq N: REASON" as
  `chime-journal verify` does;
- checks each record's account and body against the page's types;
- renders each record as the page's export format says and compares it,
  value for value and key order included, with the line of EXPORT_FILE
  (`chime-journal export`'s output) for the same seq.

With --all-kinds, every kind the page lists must occur in the journals
read.  Exit 0 when everything agrees, 1 otherwise (each disagreement on
standard error), 2 on bad usage.
"""

import base64
import hashlib
import json
import math
import re
import struct
import subprocess
import sys
import time

GENESIS = hashlib.sha256(b"chime-journal-genesis-v1").digest()
MAX_DEPTH = 32
MAX_RECORD = 16 * 1024 * 1024
JSON_KEYS = ("parameters", "result", "default_parameters", "ui",
             "batch_template")
COUNT_KEYS = ("input_tokens", "output_tokens", "by_uid", "by_pid")
INT64_MAX = 2 ** 63 - 1
INT64_MIN = -2 ** 63


class Bad(Exception):
    """A record that does not decode, or a type that does not match."""


# ---- msgpack values ------------------------------------------------------

class Str(bytes):
    """A msgpack string (its bytes; not necessarily valid UTF-8)."""


class Bin(bytes):
    """A msgpack binary."""


class Ext:
    def __init__(self, type_, data):
        self.type = type_
        self.data = data


class Map(list):
    """A msgpack map: a list of (key, value) pairs in their order."""


class Float(float):
    """A msgpack float 32 or 64 (widened)."""


def decode(buf, depth=MAX_DEPTH):
    """One msgpack value filling BUF exactly."""
    value, off = _value(buf, 0, depth)
    if off != len(buf):
        raise Bad("%d trailing bytes after the record" % (len(buf) - off))
    return value


def _take(buf, off, n):
    if n > len(buf) - off:
        raise Bad("truncated")
    return buf[off:off + n], off + n


def _uint(buf, off, n):
    b, off = _take(buf, off, n)
    return int.from_bytes(b, "big"), off


def _value(buf, off, depth):
    b, off = _take(buf, off, 1)
    t = b[0]
    if t <= 0x7f:
        return t, off
    if t >= 0xe0:
        return t - 0x100, off
    if t <= 0x8f:
        return _map(buf, off, t & 0x0f, depth)
    if t <= 0x9f:
        return _array(buf, off, t & 0x0f, depth)
    if t <= 0xbf:
        s, off = _take(buf, off, t & 0x1f)
        return Str(s), off
    if t == 0xc0:
        return None, off
    if t == 0xc1:
        raise Bad("invalid type byte 0xc1")
    if t in (0xc2, 0xc3):
        return t == 0xc3, off
    if t in (0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb):
        size = {0xc4: 1, 0xc5: 2, 0xc6: 4, 0xd9: 1, 0xda: 2, 0xdb: 4}[t]
        n, off = _uint(buf, off, size)
        s, off = _take(buf, off, n)
        return (Bin(s) if t <= 0xc6 else Str(s)), off
    if t in (0xc7, 0xc8, 0xc9):
        n, off = _uint(buf, off, {0xc7: 1, 0xc8: 2, 0xc9: 4}[t])
        ty, off = _take(buf, off, 1)
        data, off = _take(buf, off, n)
        return Ext(struct.unpack(">b", ty)[0], data), off
    if t == 0xca:
        b, off = _take(buf, off, 4)
        return Float(struct.unpack(">f", b)[0]), off
    if t == 0xcb:
        b, off = _take(buf, off, 8)
        return Float(struct.unpack(">d", b)[0]), off
    if t in (0xcc, 0xcd, 0xce, 0xcf):
        return _uint(buf, off, {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}[t])
    if t in (0xd0, 0xd1, 0xd2, 0xd3):
        size = {0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8}[t]
        b, off = _take(buf, off, size)
        return int.from_bytes(b, "big", signed=True), off
    if t in (0xd4, 0xd5, 0xd6, 0xd7, 0xd8):
        n = {0xd4: 1, 0xd5: 2, 0xd6: 4, 0xd7: 8, 0xd8: 16}[t]
        ty, off = _take(buf, off, 1)
        data, off = _take(buf, off, n)
        return Ext(struct.unpack(">b", ty)[0], data), off
    if t in (0xdc, 0xdd):
        n, off = _uint(buf, off, 2 if t == 0xdc else 4)
        return _array(buf, off, n, depth)
    n, off = _uint(buf, off, 2 if t == 0xde else 4)     # 0xde, 0xdf
    return _map(buf, off, n, depth)


def _array(buf, off, n, depth):
    if depth <= 0:
        raise Bad("nested too deep")
    if n > len(buf) - off:          # every element takes a byte at least
        raise Bad("container larger than the input")
    out = []
    for _ in range(n):
        v, off = _value(buf, off, depth - 1)
        out.append(v)
    return out, off


def _map(buf, off, n, depth):
    if depth <= 0:
        raise Bad("nested too deep")
    if 2 * n > len(buf) - off:
        raise Bad("container larger than the input")
    out = Map()
    for _ in range(n):
        if off < len(buf) and (0x80 <= buf[off] <= 0x9f or
                               buf[off] in (0xdc, 0xdd, 0xde, 0xdf)):
            raise Bad("a map key that is a map or an array")
        k, off = _value(buf, off, depth - 1)
        v, off = _value(buf, off, depth - 1)
        out.append((k, v))
    return out, off


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def record_fields(buf):
    """The six fields of a record, checked as the page says."""
    if len(buf) > MAX_RECORD:
        raise Bad("record too large")
    rec = decode(buf)
    if not isinstance(rec, list) or len(rec) != 6:
        raise Bad("not an array of 6 elements")
    version, seq, time_us, kind, account, body = rec
    if not is_int(version) or version < 0:
        raise Bad("version is not an unsigned integer")
    if version != 1:
        raise Bad("unsupported record version %d" % version)
    if not is_int(seq) or seq < 1:
        raise Bad("seq is not an integer >= 1")
    if not is_int(time_us) or not INT64_MIN <= time_us <= INT64_MAX:
        raise Bad("time_us is not a 64-bit integer")
    if (not isinstance(kind, Str) or not 1 <= len(kind) <= 255 or
            b"\0" in kind):
        raise Bad("kind is not a string of 1 to 255 bytes")
    if account is not None and (not isinstance(account, Str) or
                                not 1 <= len(account) <= 255 or
                                b"\0" in account):
        raise Bad("account is neither a string of 1 to 255 bytes nor nil")
    if not isinstance(body, Map):
        raise Bad("body is not a map")
    return seq, time_us, kind, account, body


# ---- the export format ---------------------------------------------------

class Obj(list):
    """A JSON object: (name, value) pairs in order (duplicates kept)."""


def utf8_len(b, i):
    """Length of the valid UTF-8 sequence at B[i] (RFC 3629), or 0."""
    c = b[i]
    if c < 0x80:
        return 1
    if c < 0xc2 or c > 0xf4:
        return 0
    n = 2 if c < 0xe0 else 3 if c < 0xf0 else 4
    if i + n > len(b):
        return 0
    cp = c & (0x7f >> n)
    for k in range(1, n):
        if b[i + k] & 0xc0 != 0x80:
            return 0
        cp = cp << 6 | (b[i + k] & 0x3f)
    if ((n == 3 and cp < 0x800) or (n == 4 and cp < 0x10000) or
            cp > 0x10ffff or 0xd800 <= cp <= 0xdfff):
        return 0
    return n


def text(b):
    """Bytes as text: a byte that does not begin a valid sequence is
    U+FFFD, and the next byte is looked at again."""
    out, i = [], 0
    while i < len(b):
        n = utf8_len(b, i)
        if n == 0:
            out.append("\ufffd")
            i += 1
        else:
            out.append(b[i:i + n].decode("utf-8"))
            i += n
    return "".join(out)


def fmt_float(x):
    """C's %.17g, '.0' when neither '.' nor 'e', exponent without '+' and
    leading zeros."""
    s = "%.17g" % x
    if "." not in s and "e" not in s:
        s += ".0"
    m = re.match(r"^(.*e)([+-]?)0*(\d+)$", s)
    if m:
        s = m.group(1) + ("-" if m.group(2) == "-" else "") + m.group(3)
    return s


def dumps(v):
    """Compact JSON text of an export value (a key that is not a string)."""
    if isinstance(v, Obj):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" +
                              dumps(x) for k, x in v) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dumps(x) for x in v) + "]"
    if isinstance(v, float):
        return fmt_float(v)
    return json.dumps(v, ensure_ascii=False)


def money(v):
    if not is_int(v):
        return None
    if v == -1:
        return None
    sign = "-" if v < 0 else ""
    v = abs(v)
    return "%s%d.%06d" % (sign, v // 1000000, v % 1000000)


def strict_json(b):
    """The JSON value of bytes B if they are strict JSON text, else a
    marker that they are not."""
    def no_constant(name):
        raise ValueError(name)

    def check_int(s):
        v = int(s)
        if not INT64_MIN <= v <= INT64_MAX:
            raise ValueError("integer out of range")
        return v

    def check_float(s):
        v = float(s)
        if math.isinf(v):
            raise ValueError("real out of range")
        return v

    def pairs(p):
        names = [k for k, _ in p]
        if len(set(names)) != len(names):
            raise ValueError("duplicate key")
        for k in names:
            check_str(k)
        return Obj(p)

    def check_str(s):
        if "\0" in s or any(0xd800 <= ord(c) <= 0xdfff for c in s):
            raise ValueError("NUL or surrogate")

    def walk(v):
        if isinstance(v, str):
            check_str(v)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, Obj):
            for _, x in v:
                walk(x)
    try:
        s = bytes(b).decode("utf-8")
        v = json.loads(s, object_pairs_hook=pairs, parse_constant=no_constant,
                       parse_int=check_int, parse_float=check_float)
        walk(v)
        return True, v
    except ValueError:
        return False, None


def export_value(v, key=None, in_money=False):
    """The export of one body value under the map key KEY (bytes or None)."""
    if isinstance(v, Map):
        return export_map(v, in_money)
    if isinstance(v, list):
        return [export_value(x, None, in_money) for x in v]
    if is_int(v):
        if in_money:
            return money(v)
        if key is not None and key.decode("utf-8", "replace") in COUNT_KEYS \
                and v == -1:
            return None
        return v if v <= INT64_MAX else str(v)
    if isinstance(v, Str):
        if key is not None and bytes(key) in [k.encode() for k in JSON_KEYS]:
            ok, j = strict_json(v)
            if ok:
                return j
        return text(v)
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, Float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return float(v)
    if isinstance(v, Bin):
        return base64.b64encode(v).decode()
    if isinstance(v, Ext):
        return Obj([("ext", v.type), ("data",
                                      base64.b64encode(v.data).decode())])
    raise Bad("unknown value")


def key_name(k):
    """(name, is money) of map key K in the export."""
    if isinstance(k, Str):
        name = text(k)
        if len(name) > 6 and name.endswith("_micro"):
            return name[:-6] + "_usd", True
        return name, False
    v = export_value(k)
    return (v if isinstance(v, str) else dumps(v)), False


def export_map(m, in_money):
    out, seen = Obj(), set()
    for k, v in m:
        name, micro = key_name(k)
        if name in seen:
            raise Bad("duplicate map key \"%s\"" % name[:64])
        seen.add(name)
        out.append((name, export_value(v, k if isinstance(k, Str) else None,
                                       in_money or micro)))
    return out


def export_line(seq, time_us, kind, account, body, stored):
    sec, us = divmod(time_us, 1000000)
    tm = time.gmtime(sec)
    when = "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        us // 1000)
    return Obj([("seq", seq), ("time", when), ("time_us", time_us),
                ("kind", text(kind)),
                ("account", None if account is None else text(account)),
                ("body", export_value(body)), ("hash", stored.hex())])


# ---- the page's types ----------------------------------------------------

def parse_type(s):
    """A type of the page's grammar as a tree: ('alt', [...]) of
    ('name', n) | ('lit', s) | ('array', t) | ('map', name) |
    ('dict', t)."""
    toks = re.findall(r'"[^"]*"|\[|\]|\{|\}|\||:|[A-Za-z_][A-Za-z_ ]*', s)
    if "".join(toks).replace(" ", "") != s.replace(" ", ""):
        raise ValueError("bad type %r" % s)
    toks = [t.strip() if not t.startswith('"') else t for t in toks]
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else None

    def take(want=None):
        t = peek()
        if t is None or (want is not None and t != want):
            raise ValueError("bad type %r" % s)
        pos[0] += 1
        return t

    def alt():
        out = [one()]
        while peek() == "|":
            take("|")
            out.append(one())
        return ("alt", out)

    def one():
        t = take()
        if t.startswith('"'):
            return ("lit", t[1:-1])
        if t == "[":
            inner = alt()
            take("]")
            return ("array", inner)
        if t == "{":
            name = take()
            if peek() == ":":
                if name != "str":
                    raise ValueError("bad type %r" % s)
                take(":")
                inner = alt()
                take("}")
                return ("dict", inner)
            take("}")
            return ("map", name)
        return ("name", t)
    tree = alt()
    if peek() is not None:
        raise ValueError("bad type %r" % s)
    return tree


def code_spans(cell):
    return re.findall(r"`([^`]*)`", cell.replace("\\|", "|"))


def split_row(line):
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [c.strip() for c in cells]


def read_page(path):
    """(kinds, maps): kind -> (account type, body type); map name ->
    [(key, type, optional)]."""
    lines = open(path, encoding="utf-8").read().split("\n")
    kinds, maps, section, cur = {}, {}, None, None
    for line in lines:
        m = re.match(r"^###? (.*)", line)
        if m:
            title = m.group(1).strip()
            section = title
            mm = re.match(r"^The (.+) map$", title)
            cur = mm.group(1) if mm else None
            if cur is not None and section.startswith("The "):
                maps.setdefault(cur, [])
            continue
        if not line.startswith("|") or re.match(r"^\|\s*-", line):
            continue
        cells = split_row(line)
        if section == "The kinds" and len(cells) == 5 and \
                cells[0] != "kind":
            names = code_spans(cells[0])
            acct, body = code_spans(cells[1])[0], code_spans(cells[3])[0]
            for n in names:
                kinds[n] = (parse_type(acct), parse_type(body))
        elif cur is not None and len(cells) == 3 and cells[0] != "key":
            key = code_spans(cells[0])[0]
            optional = "(optional)" in cells[0]
            maps[cur].append((key, parse_type(code_spans(cells[1])[0]),
                              optional))
    return kinds, maps


class Types:
    def __init__(self, maps):
        self.maps = maps

    def rows(self, name):
        if name not in self.maps:
            raise Bad("the page has no map %r" % name)
        out = []
        for key, ty, opt in self.maps[name]:
            if key == "*":
                out.extend(self.rows(ty[1][0][1]))
            else:
                out.append((key, ty, opt))
        return out

    def check(self, v, ty, where):
        """Raise Bad unless V has type TY."""
        errors = []
        for alt in ty[1]:
            try:
                self.one(v, alt, where)
                return
            except Bad as e:
                errors.append(str(e))
        raise Bad(min(errors, key=len) if len(errors) == 1 else
                  "%s: none of the types fits (%s)" % (where,
                                                      "; ".join(errors)))

    def one(self, v, t, where):
        kind = t[0]
        if kind == "lit":
            if not (isinstance(v, Str) and bytes(v) == t[1].encode()):
                raise Bad("%s: not \"%s\"" % (where, t[1]))
        elif kind == "array":
            if not isinstance(v, list):
                raise Bad("%s: not an array" % where)
            for i, x in enumerate(v):
                self.check(x, t[1], "%s[%d]" % (where, i))
        elif kind == "dict":
            if not isinstance(v, Map):
                raise Bad("%s: not a map" % where)
            for k, x in v:
                if not isinstance(k, Str):
                    raise Bad("%s: a key that is not a string" % where)
                self.check(x, t[1], "%s.%s" % (where, text(k)))
        elif kind == "map":
            self.map(v, t[1], where)
        else:
            self.name(v, t[1], where)

    def map(self, v, name, where):
        if not isinstance(v, Map):
            raise Bad("%s: not a map (%s)" % (where, name))
        have = {}
        for k, x in v:
            if not isinstance(k, Str):
                raise Bad("%s: a key that is not a string" % where)
            have[text(k)] = x
        rows = self.rows(name)
        known = set(k for k, _, _ in rows)
        for k in have:
            if k not in known:
                raise Bad("%s: key %r is not in the %s map" % (where, k,
                                                               name))
        for key, ty, opt in rows:
            if key not in have:
                if not opt:
                    raise Bad("%s: key %r of the %s map is missing" % (
                        where, key, name))
                continue
            self.check(have[key], ty, "%s.%s" % (where, key))

    def name(self, v, n, where):
        ok = {
            "nil": lambda: v is None,
            "bool": lambda: isinstance(v, bool),
            "int": lambda: is_int(v),
            "uint": lambda: is_int(v) and v >= 0,
            "float": lambda: isinstance(v, Float),
            "bin": lambda: isinstance(v, Bin),
            "any": lambda: True,
            "str": lambda: isinstance(v, Str),
            "json": lambda: isinstance(v, Str) and strict_json(v)[0],
        }
        if n not in ok:
            raise Bad("%s: the page's type %r is unknown" % (where, n))
        if not ok[n]():
            raise Bad("%s: not %s (%r)" % (where, n, v))


# ---- the journal ---------------------------------------------------------

def mdb_dump(journal_dir):
    """Every database of the environment, in one read transaction:
    name -> [(key, value)]."""
    out = subprocess.run(["mdb_dump", "-a", journal_dir],
                         stdout=subprocess.PIPE, check=True).stdout
    dbs, name, rows, data, pend = {}, None, None, False, None
    for line in out.decode("ascii").split("\n"):
        if line.startswith("database="):
            name, rows = line[len("database="):], []
        elif line == "HEADER=END":
            data, pend = True, None
        elif line == "DATA=END":
            dbs[name], data = rows, False
        elif data and line.startswith(" "):
            b = bytes.fromhex(line[1:])
            if pend is None:
                pend = b
            else:
                rows.append((pend, b))
                pend = None
    return dbs


def verify(dbs):
    """Walk the log as the page's "Verifying a journal" says.  Returns
    (verdict line, [(seq, fields, stored hash)] of the records read)."""
    meta = dict(dbs.get("meta", []))
    if struct.unpack(">Q", meta[b"format"])[0] != 1:
        return "bad: format is not 1", []
    prev, expect, last_time, records = GENESIS, 1, None, []
    if b"anchor_seq" in meta:           # an archived prefix
        prev = meta[b"anchor_hash"]
        expect = struct.unpack(">Q", meta[b"anchor_seq"])[0] + 1
    first = expect
    for key, value in dbs.get("log", []):
        seq = struct.unpack(">Q", key)[0] if len(key) == 8 else -1
        if seq != expect:
            return ("bad: seq %d: missing (the next record in the log is "
                    "seq %d)" % (expect, seq)), records
        if len(value) < 32:
            return "bad: seq %d: value shorter than a hash" % seq, records
        stored, rec = value[:32], value[32:]
        try:
            fields = record_fields(rec)
            if fields[0] != seq:
                return "bad: seq %d: record says seq %d" % (
                    seq, fields[0]), records
            export_value(fields[4])     # duplicate keys
        except Bad as e:
            return "bad: seq %d: record: %s" % (seq, e), records
        if last_time is not None and fields[1] < last_time:
            return ("bad: seq %d: time_us %d is before the previous "
                    "record's %d" % (seq, fields[1], last_time)), records
        computed = hashlib.sha256(prev + rec).digest()
        if computed != stored:
            return "bad: seq %d: hash mismatch: stored %s, computed %s" % (
                seq, stored.hex(), computed.hex()), records
        records.append((seq, fields, stored))
        prev, expect, last_time = stored, expect + 1, fields[1]
    head_seq = struct.unpack(">Q", meta[b"head_seq"])[0]
    last = expect - 1
    if head_seq > last:
        return "bad: seq %d: missing (meta's head is seq %d)" % (
            last + 1, head_seq), records
    if head_seq < last:
        return "bad: seq %d: after meta's head (seq %d)" % (
            head_seq + 1, head_seq), records
    if meta[b"head_hash"] != prev:
        return "bad: seq %d: meta's head_hash differs" % max(last, 1), \
            records
    if last == 0:
        return "ok: 0 records, head %s" % prev.hex(), records
    return "ok: %d records, seq %d..%d, head %s" % (
        last - first + 1, first, last, prev.hex()), records


def same(a, b):
    """Equal export values, key order included."""
    if isinstance(a, Obj) or isinstance(b, Obj):
        return (isinstance(a, Obj) and isinstance(b, Obj) and
                len(a) == len(b) and
                all(ka == kb and same(va, vb)
                    for (ka, va), (kb, vb) in zip(a, b)))
    if isinstance(a, list) or isinstance(b, list):
        return (isinstance(a, list) and isinstance(b, list) and
                len(a) == len(b) and all(same(x, y) for x, y in zip(a, b)))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return type(a) == type(b) and a == b


def main(argv):
    all_kinds = "--all-kinds" in argv
    args = [a for a in argv[1:] if a != "--all-kinds"]
    if len(args) < 2:
        sys.stderr.write(__doc__)
        return 2
    kinds, maps = read_page(args[0])
    types = Types(maps)
    failed, seen = 0, set()

    def fail(msg):
        nonlocal failed
        failed += 1
        sys.stderr.write("journal-reader: %s\n" % msg)

    for arg in args[1:]:
        journal_dir, _, export = arg.partition("=")
        verdict, records = verify(mdb_dump(journal_dir))
        print("%s: %s" % (journal_dir, verdict))
        if not verdict.startswith("ok"):
            fail("%s: %s" % (journal_dir, verdict))
        lines = []
        if export:
            with open(export, encoding="utf-8") as f:
                lines = [json.loads(x, object_pairs_hook=Obj) for x in f]
            if len(lines) != len(records):
                fail("%s: %d records, the export has %d lines" % (
                    journal_dir, len(records), len(lines)))
        for i, (seq, (_, time_us, kind, account, body), stored) in \
                enumerate(records):
            name = text(kind)
            seen.add(name)
            where = "%s seq %d (%s)" % (journal_dir, seq, name)
            if name not in kinds:
                fail("%s: the page does not list this kind" % where)
            else:
                acct_t, body_t = kinds[name]
                try:
                    types.check(account, acct_t, "account")
                    types.check(body, body_t, "body")
                except Bad as e:
                    fail("%s: %s" % (where, e))
            if i < len(lines):
                mine = export_line(seq, time_us, kind, account, body, stored)
                if not same(mine, lines[i]):
                    fail("%s: the export differs:\n  page:   %s\n  "
                         "export: %s" % (where, dumps(mine),
                                         dumps(lines[i])))
    if all_kinds:
        for k in sorted(set(kinds) - seen):
            fail("no record of kind %s was read" % k)
    print("kinds read: %d of the page's %d" % (len(seen & set(kinds)),
                                               len(kinds)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
