"""Write the native decoder's tables from the wire format declared in ``events.py``.

The event classes in ``stream/contracts/events.py`` are the one declaration of
the wire format: kinds, their fields, each field's type and bounds, which are
required, and the order msgspec's encoder writes them in. The native decoder
(``stream/fold/native/parse_impl.hpp``) reads the same format in C++; what it
must know of it is generated from those classes by this module, as the JSON
Schema is (and the decoder's size bound, from ``decode.py``), into two headers:

* ``event_kinds.hpp`` — the kinds and agent states as enums, with their names;
* ``parse_tables.hpp`` — one bit per field name, each kind's allowed,
  required and non-null fields, the key, kind and state matchers, how each
  field's value is read and where it goes, and each kind's members in
  msgspec's order (the decoder's fast path).

Regenerate after changing ``events.py``::

    python -m stream.contracts.native_tables        # writes both headers
    python -m stream.contracts.native_tables --check  # exit 1 if they differ

``tests/contracts/test_native_tables.py`` fails when the headers on disk are
not what this writes. A field whose type the decoder has no reader for stops
the generator with a message naming it (add the reader to ``parse_impl.hpp``
and its case to ``_reader`` below).
"""

from __future__ import annotations

import argparse
import sys
import typing
from dataclasses import dataclass
from pathlib import Path

import msgspec
from msgspec import inspect as mi

from stream.contracts import events as E
from stream.contracts.decode import MAX_EVENT_BYTES

NATIVE_DIR = Path(__file__).resolve().parents[1] / "fold" / "native"
KINDS_HEADER = "event_kinds.hpp"
TABLES_HEADER = "parse_tables.hpp"

# Where each wire field lands in the decoder's ParsedEv (event.hpp). Contact
# ids share one slot, as do a queue and the queue transferred to: no kind has both.
_SLOT = {"ticket": "cid", "call": "cid", "to_queue": "queue"}
_PARSED_EV_SLOTS = {
    "id", "site", "cid", "queue", "agent", "counter", "reason", "caller",
    "ts", "priority", "vip", "wrap_up", "state", "queues",
}  # fmt: skip
_ENVELOPE = ("id", "ts", "site")
_TAG = "kind"


class GenerationError(Exception):
    """events.py declares something the native decoder cannot read; the message says what."""


@dataclass(frozen=True)
class Reader:
    """How the decoder reads one field's value: a call (``{slot}`` and ``{ev}`` filled in)."""

    code: str  # C++ expression returning the pointer past the value, or nullptr
    nullable: bool  # JSON null accepted (the slot stays absent)
    plain_id: bool  # a non-null Id: its member's text ends with the value's opening quote


def _strip_none(t: mi.Type) -> tuple[mi.Type, bool]:
    if isinstance(t, mi.UnionType):
        rest = [u for u in t.types if not isinstance(u, mi.NoneType)]
        if len(rest) == 1 and len(rest) < len(t.types):
            return rest[0], True
    return t, False


