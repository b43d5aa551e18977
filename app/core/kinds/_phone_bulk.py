"""Bulk E.164 normalisation of phone numbers with exactly the answers of ``normalise_phone``:
the engine behind the phone kind's ``parse_many`` (:class:`app.core.kinds.phone.Phone`).

:func:`normalise_many` returns, for every raw string, what
:func:`app.core.kinds.phone.normalise_phone` returns (``phonenumbers.parse`` → ``is_valid_number`` →
``format_number(E164)``, or ``None``). The reference costs about 46 µs a row; an import file of a
million rows has to be normalised in a few seconds, so most rows take a vectorised path that
re-derives the library's answer with numpy, and only the rest is given to the reference.

Why the fast path is exact
==========================
The fast path (tier 1 below) takes a row only when its raw string is made of ASCII digits, ``+``
and the separators ``space ( ) - .`` (:data:`SEPARATORS`), when every ``+`` comes before the first digit
with nothing between two of them (``++7`` yes, ``+ +7`` no), when it has 3 to
:data:`MAX_FAST_DIGITS` digits and is at most 250 characters long. For such a string ``parse``
(``phonenumberutil.py``) does nothing but the following, and so depends only on *has a plus* and
the digit string ``D``:

* ``_build_national_number_for_parsing``: no ``;phone-context=`` / ``;isub=`` (no ``;``);
  ``_extract_possible_number`` drops the separators before the first ``+``/digit and after the last
  digit (they match ``_UNWANTED_END_CHARS``); ``_SECOND_NUMBER_START`` needs ``/`` and ``x``.
* ``_is_viable_phone_number``: ``[+]*(?:[punctuation]*\\d){3,}`` matches (the separators are in
  ``_VALID_PUNCTUATION`` — checked at import), which is why pluses must lead and be contiguous.
* ``_maybe_strip_extension``: every extension pattern needs a letter, ``#``, ``~``, ``,`` or ``;``.
* ``_normalize`` (fewer than 3 letters) keeps the ASCII digits: the national number is ``D``.

From there the module replays, row-vectorised, the rest of ``parse`` and ``is_valid_number`` with
the library's own metadata, read when first needed (nothing is hard-coded, so a phonenumbers
upgrade changes the answers of both paths alike):

* with a plus: ``_extract_country_code`` (first 1–3 digits found in ``COUNTRY_CODE_TO_REGION_CODE``),
  the metadata switch to the code's main region, ``_maybe_strip_national_prefix_carrier_code`` and
  ``_test_number_length`` (the national prefix is stripped only when the rest has a possible length);
* without a plus: the IDD check (rows starting with the region's ``international_prefix`` are not
  taken), the default-country-code branch of ``_maybe_extract_country_code`` (``7…`` is read as
  +7 when the number with the code stripped matches ``general_desc`` and the whole does not, or the
  whole is too long), then the same national-prefix step;
* the length limits of the national number (2..17) and the italian-leading-zero round trip (the
  national significant number is the digit string itself);
* ``region_code_for_number`` / ``_region_code_for_number_from_list``: the first region of the
  calling code whose ``leading_digits`` match the start (RU ``[3489]``, KZ ``7`` for +7), or, for a
  region without ``leading_digits``, whose type check passes;
* ``is_valid_number_for_region`` / ``_number_type_helper`` / ``_is_number_matching_desc``:
  ``general_desc`` (possible lengths, then pattern) and at least one type description in the
  helper's order (mobile skipped when ``same_mobile_and_fixed_line_pattern``), each with its own
  ``possible_length``.

Every pattern test (``general_desc``, type descriptions, ``leading_digits``, the IDD) is a regular
expression over digits only. Each one is compiled, from Python's own regex parse tree
(``re._parser``), into a deterministic automaton over the ten digits; running the automaton one
digit column at a time over all rows (one numpy gather per digit) answers "does ``fullmatch`` /
``match`` succeed" exactly as ``re`` does, because for these constructs (literals, classes,
alternation, groups, greedy or lazy repeats) backtracking finds a match iff the string is in the
regular language. A pattern using anything else (anchors, look-arounds, back-references,
possessive repeats...) is not compiled, and the rows that would need it go to the fallback. So do
rows whose metadata breaks a precondition of the replay: a national prefix for parsing that is not
a plain digit string, or a national prefix transform rule.

What is not on the fast path
============================
Three tiers, each exact:

1. **Tier 1, the whole column vectorised** — the strings described above (also with the non-ASCII
   separators of :data:`UNICODE_SEPARATORS`, which ``parse`` treats exactly like a space): one
   ``'\\n'.join``, ``bytes.translate`` to delete the separators, numpy to find the rows and cut
   their digits, the automata for the rest.
2. **Tier 2, the library's string steps per distinct string** — for every other string (letters
   such as ``доб. 12`` or ``тел.``, tabs, ``/``, ``#``, non-ASCII digits, a plus in the wrong
   place...), the first steps of ``parse`` are run by the library itself:
   ``_build_national_number_for_parsing``, ``_is_viable_phone_number`` (else ``None``),
   ``_maybe_strip_extension`` (an extension never changes the E.164 form), the plus test and
   ``_normalize``. After them ``parse`` depends only on (plus, digits), so ``"+" + digits`` is
   replayed by tier 1. That costs less than half of the reference.
3. **Tier 3, ``normalise_phone`` itself**, once per distinct string, for what the replay does not
   take: fewer than 3 or more than :data:`MAX_FAST_DIGITS` digits, a plus followed by ``0`` or an
   unknown calling code (``parse`` then retries without the plus), digits starting with the
   default region's IDD (``810…`` for RU), calling codes whose metadata breaks a precondition
   (e.g. +44 GB ``0|180020`` and +375 BY ``0|80?`` have a pattern as national prefix for parsing),
   and default regions that are not a supported region code or break a precondition themselves.

``None`` and NaN give ``None``; other non-string values are normalised as ``str(value)``, as the
import does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from phonenumbers import PhoneMetadata
from phonenumbers import phonenumberutil as _pnu

from app.core.kinds._phone_one import normalise_phone

try:  # Python ≥ 3.11
    from re import _constants as _sre_c
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as _sre_c  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

__all__ = ["normalise_many", "SEPARATORS", "UNICODE_SEPARATORS", "MAX_FAST_DIGITS"]

#: Separators the fast path removes anywhere in a number (each checked to be in the library's
#: ``_VALID_PUNCTUATION`` and free of extension-label characters). Others fall back.
SEPARATORS = bytes(c for c in b" ()-." if _pnu._SEPARATOR_PATTERN.fullmatch(chr(c)))
#: Longest digit string the fast path takes (the national number is at most 17 digits, plus up to
#: 3 of calling code and a national prefix).
MAX_FAST_DIGITS = 24
#: Non-ASCII separators read as a space by tier 1 (no-break space, Unicode hyphens and dashes, minus
#: sign, soft hyphen, zero-width space, word joiner, ideographic space): each is in
#: ``_VALID_PUNCTUATION``, is not a word character and is no extension label, so ``parse`` treats
#: it exactly as it treats a space. Checked at import like :data:`SEPARATORS`.
UNICODE_SEPARATORS = "".join(
    ch for ch in "\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00ad\u200b\u2060\u3000"
    if _pnu._SEPARATOR_PATTERN.fullmatch(ch) and not ch.isalnum() and _pnu._UNWANTED_END_CHAR_PATTERN.fullmatch(ch) is not None
)
_MAX_INPUT = _pnu._MAX_INPUT_STRING_LENGTH
_MIN_NSN, _MAX_NSN = _pnu._MIN_LENGTH_FOR_NSN, _pnu._MAX_LENGTH_FOR_NSN
_VR = _pnu.ValidationResult

# bytes.translate table: digits, '+' and '\n' stay, separators are deleted, anything else → '!'.
_TABLE = bytearray(b"!" * 256)
for _c in b"0123456789+\n":
    _TABLE[_c] = _c
_TABLE = bytes(_TABLE)
_BANG, _PLUS, _NL = ord("!"), ord("+"), ord("\n")


class _Unsupported(Exception):
    """A pattern or metadata shape the fast path does not replay: the rows concerned fall back."""


# --------------------------------------------------------------------------- regex → digit DFA
_ALL_DIGITS = (1 << 10) - 1
_CATEGORY_MASKS = {
    _sre_c.CATEGORY_DIGIT: _ALL_DIGITS, _sre_c.CATEGORY_NOT_DIGIT: 0,
    _sre_c.CATEGORY_WORD: _ALL_DIGITS, _sre_c.CATEGORY_NOT_WORD: 0,
    _sre_c.CATEGORY_SPACE: 0, _sre_c.CATEGORY_NOT_SPACE: _ALL_DIGITS,
}
_MAX_REPEAT_EXPANSION = 64
_MAX_DFA_STATES = 20000


def _digit_bit(code: int) -> int:
    return 1 << (code - 48) if 48 <= code <= 57 else 0


def _class_mask(items: list) -> int:
    """Digits (as a 10-bit mask) matched by a character class ``[...]`` of the parse tree."""
    mask, negate = 0, False
    for op, av in items:
        if op == _sre_c.NEGATE:
            negate = True
        elif op == _sre_c.LITERAL:
            mask |= _digit_bit(av)
        elif op == _sre_c.RANGE:
            for code in range(max(av[0], 48), min(av[1], 57) + 1):
                mask |= _digit_bit(code)
        elif op == _sre_c.CATEGORY and av in _CATEGORY_MASKS:
            mask |= _CATEGORY_MASKS[av]
        else:
            raise _Unsupported(f"class item {op}")
    return (_ALL_DIGITS & ~mask) if negate else mask


class _NFA:
    """Thompson automaton over the ten digits: epsilon edges and (digit mask, target) edges."""

    def __init__(self) -> None:
        self.eps: list[list[int]] = []
        self.edges: list[list[tuple[int, int]]] = []

    def state(self) -> int:
        self.eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def char(self, mask: int) -> tuple[int, int]:
        a, b = self.state(), self.state()
        self.edges[a].append((mask, b))
        return a, b

    def seq(self, items) -> tuple[int, int]:
        start = cur = self.state()
        for op, av in items:
            a, b = self.node(op, av)
            self.eps[cur].append(a)
            cur = b
        return start, cur

    def node(self, op, av) -> tuple[int, int]:
        if op == _sre_c.LITERAL:
            return self.char(_digit_bit(av))
        if op == _sre_c.NOT_LITERAL:
            return self.char(_ALL_DIGITS & ~_digit_bit(av))
        if op == _sre_c.ANY:
            return self.char(_ALL_DIGITS)
        if op == _sre_c.IN:
            return self.char(_class_mask(av))
        if op == _sre_c.BRANCH:
            s, e = self.state(), self.state()
            for alt in av[1]:
                a, b = self.seq(alt)
                self.eps[s].append(a)
                self.eps[b].append(e)
            return s, e
        if op == _sre_c.SUBPATTERN:
            return self.seq(av[-1])
        if op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT):  # greedy or lazy: same language
            lo, hi, item = av
            if lo > _MAX_REPEAT_EXPANSION or (hi != _sre_c.MAXREPEAT and hi > _MAX_REPEAT_EXPANSION):
                raise _Unsupported("repeat too large")
            start = cur = self.state()
            for _ in range(lo):
                a, b = self.seq(item)
                self.eps[cur].append(a)
                cur = b
            end = self.state()
            if hi == _sre_c.MAXREPEAT:
                a, b = self.seq(item)
                self.eps[cur].append(a)
                self.eps[b].append(cur)
            else:
                for _ in range(hi - lo):
                    self.eps[cur].append(end)
                    a, b = self.seq(item)
                    self.eps[cur].append(a)
                    cur = b
            self.eps[cur].append(end)
            return start, end
        raise _Unsupported(f"regex construct {op}")  # anchors, look-arounds, back-references...


class _DFA:
    """Deterministic automaton of one regex (or of an alternation of several) over the digits.

    ``full(cols)`` is ``re.fullmatch`` and ``prefix(cols)`` is ``re.match`` (a match at the start,
    of any length) of the digit strings whose i-th digits are ``cols[i]`` (one int array per digit
    position, all rows at once).
    """

    def __init__(self, patterns: tuple[str, ...]) -> None:
        nfa = _NFA()
        start, end = nfa.state(), nfa.state()
        for p in patterns:
            a, b = nfa.seq(_sre_parse.parse(p))
            nfa.eps[start].append(a)
            nfa.eps[b].append(end)
        closures: dict[int, frozenset[int]] = {}

        def closure_of(q: int) -> frozenset[int]:
            got = closures.get(q)
            if got is None:
                seen, stack = {q}, [q]
                while stack:
                    for t in nfa.eps[stack.pop()]:
                        if t not in seen:
                            seen.add(t)
                            stack.append(t)
                got = closures[q] = frozenset(seen)
            return got

        first = closure_of(start)
        ids = {first: 0}
        order = [first]
        rows: list[list[int]] = []
        i = 0
        while i < len(order):
            current = order[i]
            row = []
            for d in range(10):
                bit = 1 << d
                nxt: set[int] = set()
                for q in current:
                    for mask, t in nfa.edges[q]:
                        if mask & bit:
                            nxt |= closure_of(t)
                key = frozenset(nxt)
                if key not in ids:
                    if len(order) >= _MAX_DFA_STATES:
                        raise _Unsupported("automaton too large")
                    ids[key] = len(order)
                    order.append(key)
                row.append(ids[key])
            rows.append(row)
            i += 1
        trans = np.array(rows, dtype=np.int64)
        accept = np.array([end in s for s in order], dtype=bool)
        dead = ids.get(frozenset())
        # States are kept multiplied by 10 so that one step is ``t10[state + digit]``.
        self.t10 = (trans * 10).astype(np.int32).ravel()
        self.acc10 = np.repeat(accept, 10)
        self.dead10 = -1 if dead is None else dead * 10
        self.start_accepts = bool(accept[0])
        # Lengths at which some digit string is accepted (to skip runs that cannot match).
        self.lengths: set[int] = set()
        reach = np.zeros(len(order), dtype=bool)
        reach[0] = True
        for n in range(MAX_FAST_DIGITS + 1):
            if (reach & accept).any():
                self.lengths.add(n)
            nxt = np.zeros_like(reach)
            nxt[trans[reach].ravel()] = True
            reach = nxt

    def full(self, cols: list[np.ndarray], m: int) -> np.ndarray:
        if len(cols) not in self.lengths:
            return np.zeros(m, dtype=bool)
        st = np.zeros(m, dtype=np.int32)
        t10 = self.t10
        for col in cols:
            st = t10[st + col]
        return self.acc10[st]

    def prefix(self, cols: list[np.ndarray], m: int) -> np.ndarray:
        if self.start_accepts:
            return np.ones(m, dtype=bool)
        st = np.zeros(m, dtype=np.int32)
        got = np.zeros(m, dtype=bool)
        t10, acc10 = self.t10, self.acc10
        for col in cols:
            st = t10[st + col]
            got |= acc10[st]
            if self.dead10 >= 0 and (got | (st == self.dead10)).all():
                break
        return got


_DFAS: dict[tuple[str, ...], _DFA | None] = {}


def _dfa(*patterns: str) -> _DFA:
    key = tuple(patterns)
    if key not in _DFAS:
        try:
            _DFAS[key] = _DFA(key)
        except (_Unsupported, RecursionError, re.error):
            _DFAS[key] = None
    got = _DFAS[key]
    if got is None:
        raise _Unsupported(f"pattern(s) {key!r}")
    return got


# --------------------------------------------------------------------------- metadata replay
def _pattern(desc) -> str | None:
    if desc is None or desc.national_number_pattern is None or len(desc.national_number_pattern) == 0:
        return None
    return desc.national_number_pattern


class _Parsing:
    """The metadata ``parse`` uses after the calling code is known: national prefix, lengths."""

    def __init__(self, md) -> None:
        if md is None or md.general_desc is None or not md.general_desc.possible_length:
            raise _Unsupported("no general description")
        npp, rule = md.national_prefix_for_parsing, md.national_prefix_transform_rule
        if rule is not None and len(rule) > 0:
            raise _Unsupported("national prefix transform rule")
        if npp is not None and len(npp) > 0 and not (npp.isascii() and npp.isdigit()):
            raise _Unsupported("national prefix for parsing is a pattern")
        self.prefix = [int(c) for c in npp] if npp else []
        self.general = _pattern(md.general_desc)
        self.lengths = tuple(md.general_desc.possible_length)
        self.local = tuple(md.general_desc.possible_length_local_only)
        self.md = md

    def test_length(self, n: int) -> int:
        """``_test_number_length(number, metadata)`` for a number of ``n`` digits."""
        if n in self.local:
            return _VR.IS_POSSIBLE_LOCAL_ONLY
        pl = self.lengths
        if n == pl[0]:
            return _VR.IS_POSSIBLE
        if n < pl[0]:
            return _VR.TOO_SHORT
        if n > pl[-1]:
            return _VR.TOO_LONG
        return _VR.IS_POSSIBLE if n in pl[1:] else _VR.INVALID_LENGTH

    def general_match(self, group: _Group, idx: np.ndarray, off: int) -> np.ndarray:
        """``_match_national_number(number, general_desc, False)`` (no length check)."""
        if self.general is None:
            return np.zeros(len(idx), dtype=bool)
        return group.match(_dfa(self.general), idx, off)


class _Region:
    """One region of a calling code as ``is_valid_number`` sees it."""

    _TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail", "fixed_line")

    def __init__(self, code: str, md, cc: int) -> None:
        self.code, self.md = code, md
        self.leading = md.leading_digits if md is not None else None
        # is_valid_number_for_region: the number's calling code must be the region's.
        self.cc_ok = md is not None and (code == _pnu.REGION_CODE_FOR_NON_GEO_ENTITY or md.country_code == cc)
        self._union: dict[int, tuple[str, ...]] = {}

    def type_patterns(self, n: int) -> tuple[str, ...]:
        """Patterns of the type descriptions ``_number_type_helper`` may accept at length ``n``."""
        got = self._union.get(n)
        if got is None:
            md = self.md
            descs = [getattr(md, t) for t in self._TYPES]
            if not md.same_mobile_and_fixed_line_pattern:
                descs.append(md.mobile)
            got = tuple(
                p for d in descs if (p := _pattern(d)) is not None and (not d.possible_length or n in d.possible_length)
            )
            self._union[n] = got
        return got

    def is_number(self, group: _Group, idx: np.ndarray, off: int) -> np.ndarray:
        """``_number_type_helper(nsn, metadata) != UNKNOWN`` for the rows whose nsn starts at ``off``."""
        n = group.L - off
        g = self.md.general_desc
        gp = _pattern(g)
        if gp is None or (g.possible_length and n not in g.possible_length):
            return np.zeros(len(idx), dtype=bool)
        types = self.type_patterns(n)
        if not types:
            return np.zeros(len(idx), dtype=bool)
        ok = group.match(_dfa(gp), idx, off)
        hit = np.flatnonzero(ok)
        if len(hit):
            ok[hit] = group.match(_dfa(*types), idx[hit], off)
        return ok


class _Context:
    """Everything the replay needs for one default region (built once, on first use)."""

    def __init__(self, region: str) -> None:
        if region not in _pnu.SUPPORTED_REGIONS:
            raise _Unsupported("not a supported region")
        self.region = region
        self.md = PhoneMetadata.metadata_for_region(region, None)
        self.cc = self.md.country_code
        self.cc_digits = [int(c) for c in str(self.cc)]
        self.default = _Parsing(self.md)
        self.idd = self.md.international_prefix
        cc_table = _pnu.COUNTRY_CODE_TO_REGION_CODE
        # _extract_country_code over the first 1..3 digits (a leading 0 is no calling code).
        self.cc1 = np.array([d != 0 and d in cc_table for d in range(10)])
        self.cc2 = np.array([d >= 10 and d in cc_table for d in range(100)])
        self.cc3 = np.array([d >= 100 and d in cc_table for d in range(1000)])
        self._parsing: dict[int, _Parsing | None] = {}
        self._regions: dict[int, list[_Region]] = {}

    def parsing_for(self, cc: int) -> _Parsing:
        """The metadata ``parse`` switches to once calling code ``cc`` has been extracted."""
        if cc not in self._parsing:
            number_region = _pnu.region_code_for_country_code(cc)
            try:
                if number_region != self.region:
                    self._parsing[cc] = _Parsing(PhoneMetadata.metadata_for_region_or_calling_code(cc, number_region))
                else:
                    self._parsing[cc] = self.default
            except _Unsupported:
                self._parsing[cc] = None
        got = self._parsing[cc]
        if got is None:
            raise _Unsupported(f"calling code {cc}")
        return got

    def regions_for(self, cc: int) -> list[_Region]:
        if cc not in self._regions:
            codes = _pnu.COUNTRY_CODE_TO_REGION_CODE.get(cc, ())
            if len(codes) == 1 and codes[0] == _pnu.REGION_CODE_FOR_NON_GEO_ENTITY:
                self._regions[cc] = [_Region(codes[0], PhoneMetadata.metadata_for_nongeo_region(cc, None), cc)]
            else:
                self._regions[cc] = [_Region(c, PhoneMetadata.metadata_for_region(c.upper(), None), cc) for c in codes]
        return self._regions[cc]


_CONTEXTS: dict[str, _Context | None] = {}


def _context(region: Any) -> _Context | None:
    if not isinstance(region, str):
        return None
    if region not in _CONTEXTS:
        try:
            _CONTEXTS[region] = _Context(region)
        except _Unsupported:
            _CONTEXTS[region] = None
    return _CONTEXTS[region]


def _distinct(a: np.ndarray) -> list[int]:
    """Distinct values of an array of small non-negative ints (offsets, lengths, calling codes)."""
    if not len(a):
        return []
    lo = int(a.min())
    if lo == int(a.max()):
        return [lo]
    return np.flatnonzero(np.bincount(a)).tolist()


# Row outcomes of the replay.
_FALLBACK, _INVALID, _VALID = 0, 1, 2


class _Group:
    """Rows of one shape — with or without a plus, ``L`` digits — as digit columns ``D[i]``."""

    def __init__(self, ctx: _Context, plus: bool, digits: np.ndarray, rows: np.ndarray) -> None:
        self.ctx, self.plus, self.D, self.rows = ctx, plus, digits, rows  # digits: (L, n) int32
        self.L, self.n = digits.shape
        self.status = np.full(self.n, _FALLBACK, dtype=np.int8)
        self.valid: list[tuple[int, int, np.ndarray]] = []  # (calling code, nsn offset, group indices)

    def col(self, i: int, idx: np.ndarray) -> np.ndarray:
        # idx is always sorted and unique: as long as the group, it is every row.
        return self.D[i] if len(idx) == self.n else self.D[i, idx]

    def cols(self, idx: np.ndarray, off: int) -> list[np.ndarray]:
        return [self.col(i, idx) for i in range(off, self.L)]

    def match(self, dfa: _DFA, idx: np.ndarray, off: int, prefix: bool = False) -> np.ndarray:
        """``fullmatch`` (or ``match``) of ``dfa`` on the digits from ``off`` of rows ``idx``."""
        run = dfa.prefix if prefix else dfa.full
        if len(idx) != self.n and 3 * len(idx) >= 2 * self.n:
            # Most of the group: running on every row is cheaper than gathering the subset.
            return run([self.D[i] for i in range(off, self.L)], self.n)[idx]
        return run(self.cols(idx, off), len(idx))

    def starts_with(self, idx: np.ndarray, off: int, digits: list[int]) -> np.ndarray:
        ok = np.ones(len(idx), dtype=bool)
        if off + len(digits) > self.L:
            return ~ok
        for i, d in enumerate(digits):
            ok &= self.col(off + i, idx) == d
        return ok

    # -- _maybe_strip_national_prefix_carrier_code and the length test after it, in ``parse``
    def strip(self, p: _Parsing, idx: np.ndarray, off: int) -> np.ndarray:
        """Offset added by stripping the national prefix from the digits from ``off`` on (0 or len)."""
        out = np.zeros(len(idx), dtype=np.int64)
        lp = len(p.prefix)
        if lp == 0 or off >= self.L:
            return out
        has = np.flatnonzero(self.starts_with(idx, off, p.prefix))
        if len(has):
            sub = idx[has]
            viable = p.general_match(self, sub, off)
            after = p.general_match(self, sub, off + lp)
            out[has] = np.where(viable & ~after, 0, lp)
        return out

    def take_stripped(self, p: _Parsing, idx: np.ndarray, off: int) -> np.ndarray:
        """``parse`` keeps the stripped number only when its length is possible (or too long)."""
        lp = len(p.prefix)
        if lp == 0 or p.test_length(self.L - off - lp) not in (_VR.IS_POSSIBLE, _VR.TOO_LONG):
            return np.zeros(len(idx), dtype=np.int64)
        return self.strip(p, idx, off)

    def finish(self, cc: int, p: _Parsing, idx: np.ndarray, offs: np.ndarray) -> None:
        """From the normalised national number (digits from ``offs``) to the validity answer."""
        for off in _distinct(offs):
            sub = idx[offs == off]
            n = self.L - int(off)
            if n < _MIN_NSN:
                self.status[sub] = _INVALID
                continue
            extra = self.take_stripped(p, sub, int(off))
            for e in _distinct(extra):
                part = sub[extra == e]
                start = int(off + e)
                if not (_MIN_NSN <= self.L - start <= _MAX_NSN):
                    self.status[part] = _INVALID
                    continue
                ok = self.is_valid(cc, part, start)
                self.status[part] = _INVALID
                self.status[part[ok]] = _VALID
                if ok.any():
                    self.valid.append((cc, start, part[ok]))

    # -- is_valid_number
    def is_valid(self, cc: int, idx: np.ndarray, off: int) -> np.ndarray:
        regions = self.ctx.regions_for(cc)
        m = len(idx)
        result = np.zeros(m, dtype=bool)
        if not regions:
            return result
        if len(regions) == 1:
            r = regions[0]
            if r.md is not None and r.cc_ok:
                result = r.is_number(self, idx, off)
            return result
        left = np.arange(m)
        for r in regions:  # _region_code_for_number_from_list: first region that claims the number
            if not len(left) or r.md is None:
                continue
            if r.leading is not None:
                claimed = self.match(_dfa(r.leading), idx[left], off, prefix=True)
                mine = left[claimed]
                if len(mine) and r.cc_ok:
                    result[mine] = r.is_number(self, idx[mine], off)
            else:
                claimed = r.is_number(self, idx[left], off)
                result[left[claimed]] = r.cc_ok
            left = left[~claimed]
        return result

    # -- parse
    def run(self) -> None:
        ctx = self.ctx
        everything = np.arange(self.n)
        if self.plus:
            self.run_plus(everything)
            return
        todo = everything
        if ctx.idd is not None:  # _parse_prefix_as_idd: these rows are international; the reference decides
            todo = todo[~self.match(_dfa(ctx.idd), todo, 0, prefix=True)]
        p = ctx.default
        lc = len(ctx.cc_digits)
        nnn = np.zeros(len(todo), dtype=np.int64)  # offset of the normalised national number
        parsing = np.zeros(len(todo), dtype=bool)  # True: cc extracted → parse's metadata for cc
        s = np.flatnonzero(self.starts_with(todo, 0, ctx.cc_digits))
        if len(s):  # default-country-code branch of _maybe_extract_country_code
            sub = todo[s]
            pot = lc + self.strip(p, sub, lc)
            whole = p.general_match(self, sub, 0)
            stripped = np.zeros(len(sub), dtype=bool)
            for off in _distinct(pot):
                k = np.flatnonzero(pot == off)
                stripped[k] = p.general_match(self, sub[k], int(off))
            take = (~whole & stripped) | (p.test_length(self.L) == _VR.TOO_LONG)
            nnn[s[take]] = pot[take]
            parsing[s[take]] = True
        if parsing.any():
            self.finish(ctx.cc, ctx.parsing_for(ctx.cc), todo[parsing], nnn[parsing])
        if (~parsing).any():
            self.finish(ctx.cc, p, todo[~parsing], nnn[~parsing])

    def run_plus(self, idx: np.ndarray) -> None:
        ctx = self.ctx
        d0, d1, d2 = (self.col(i, idx) for i in range(3))
        two, three = d0 * 10 + d1, d0 * 100 + d1 * 10 + d2
        cc = np.where(ctx.cc1[d0], d0, np.where(ctx.cc2[two], two, np.where(ctx.cc3[three], three, 0)))
        lc = np.where(ctx.cc1[d0], 1, np.where(ctx.cc2[two], 2, 3))
        for code in _distinct(cc):
            if code == 0:
                continue  # INVALID_COUNTRY_CODE: parse retries without the plus; fall back
            sel = cc == code
            kept = len(self.valid)
            try:
                p = ctx.parsing_for(int(code))
                self.finish(int(code), p, idx[sel], lc[sel].astype(np.int64))
            except _Unsupported:  # this calling code's rows go on to tier 2/3
                self.status[idx[sel]] = _FALLBACK
                del self.valid[kept:]


# --------------------------------------------------------------------------- the vectorised front
def _items(raws: Sequence[str] | pd.Series | np.ndarray) -> list[Any]:
    if isinstance(raws, pd.Series | pd.Index):
        return raws.to_numpy(dtype=object).tolist()
    if isinstance(raws, np.ndarray):
        return raws.tolist()
    return raws if isinstance(raws, list) else list(raws)


def _is_missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _fast(ctx: _Context, strs: Sequence[str], joined: str | None = None) -> tuple[np.ndarray, list[tuple[np.ndarray, bytes]]]:
    """Replay ``parse`` + ``is_valid_number`` on the fast-path rows of ``strs``.

    Returns each row's outcome (_FALLBACK / _INVALID / _VALID) and, for the valid rows, chunks of
    (row indices, their E.164 strings as newline-terminated ASCII lines). ``joined`` may hold the
    newline-joined ``strs`` already.
    """
    n = len(strs)
    status = np.full(n, _FALLBACK, dtype=np.int8)
    if joined is None:
        joined = "\n".join(strs)
    if joined.count("\n") != n - 1:  # a raw string holds a newline: keep it off the fast path
        joined = "\n".join("" if "\n" in s else s for s in strs)
    if not joined.isascii():
        for ch in UNICODE_SEPARATORS:
            if ch in joined:
                joined = joined.replace(ch, " ")
    raw = joined.encode("utf-8", "surrogatepass")
    del joined
    # Line bounds in the raw bytes (only ASCII rows can be taken, so bytes = characters there).
    B = np.frombuffer(raw, dtype=np.uint8)
    nl = np.flatnonzero(B == _NL)
    raw_len = np.diff(np.concatenate(([-1], nl, [len(B)]))) - 1
    bad = raw_len > _MAX_INPUT
    # A plus after separators after a plus ("+ +7") is not a viable number: the reference decides.
    if b"+" in raw:
        for m in re.finditer(rb"\+[" + re.escape(SEPARATORS) + rb"]+\+", raw):
            bad[np.searchsorted(nl, m.start())] = True
    clean = raw.translate(_TABLE, SEPARATORS)
    del raw, B
    C = np.frombuffer(clean, dtype=np.uint8)
    cnl = np.flatnonzero(C == _NL)
    start = np.concatenate(([0], cnl + 1))
    length = np.concatenate((cnl, [len(C)])) - start
    bang = np.flatnonzero(C == _BANG)
    if len(bang):
        bad[np.searchsorted(cnl, bang)] = True
    plus = np.flatnonzero(C == _PLUS)
    k = np.zeros(n, dtype=np.int64)
    if len(plus):
        prow = np.searchsorted(cnl, plus)
        k = np.bincount(prow, minlength=n)
        bad[prow[plus >= start[prow] + k[prow]]] = True  # a plus after a digit
    ndig = length - k
    bad |= (ndig < 3) | (ndig > MAX_FAST_DIGITS)
    chunks: list[tuple[np.ndarray, bytes]] = []
    good = np.flatnonzero(~bad)
    if not len(good):
        return status, chunks
    shape = (k[good] > 0).astype(np.int64) * 100 + ndig[good]
    for key in _distinct(shape):
        rows = good[shape == key]
        plus_rows, L = bool(key >= 100), int(key % 100)
        first = start[rows] + k[rows]
        digits = (C[first[None, :] + np.arange(L)[:, None]].astype(np.int32) - 48)
        group = _Group(ctx, plus_rows, digits, rows)
        try:
            group.run()
        except _Unsupported:
            continue  # whole shape to the fallback
        status[rows] = group.status
        for cc, off, idx in group.valid:
            ccb = str(cc).encode()
            width = 1 + len(ccb) + (L - off) + 1
            line = np.empty((len(idx), width), dtype=np.uint8)
            line[:, 0] = _PLUS
            line[:, 1 : 1 + len(ccb)] = np.frombuffer(ccb, dtype=np.uint8)
            line[:, 1 + len(ccb) : -1] = (digits[off:, idx].T + 48).astype(np.uint8)
            line[:, -1] = _NL
            chunks.append((rows[idx], line.tobytes()))
    return status, chunks


def normalise_many(raws: Sequence[str] | pd.Series, region: str = "RU") -> np.ndarray:
    """E.164 string or ``None`` for every raw phone number, in order (an object ndarray).

    Same answers as ``[normalise_phone(r, region) for r in raws]`` (see the module docstring for
    why the vectorised path is exact and what goes to ``normalise_phone``); ``None``/NaN give
    ``None`` and other non-strings are read as ``str(value)``.
    """
    items = _items(raws)
    n = len(items)
    out = np.full(n, None, dtype=object)
    if n == 0:
        return out
    str_rows: np.ndarray | None = None  # None: every row is a string
    joined: str | None = None
    try:
        joined = "\n".join(items)  # raises on any non-string: then the slow, sure way
        strs = items
    except TypeError:  # strings as they are, missing values stay None, anything else as str(value)
        rows, strs = [], []
        for i, x in enumerate(items):
            if isinstance(x, str):
                rows.append(i)
                strs.append(x)
            elif not _is_missing(x):
                rows.append(i)
                strs.append(str(x))
        str_rows = np.array(rows, dtype=np.int64)
    if not strs:
        return out
    ctx = _context(region)
    if ctx is None:  # no replay for this region: the reference, once per distinct string
        once: dict[str, str | None] = {}
        for i, raw in enumerate(strs):
            got = once.get(raw, once)
            if got is once:
                got = once[raw] = normalise_phone(raw, region)
            out[i if str_rows is None else str_rows[i]] = got
        return out
    # Tier 1: the whole column, vectorised.
    status, chunks = _fast(ctx, strs, joined)
    del joined
    _place(out, chunks, str_rows)
    # Tier 2: the library's own string steps per distinct remaining string, the replay for the rest.
    rest = np.flatnonzero(status == _FALLBACK).tolist()
    if not rest:
        return out
    prepared: dict[str, object] = {}
    synthetic: list[str] = []  # "+digits" / "digits" for the replay
    synthetic_rows: list[int] = []
    reference_rows: list[int] = []
    for i in rest:
        raw = strs[i]
        got = prepared.get(raw, prepared)
        if got is prepared:
            got = prepared[raw] = _prepare(raw)
        if got is _NONE:
            continue  # out already holds None
        if got is _REFERENCE:
            reference_rows.append(i)
        else:
            synthetic.append(got)  # type: ignore[arg-type]
            synthetic_rows.append(i)
    if synthetic:
        rows2 = np.array(synthetic_rows, dtype=np.int64)
        status2, chunks2 = _fast(ctx, synthetic)
        _place(out, [(rows2[r], c) for r, c in chunks2], str_rows)
        reference_rows += rows2[status2 == _FALLBACK].tolist()
    # Tier 3: what the replay does not take, through normalise_phone itself.
    cache: dict[str, str | None] = {}
    for i in reference_rows:
        raw = strs[i]
        got = cache.get(raw, cache)
        if got is cache:
            got = cache[raw] = normalise_phone(raw, region)
        out[i if str_rows is None else str_rows[i]] = got
    return out


def _place(out: np.ndarray, chunks: list[tuple[np.ndarray, bytes]], str_rows: np.ndarray | None) -> None:
    """Write the E.164 lines of ``chunks`` into ``out`` at their rows."""
    if not chunks:
        return
    lines = b"".join(c for _, c in chunks).decode("ascii").split("\n")
    lines.pop()
    where = np.concatenate([r for r, _ in chunks])
    out[where if str_rows is None else str_rows[where]] = lines


_NONE = object()  # parse raises before the calling code: the answer is None
_REFERENCE = object()  # not for the replay: normalise_phone decides
_ASCII_NON_DIGITS = {c: None for c in range(128) if not 48 <= c <= 57}


def _prepare(raw: str) -> object:
    """The string steps of ``parse`` for a raw string tier 1 did not take, by the library itself.

    Returns _NONE when ``parse`` raises during them, else ``"+" + digits`` or ``digits`` — the
    plus sign and the normalised digits that are all ``_maybe_extract_country_code`` and the rest
    of ``parse`` use — for the replay, or _REFERENCE when the digits are outside its range.
    """
    if len(raw) > _MAX_INPUT:
        return _NONE
    try:
        number = _pnu._build_national_number_for_parsing(raw)
    except _pnu.NumberParseException:
        return _NONE
    if not _pnu._is_viable_phone_number(number):
        return _NONE
    # (_check_region_for_parsing passes: the region is a supported one.)
    _, number = _pnu._maybe_strip_extension(number)  # the extension does not change the E.164 form
    plus = _pnu._PLUS_CHARS_PATTERN.match(number)
    if plus:
        number = number[plus.end() :]
    if number.isascii() and not _pnu._VALID_ALPHA_PHONE_PATTERN.fullmatch(number):
        digits = number.translate(_ASCII_NON_DIGITS)  # what normalize_digits_only keeps of ASCII
    else:
        digits = _pnu._normalize(number)
    if not 3 <= len(digits) <= MAX_FAST_DIGITS:
        return _REFERENCE
    return ("+" if plus else "") + digits