def _reader(kind: str, name: str, t: mi.Type) -> Reader:
    """The reader of field ``name`` of type ``t``; GenerationError for a type with none."""
    base, nullable = _strip_none(t)
    where = f"{kind}.{name}"
    if isinstance(base, mi.StrType):
        lo, hi = base.min_length or 0, base.max_length
        if hi is None:
            raise GenerationError(f"{where}: a string needs a max_length (the decoder counts code points up to it)")
        if base.pattern is not None:
            if base.pattern != E.CALLER_PATTERN or lo != 0 or not nullable:
                raise GenerationError(f"{where}: the decoder knows only CALLER_PATTERN (caller_ok), nullable, no minimum")
            return Reader(f"caller_value(p, end, ev.{{slot}}, {hi})", True, False)
        if nullable:
            return Reader(f"opt_str_value(p, end, ev.{{slot}}, {lo}, {hi})", True, False)
        return Reader(f"str_value(p, end, ev.{{slot}}, {lo}, {hi})", False, lo >= 1)
    if isinstance(base, mi.BoolType) and not nullable:
        return Reader("bool_value(p, end, ev.{slot})", False, False)
    if isinstance(base, mi.IntType) and not nullable:
        if base.ge != 0 or base.le is None or base.le > 9 or base.gt is not None or base.lt is not None:
            raise GenerationError(f"{where}: the decoder reads small integers as one digit 0..9 (ge=0, le<=9)")
        return Reader(f"digit_value(p, end, ev.{{slot}}, {base.le})", False, False)
    if isinstance(base, mi.UnionType) and not nullable:
        parts = sorted(type(u).__name__ for u in base.types)
        ints = [u for u in base.types if isinstance(u, mi.IntType)]
        if parts == ["DateTimeType", "IntType"] and ints[0].ge == 0 and ints[0].le is not None:
            return Reader(f"ts_value(p, end, ev.{{slot}}, {ints[0].le}ULL)", False, False)
    if isinstance(base, mi.LiteralType) and not nullable:
        if name != "state" or set(base.values) != set(typing.get_args(E.AgentStateName)):
            raise GenerationError(f"{where}: the decoder matches one enumeration, the agent state")
        return Reader(f"{name}_value(p, end, ev.{{slot}})", False, False)
    if isinstance(base, mi.ListType) and nullable:
        item = base.item_type
        if isinstance(item, mi.StrType) and item.pattern is None and item.max_length is not None and base.max_length is None:
            return Reader(f"queues_value(p, end, ev, queues, {item.min_length or 0}, {item.max_length})", True, False)
    raise GenerationError(f"{where}: the native decoder has no reader for {t!r}")


@dataclass
class WireFormat:
    kinds: list[str]  # tags, in the order of events.Event
    fields: list[str]  # every field name, envelope first, then in order of first use
    members: dict[str, tuple[str, ...]]  # kind -> its fields in msgspec's encoding order
    required: dict[str, set[str]]
    readers: dict[str, Reader]  # field -> its reader (nullable where any kind allows null)
    nonnull: dict[str, set[str]]  # kind -> fields read nullable but required non-null here
    states: tuple[str, ...]  # agent states, in declaration order
    call_kinds: set[str]


def wire_format() -> WireFormat:
    """What the native decoder must know of events.py, checked for what it can read."""
    classes = list(typing.get_args(E.Event))
    kinds = [c.__struct_config__.tag for c in classes]
    fields: list[str] = [*_ENVELOPE, _TAG]
    members: dict[str, tuple[str, ...]] = {}
    required: dict[str, set[str]] = {}
    per_field: dict[str, dict[str, Reader]] = {}
    for cls, kind in zip(classes, kinds):
        info = mi.type_info(cls)
        assert isinstance(info, mi.StructType) and info.tag_field == _TAG and info.forbid_unknown_fields
        members[kind] = tuple(f.encode_name for f in info.fields)
        required[kind] = {f.encode_name for f in info.fields if f.required} | {_TAG}
        for f in info.fields:
            if f.encode_name != f.name:
                raise GenerationError(f"{kind}.{f.name}: renamed fields are not read natively")
            if f.name not in fields:
                fields.append(f.name)
            per_field.setdefault(f.name, {})[kind] = _reader(kind, f.name, f.type)
    readers: dict[str, Reader] = {}
    nonnull: dict[str, set[str]] = {k: set() for k in kinds}
    for name, by_kind in per_field.items():
        codes = {r.code.replace("opt_str_value", "str_value") for r in by_kind.values()}
        if len(codes) != 1:
            # One reader per name: the decoder reads a value before it knows every member.
            raise GenerationError(f"field {name!r} has different types in different kinds: {sorted(codes)}")
        nullable = [r for r in by_kind.values() if r.nullable]
        readers[name] = nullable[0] if nullable else next(iter(by_kind.values()))
        if nullable:
            for kind, r in by_kind.items():
                if not r.nullable:
                    nonnull[kind].add(name)
        slot = _SLOT.get(name, name)
        if slot not in _PARSED_EV_SLOTS:
            raise GenerationError(f"field {name!r} has no slot in ParsedEv (event.hpp): add one, and to _SLOT here")
    if len(fields) > 32:
        raise GenerationError("more than 32 field names: the decoder's field sets are 32-bit masks")
    states = typing.get_args(E.AgentStateName)
    call_kinds = {k for k in kinds if "call" in members[k]}
    return WireFormat(kinds, fields, members, required, readers, nonnull, states, call_kinds)


# --- C++ text ---------------------------------------------------------------------

_BANNER = """\
// GENERATED by `python -m stream.contracts.native_tables` from stream/contracts/events.py.
// Do not edit: change events.py and regenerate. tests/contracts/test_native_tables.py
// fails when this file is not what the generator writes.
"""


def _const(name: str) -> str:
    return name.upper()


def _flag(field: str) -> str:
    return f"F_{field.upper()}"


def _mask(names) -> str:
    return " | ".join(_flag(n) for n in names) if names else "0u"


def kinds_header(wf: WireFormat) -> str:
    kinds = ",\n".join(f"    {_const(k)}" + (" = 0" if i == 0 else "") for i, k in enumerate(wf.kinds))
    names = ",\n".join(f'    "{k}"' for k in wf.kinds)
    is_call = ", ".join("true" if k in wf.call_kinds else "false" for k in wf.kinds)
    states = ", ".join(f"{_const(s)}" + (" = 0" if i == 0 else "") for i, s in enumerate(wf.states))
    state_names = ", ".join(f'"{s}"' for s in wf.states)
    return f"""{_BANNER}//
// The event kinds (in the order of stream.contracts.events.Event) and agent
// states (AgentStateName's order) as the native core numbers them.
#pragma once

#include <cstdint>

namespace fw {{

enum Kind : uint8_t {{
{kinds},
    N_KINDS
}};

inline const char* const KIND_NAMES[N_KINDS] = {{
{names},
}};

// The kinds of calls (a `call` field) as against tickets (or agents).
inline constexpr bool KIND_IS_CALL[N_KINDS] = {{{is_call}}};
inline bool is_call_kind(uint8_t k) {{ return KIND_IS_CALL[k]; }}

enum State : uint8_t {{ {states}, N_STATES }};
inline const char* const STATE_NAMES[N_STATES] = {{{state_names}}};

}}  // namespace fw
"""


def _by_length_matcher(fn: str, names: list[str], enum_of, max_len: int, target: str) -> str:
    """A matcher of a string value against whole names, by length then bytes."""
    by_len: dict[int, list[str]] = {}
    for n in names:
        by_len.setdefault(len(n), []).append(n)
    cases = []
    for n in sorted(by_len):
        tests = " ".join(f'if (eq_lit(s.p, "{x}")) {{ {target} = {enum_of(x)}; return q; }}' for x in by_len[n])
        cases.append(f"        case {n}: {tests} break;")
    body = "\n".join(cases)
    return f"""inline const char* {fn}(const char* p, const char* end, uint8_t& {target}) {{
    SV s;
    const char* q = str_value(p, end, s, 1, {max_len});
    if (!q) return nullptr;
    switch (s.n) {{
{body}
        default: break;
    }}
    return nullptr;
}}"""


def tables_header(wf: WireFormat) -> str:
    out: list[str] = [
        _BANNER
        + """//
// The wire format as the native decoder reads it (parse_impl.hpp includes this
// after its value readers). Each field name is one bit; a kind allows and
// requires a set of them; a name's value is read the same way in every kind.
// Not a header of its own: it uses the readers defined above its #include.
#pragma once

namespace fw {
namespace pj {
""",
    ]
    flags = ",\n".join(f"    {_flag(f)} = 1u << {i}" for i, f in enumerate(wf.fields))
    out.append(f"enum Field : uint32_t {{\n{flags},\n}};\n")
    out.append(f"constexpr uint32_t ENVELOPE = {_mask([*_ENVELOPE, _TAG])};\n")
    id_max = _id_max(wf)
    out.append(f"constexpr uint32_t ID_MAX = {id_max};  // an Id's code points (the fast path's members)\n")
    out.append(f"constexpr size_t MAX_EVENT_BYTES = {MAX_EVENT_BYTES};  // decode.MAX_EVENT_BYTES: larger objects are declined\n")
    out.append(
        "// allowed: every field of the kind; required: those without a default;\n"
        "// nonnull: those read as nullable (null in another kind) that must not be null here.\n"
        "struct KindFields {\n    uint32_t allowed, required, nonnull;\n};\n"
    )
    rows = []
    for k in wf.kinds:
        allowed = _mask([f for f in wf.fields if f in wf.members[k] or f == _TAG])
        req = _mask([f for f in wf.fields if f in wf.required[k]])
        nn = _mask([f for f in wf.fields if f in wf.nonnull[k]])
        rows.append(f"    {{{allowed},\n     {req},\n     {nn}}},  // {k}")
    out.append("constexpr KindFields KIND_FIELDS[N_KINDS] = {\n" + "\n".join(rows) + "\n};\n")

    # Keys: by first character, each name with its closing quote (no name holds a quote).
    by_first: dict[str, list[str]] = {}
    for f in wf.fields:
        by_first.setdefault(f[0], []).append(f)
    cases = []
    for c in sorted(by_first):
        tests = " ".join(f'FW_KEY("{f}", {_flag(f)})' for f in by_first[c])
        cases.append(f"        case '{c}': {tests} break;")
    out.append(
        """// The key at p (just past its opening quote) as its Field, p moved past the
// closing quote; nullptr for any other key. A name matched with its closing
// quote is a whole, plain key.
inline const char* scan_key(const char* p, const char* end, uint32_t& f) {
#define FW_KEY(lit, field)            \\
    if (has_lit(p, end, lit "\\"")) { \\
        f = field;                    \\
        return p + sizeof(lit);       \\
    }
    if (p == end) return nullptr;
    switch (*p) {
"""
        + "\n".join(cases)
        + """
        default: break;
    }
#undef FW_KEY
    return nullptr;
}
"""
    )
    out.append("// A kind's tag: only the exact names (one with an escape in it is declined).")
    out.append(_by_length_matcher("kind_value", wf.kinds, _const, max(map(len, wf.kinds)), "kind") + "\n")
    out.append("// An agent state's name.")
    out.append(_by_length_matcher("state_value", list(wf.states), _const, max(map(len, wf.states)), "state") + "\n")

    # Values: one reader per field, its slot fixed at compile time.
    lines = []
    for f in wf.fields:
        if f == _TAG:
            code = "kind_value(p, end, ev.kind)"
        else:
            code = wf.readers[f].code.format(slot=_SLOT.get(f, f))
        lines.append(f"    if constexpr (F == {_flag(f)}) return {code};")
    out.append(
        """// The value of field F at p (p < end), into its slot of ev.
template <uint32_t F>
inline const char* value_of(const char* p, const char* end, ParsedEv& ev, std::vector<SV>& queues) {
    (void)queues;
"""
        + "\n".join(lines)
        + "\n}\n"
    )
    cases = " ".join(f"FW_CASE({_flag(f)})" for f in wf.fields)
    out.append(
        f"""inline const char* field_value(uint32_t f, const char* p, const char* end, ParsedEv& ev, std::vector<SV>& queues) {{
    switch (f) {{
#define FW_CASE(F) \\
    case F: return value_of<F>(p, end, ev, queues);
        {cases}
#undef FW_CASE
        default: return nullptr;
    }}
}}
"""
    )
    checks = []
    for f in wf.fields:
        if any(f in s for s in wf.nonnull.values()):
            checks.append(f"    if ((nonnull & {_flag(f)}) && !ev.{_SLOT.get(f, f)}.present()) return false;")
    out.append(
        "// The fields this kind requires non-null are (the decoder reads them as nullable).\n"
        "inline bool nonnull_present(const ParsedEv& ev, uint32_t nonnull) {\n"
        + "\n".join(checks)
        + ("\n" if checks else "    (void)ev; (void)nonnull;\n")
        + "    return true;\n}\n"
    )

    # Members as compact JSON writes them after the previous value.
    keys = []
    for f in wf.fields:
        if f == _TAG:
            continue
        r = wf.readers[f]
        kind = "FW_ID_MEMBER" if r.plain_id else "FW_OTHER_MEMBER"
        keys.append(f'{kind}({_flag(f)}, "{f}")')
    id_slots = []
    for f in wf.fields:
        if f != _TAG and wf.readers[f].plain_id:
            id_slots.append(f"if constexpr (F == {_flag(f)}) return ev.{_SLOT.get(f, f)};")
    out.append(
        """// Each field's member as compact JSON writes it after the previous value:
// comma, quote, name, quote, colon, and for an Id that cannot be null the
// value's opening quote (all one compare).
template <uint32_t F> struct Key;
#define FW_MEMBER(F, name, is_id, tail)                        \\
    template <> struct Key<F> {                                \\
        static constexpr bool id = is_id;                      \\
        static constexpr char text[] = ",\\"" name "\\":" tail; \\
    };
#define FW_ID_MEMBER(F, name) FW_MEMBER(F, name, true, "\\"")
#define FW_OTHER_MEMBER(F, name) FW_MEMBER(F, name, false, "")
"""
        + "\n".join(keys)
        + """
#undef FW_OTHER_MEMBER
#undef FW_ID_MEMBER
#undef FW_MEMBER

// Where an Id member's value goes.
template <uint32_t F> inline SV& id_slot(ParsedEv& ev) {
"""
        + "    "
        + "\n    else ".join(id_slots)
        + "\n}\n"
    )
    out.append(
        """template <uint32_t... Fs>
inline int members(const char*& p, const char* end, ParsedEv& ev, std::vector<SV>& queues, uint32_t& seen);

// The members after `kind` as msgspec's encoder writes them (compact, the
// kind's fields in its class's order, then the envelope): 0 when the input
// leaves that order (the general loop goes on from p), -1 not a valid event.
inline int kind_members(uint8_t kind, const char*& p, const char* end, ParsedEv& ev, std::vector<SV>& queues,
                        uint32_t& seen) {
    switch (kind) {"""
    )
    groups: dict[tuple[str, ...], list[str]] = {}
    for k in wf.kinds:
        groups.setdefault(wf.members[k], []).append(k)
    for seq, ks in groups.items():
        labels = " ".join(f"case {_const(k)}:" for k in ks)
        flags_ = ", ".join(_flag(f) for f in seq)
        out.append(f"        {labels}\n            return members<{flags_}>(p, end, ev, queues, seen);")
    out.append("        default: return 0;\n    }\n}\n")
    out.append("}  // namespace pj\n}  // namespace fw\n")
    return "\n".join(out)


def _id_max(wf: WireFormat) -> int:
    """The longest Id (every plain Id has the same bounds: the members' fast path checks them at once)."""
    bounds = set()
    for cls in typing.get_args(E.Event):
        for f in mi.type_info(cls).fields:
            if wf.readers[f.name].plain_id:
                bounds.add((f.type.min_length, f.type.max_length))
    if len(bounds) != 1 or next(iter(bounds))[0] != 1:
        raise GenerationError(f"every Id must be 1..N code points, one N: {sorted(bounds)}")
    return next(iter(bounds))[1]


def headers() -> dict[str, str]:
    """File name -> text of each generated header."""
    wf = wire_format()
    return {KINDS_HEADER: kinds_header(wf), TABLES_HEADER: tables_header(wf)}


def stale(directory: Path = NATIVE_DIR) -> list[str]:
    """The generated headers in ``directory`` that differ from what events.py gives."""
    out = []
    for name, text in headers().items():
        p = directory / name
        if not p.is_file() or p.read_text(encoding="utf-8") != text:
            out.append(name)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m stream.contracts.native_tables", description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the headers on disk differ, write nothing")
    ap.add_argument("--dir", type=Path, default=NATIVE_DIR, help="where the headers go (default stream/fold/native)")
    args = ap.parse_args(argv)
    try:
        texts = headers()
    except GenerationError as exc:
        print(f"native_tables: {exc}", file=sys.stderr)
        return 2
    if args.check:
        bad = stale(args.dir)
        if bad:
            print(f"native_tables: stale: {', '.join(bad)} (run python -m stream.contracts.native_tables)", file=sys.stderr)
            return 1
        return 0
    for name, text in texts.items():
        (args.dir / name).write_text(text, encoding="utf-8")
    return 0


__all__ = ["GenerationError", "headers", "stale", "wire_format", "main"]

if __name__ == "__main__":  # pragma: no cover - the generator's command line
    sys.exit(main())
