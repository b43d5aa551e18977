"""``normalise_many`` (bulk, vectorised) gives exactly the answers of ``the phone kind's per-value parser``.

(a) a table of tricky cases, (b) a seeded property check over tens of thousands of generated raw
strings of every shape (uniform digits, so many are invalid; realistic Russian numbers in many
formats; foreign numbers; junk), (c) other default regions, (d) input types, (e) that the
common clean formats never reach the per-row reference, and (f) that the digit automata agree with
``re`` on the metadata's patterns. No database is needed.
"""

from __future__ import annotations

import random
import re
import time

import numpy as np
import pandas as pd
import pytest

from app.core.kinds.phone import normalise_phone
from app.core.kinds import _phone_bulk as phones
from app.core.kinds._phone_bulk import normalise_many


def compare(raws: list, region: str = "RU") -> tuple[list[tuple[str, object, object]], list]:
    """Rows where normalise_many and normalise_phone differ, and normalise_many's answers."""
    got = normalise_many(raws, region)
    assert isinstance(got, np.ndarray) and got.dtype == object and len(got) == len(raws)
    got = got.tolist()
    want = [normalise_phone(r, region) for r in raws]
    return [(r, g, w) for r, g, w in zip(raws, got, want, strict=True) if g != w], got


def report(bad: list, total: int) -> str:
    lines = [f"{len(bad)} of {total} rows differ from normalise_phone (raw, normalise_many, reference):"]
    lines += [f"  {r!r}: {g!r} != {w!r}" for r, g, w in bad[:60]]
    return "\n".join(lines)


# --------------------------------------------------------------------------- (a) tricky cases
TRICKY = {
    # the common shapes
    "+7 916 123-45-67": "+79161234567",
    "+79161234567": "+79161234567",
    "89161234567": "+79161234567",
    "79161234567": "+79161234567",
    "9161234567": "+79161234567",
    "8 (916) 123-45-67": "+79161234567",
    "(916) 123-45-67": "+79161234567",
    "7 (916) 123.45.67": "+79161234567",
    "  +7 916 123 45 67  ": "+79161234567",
    "8-495-123-45-67": "+74951234567",
    "+7 (812) 123-45-67": "+78121234567",
    # 8-800 (toll free), 8-804, 8-809 (premium)
    "8 800 555-35-35": "+78005553535",
    "88005553535": "+78005553535",
    "+7 800 555 35 35": "+78005553535",
    "7 800 555 35 35": "+78005553535",
    "8005553535": "+78005553535",
    "8 (804) 333-22-11": "+78043332211",
    "8 809 123 45 67": "+78091234567",
    # +7 7xx: Kazakhstan (same calling code, region chosen by leading digits)
    "+7 701 123 45 67": "+77011234567",
    "+77011234567": "+77011234567",
    "87011234567": "+77011234567",
    "7011234567": "+77011234567",
    "77011234567": "+77011234567",
    "+7 727 258 12 34": "+77272581234",
    "+7 799 123 45 67": None,  # 79x: neither RU nor KZ
    # extensions
    "+7 (495) 123-45-67 доб. 12": "+74951234567",
    "8 495 123 45 67, доб. 123": "+74951234567",
    "+7 495 123 45 67 ext. 5": "+74951234567",
    "8 (495) 123-45-67 x123": "+74951234567",
    "+7 495 123-45-67;ext=77": "+74951234567",
    "+7 495 123 45 67 #12#": "+74951234567",
    # letters, junk, empty
    "": None,
    " ": None,
    "-": None,
    "нет": None,
    "abc": None,
    "n/a": None,
    "тел. +7 916 123 45 67": "+79161234567",
    "Tel: 8 916 123 45 67": "+79161234567",
    "8 916 CALL ME": None,
    "8-800-FLOWERS": "+78003569377",  # three letters or more: a vanity number
    "+7 916 123 45 67 (моб.)": None,  # Cyrillic after the number: not viable
    "89161234567 / 89161234568": None,
    # separators parse accepts or refuses
    "8\u00a0916\u00a0123\u00a045\u00a067": "+79161234567",
    "8 916 123\u201345\u201367": "+79161234567",
    "8\t916\t1234567": None,
    "\t89161234567\t": "+79161234567",
    "89161234567\r": "+79161234567",
    "8/916/1234567": "+79161234567",
    "８９１６１２３４５６７": "+79161234567",  # fullwidth digits
    # foreign
    "+380 44 123 4567": "+380441234567",
    "+380501234567": "+380501234567",
    "+375 29 123-45-67": "+375291234567",
    "+375 17 123 45 67": "+375171234567",
    "+1 202 555 0123": "+12025550123",
    "+1 (650) 253-0000": "+16502530000",
    "+44 20 7946 0958": "+442079460958",
    "+44 7911 123456": "+447911123456",
    "+49 30 12345678": "+493012345678",
    "+998 90 123 45 67": "+998901234567",
    "8 10 44 20 7946 0958": "+442079460958",
    "810 44 20 7946 0958": "+442079460958",
    "00 44 20 7946 0958": None,
    # 11 digits starting with 7 or 8, 10 digits by first digit, 9 and 12 digits
    "79991234567": "+79991234567",
    "78121234567": "+78121234567",
    "71234567890": None,
    "72234567890": None,
    "75234567890": None,
    "76234567890": None,
    "70234567890": None,
    "80234567890": None,
    "81234567890": None,
    "85234567890": None,
    "0123456789": None,
    "1123456789": None,
    "2123456789": None,
    "5123456789": None,
    "6123456789": None,
    "8123456789": "+78123456789",  # 812: St Petersburg
    "9123456789": "+79123456789",
    "916123456": None,
    "916123456789": None,
    "891612345678": None,
    "+7916123456": None,
    "+791612345678": None,
    "+7 8 916 123 45 67": "+79161234567",
    "7 8 916 123 45 67": "+79161234567",
    # plus signs
    "++79161234567": "+79161234567",
    "+ +79161234567": None,
    "(+7) 916 123 45 67": "+79161234567",
    "-+7 916 123 45 67": "+79161234567",
    "8 916 123 45 67+": "+79161234567",
    "8+916 123 45 67": None,
    "+0 916 123 45 67": None,
    "+8 916 123 45 67": None,
    "+7": None,
    "+": None,
    "+79": None,
    # short / long
    "12": None,
    "123": None,
    "1234567": None,
    "8 800": None,
    "9" * 17: None,
    "9" * 30: None,
    "8 916 123 45 67" + " " * 250: None,
}


@pytest.mark.parametrize("raw", list(TRICKY))
def test_tricky_case_matches_reference(raw):
    assert normalise_phone(raw) == TRICKY[raw], "the table itself is wrong: it must hold the reference's answer"
    assert normalise_many([raw])[0] == TRICKY[raw]


def test_tricky_cases_together_in_any_order():
    raws = list(TRICKY) * 3
    random.Random(1).shuffle(raws)
    assert normalise_many(raws).tolist() == [TRICKY[r] for r in raws]


def test_missing_values_give_none():
    raws = [None, float("nan"), pd.NA, "89161234567", np.nan, "", None]
    assert normalise_many(raws).tolist() == [None, None, None, "+79161234567", None, None, None]
    s = pd.Series(["89161234567", None, "8 800 555 35 35"], dtype="str")
    assert normalise_many(s).tolist() == ["+79161234567", None, "+78005553535"]


# --------------------------------------------------------------------------- (b) property check
SEPS = [" ", " ", "-", "-", "(", ")", ".", " - ", "  ", "\u00a0", "\u2013", "/", "\t", ",", "x", "+", "_"]
LEAD = ["", "", "", "", " ", "  ", "(", "тел. ", "Tel: ", "\t", "-", "+ ", "моб ", "1) ", ";"]
TRAIL = ["", "", "", "", " ", ")", " доб. 12", ", доб. 345", " ext. 5", " x12", "#", " #12#", ";ext=7", "\r", " abc", "+", ".", " (моб.)", " 8"]
PREFIX = ["", "", "", "+", "+", "++", "+ +", "8 ", "7 ", "8 10 ", "810", "00", "+0", "+8 ", "+7 ", "+7 8 ", "8 (", "+7("]
AREA = ["495", "499", "812", "343", "383", "843", "861", "473", "351", "391", "423", "301", "336", "401", "411", "800", "804", "808", "809", "900", "930", "958", "977", "999"]
KZ = ["701", "705", "707", "747", "771", "775", "778", "751", "710", "711", "712", "717", "721", "727", "760", "785", "799"]
FOREIGN = ["380", "375", "1", "44", "49", "998", "86", "55", "33", "39", "90", "972", "994", "995", "374", "996", "992", "993", "371", "370", "372", "48", "420"]
JUNK = ["", "нет", "-", "0", "n/a", "не указан", "123", "+7", "8", "???", "—", "null", "8 (", "+7 (", "доб. 12"]


def digits(r: random.Random, n: int) -> str:
    return "".join(r.choice("0123456789") for _ in range(n))


def sprinkle(r: random.Random, d: str, p: float) -> str:
    """Digits with separators between them (mostly the usual ones, sometimes odd ones)."""
    out = []
    for ch in d:
        out.append(ch)
        if r.random() < p:
            out.append(r.choice(SEPS[:8]) if r.random() < 0.85 else r.choice(SEPS))
    return "".join(out)


def russian_format(r: random.Random, n: str) -> str:
    a, b, c, d = n[:3], n[3:6], n[6:8], n[8:]
    return r.choice([
        f"+7 ({a}) {b}-{c}-{d}", f"8{n}", f"+7{n}", f"8 ({a}) {b}-{c}-{d}", f"7{n}", f"8 {a} {b} {c} {d}",
        f"+7 {a} {b} {c} {d}", n, f"8-{a}-{b}-{c}-{d}", f"({a}) {b}-{c}-{d}", f"+7-{a}-{b}{c}{d}",
        f"8({a}){b}{c}{d}", f"7 ({a}) {b}.{c}.{d}", f" +7 {a} {b}-{c}-{d} ", f"{a}-{b}-{c}-{d}",
        f"+7 ({a}) {b}-{c}-{d} доб. {r.randrange(1, 1000)}", f"тел. 8 {a} {b}-{c}-{d}", f"8\u00a0{a}\u00a0{b}\u00a0{c}\u00a0{d}",
        f"+7 {a} {b}\u2013{c}\u2013{d}", f"8 {a} {b} {c}{d}",
    ])


def generate(r: random.Random, count: int) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        k = r.random()
        if k < 0.30:  # uniform digits, every length around the interesting ones: mostly invalid
            n = r.choice([0, 1, 2, 3, 5, 7, 8, 9, 9, 10, 10, 10, 11, 11, 11, 11, 12, 12, 13, 14, 15, 17, 18])
            s = r.choice(PREFIX) + sprinkle(r, digits(r, n), r.choice([0, 0.1, 0.3, 0.6]))
            if r.random() < 0.25:
                s = r.choice(LEAD) + s + r.choice(TRAIL)
        elif k < 0.45:  # 10 or 11 digits led by 7 or 8 (and 10 by any digit)
            head = r.choice(["7", "8", "", "", "+7", "+8", "9", "3", "4"])
            s = head + digits(r, 10 if head in ("7", "8", "+7", "+8") else 10 - len(head))
            s = sprinkle(r, s, r.choice([0, 0.2, 0.4]))
        elif k < 0.80:  # realistic Russian (and some KZ) numbers in many formats
            x = r.random()
            if x < 0.55:
                n = "9" + digits(r, 9)
            elif x < 0.85:
                n = r.choice(AREA) + digits(r, 7)
            else:
                n = r.choice(KZ) + digits(r, 7)
            s = russian_format(r, n)
            if r.random() < 0.1:
                s = r.choice(LEAD) + s + r.choice(TRAIL)
        elif k < 0.92:  # foreign numbers
            cc = r.choice(FOREIGN)
            s = r.choice(["+", "+", "+", "00", "8 10 ", "", "++"]) + cc + " " + sprinkle(r, digits(r, r.randrange(6, 12)), 0.3)
        elif k < 0.97:  # junk, repeated
            s = r.choice(JUNK)
        else:  # odd characters
            s = sprinkle(r, digits(r, r.randrange(8, 12)), 0.2)
            i = r.randrange(len(s) + 1)
            s = s[:i] + r.choice(["A", "Б", "%", "٣", "８", "\x00", "\n", "＋", ";phone-context=+7", "tel:", "\ud800", "*"]) + s[i:]
        out.append(s)
    return out


def test_property_many_random_strings_match_reference():
    started = time.process_time()  # CPU time: wall time on a loaded machine says little
    raws = generate(random.Random(20240601), 50_000)
    bad, got = compare(raws)
    assert not bad, report(bad, len(raws))
    valid = sum(x is not None for x in got)
    assert 15_000 < valid < 40_000, valid  # the generator covers both answers
    assert time.process_time() - started < 30


def test_property_in_chunks_and_shuffled_is_the_same():
    """Answers do not depend on what else is in the batch (grouping by shape, caches, order)."""
    r = random.Random(7)
    raws = generate(r, 6_000)
    whole = normalise_many(raws).tolist()
    r.shuffle(order := list(range(len(raws))))
    shuffled = normalise_many([raws[i] for i in order]).tolist()
    assert [shuffled[order.index(i)] for i in range(len(raws))] == whole
    chunks = [x for i in range(0, len(raws), 997) for x in normalise_many(raws[i : i + 997]).tolist()]
    assert chunks == whole


# --------------------------------------------------------------------------- (c) other default regions
@pytest.mark.parametrize("region", ["KZ", "UA", "BY", "DE", "XX", "ru"])
def test_other_default_regions_match_reference(region):
    raws = generate(random.Random(sum(map(ord, region))), 2_500) + list(TRICKY)
    bad, _ = compare(raws, region)
    assert not bad, report(bad, len(raws))


# --------------------------------------------------------------------------- (d) input types
def test_input_types_and_order():
    raws = ["+7 916 123-45-67", "abc", "8 800 555 35 35", "+380 44 123 4567", "89161234567"]
    want = [normalise_phone(x) for x in raws]
    for given in (raws, tuple(raws), pd.Series(raws), pd.Series(raws, dtype="str"), np.array(raws), np.array(raws, dtype=object), pd.Index(raws)):
        assert normalise_many(given).tolist() == want
    assert normalise_many(pd.Series(raws, index=[5, 4, 3, 2, 1])).tolist() == want
    assert normalise_many([]).tolist() == []
    assert normalise_many([79161234567, 9161234567.0]).tolist() == [normalise_phone("79161234567"), normalise_phone("9161234567.0")]


# --------------------------------------------------------------------------- (e) the fast path is taken
def test_clean_formats_never_reach_the_reference(monkeypatch):
    calls = {"reference": 0, "prepare": 0}
    reference, prepare = phones.normalise_phone, phones._prepare

    def counting_reference(*a):
        calls["reference"] += 1
        return reference(*a)

    def counting_prepare(*a):
        calls["prepare"] += 1
        return prepare(*a)

    monkeypatch.setattr(phones, "normalise_phone", counting_reference)
    monkeypatch.setattr(phones, "_prepare", counting_prepare)
    r = random.Random(3)
    raws = []
    for _ in range(5_000):
        n = ("9" + digits(r, 9)) if r.random() < 0.7 else r.choice(AREA + KZ) + digits(r, 7)
        a, b, c, d = n[:3], n[3:6], n[6:8], n[8:]
        raws.append(r.choice([f"+7 ({a}) {b}-{c}-{d}", f"8{n}", f"+7{n}", f"7{n}", n, f"8 {a} {b} {c} {d}", f"8\u00a0{a}\u00a0{b}{c}{d}", f" ({a}) {b}-{c}-{d} "]))
    uniform = (digits(r, r.choice([9, 10, 11, 12])) for _ in range(2_100))  # mostly invalid
    raws += [x for x in uniform if not x.startswith("810")][:2_000]  # 810…: RU's IDD, left to the reference
    got = normalise_many(raws).tolist()
    assert calls == {"reference": 0, "prepare": 0}
    monkeypatch.undo()
    assert got == [normalise_phone(x) for x in raws]


# --------------------------------------------------------------------------- (f) the automata are `re`
def test_digit_automata_agree_with_re_on_the_metadata_patterns():
    """Every pattern the replay uses for these regions, on random, accepted and near-miss strings."""
    from phonenumbers import PhoneMetadata

    r = random.Random(11)
    mds = [PhoneMetadata.metadata_for_region(x) for x in ("RU", "KZ", "UA", "BY", "US", "DE", "UZ")]
    mds.append(PhoneMetadata.metadata_for_nongeo_region(800))
    descs = ("general_desc", "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number", "voip", "pager", "uan", "voicemail")
    patterns = {getattr(md, d).national_number_pattern for md in mds for d in descs if getattr(md, d) is not None and getattr(md, d).national_number_pattern}
    patterns |= {md.leading_digits for md in mds if md.leading_digits} | {md.international_prefix for md in mds if md.international_prefix}
    bad = []
    for pattern in sorted(patterns):
        dfa = phones._dfa(pattern)
        size = len(dfa.acc10) // 10
        trans, accept, dead = dfa.t10.reshape(size, 10) // 10, dfa.acc10.reshape(size, 10)[:, 0], dfa.dead10 // 10
        samples = [digits(r, r.randrange(0, 18)) for _ in range(100)]
        for _ in range(30):  # walk the automaton to an accepting state, then mutate one digit
            state, s = 0, ""
            while len(s) < 20 and not (accept[state] and r.random() < 0.3):
                options = [d for d in range(10) if trans[state, d] != dead]
                if not options:
                    break
                d = r.choice(options)
                s, state = s + str(d), trans[state, d]
            i = r.randrange(len(s) + 1)
            samples += [s, s[:i] + str(r.randrange(10)) + s[i + 1 :], s[:i] + s[i + 1 :], s + str(r.randrange(10))]
        rx = re.compile(pattern)
        for n in {len(s) for s in samples}:
            group = [s for s in samples if len(s) == n]
            cols = [np.array([int(s[i]) for s in group], dtype=np.int32) for i in range(n)]
            for s, full, prefix in zip(group, dfa.full(cols, len(group)), dfa.prefix(cols, len(group)), strict=True):
                if bool(full) != bool(rx.fullmatch(s)) or bool(prefix) != bool(rx.match(s)):
                    bad.append((pattern, s, bool(full), bool(prefix)))
    assert len(patterns) > 40
    assert not bad, bad[:20]


def test_format_phone_fast_path_matches_phonenumbers():
    """The list shows every phone through format_phone; its direct layout of Russian mobiles must
    give exactly what phonenumbers' parse → is_valid → INTERNATIONAL gives, for valid and invalid
    numbers alike (the 930-00… ranges the metadata leaves out are not formatted)."""
    import phonenumbers

    from app.core.kinds.phone import format_phone

    def reference(value: str) -> str:
        num = phonenumbers.parse(value, "RU")
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL) if phonenumbers.is_valid_number(num) else value

    rnd = random.Random(9)
    values = ["+79" + "".join(rnd.choice("0123456789") for _ in range(9)) for _ in range(20000)]
    values += ["+79300" + "".join(rnd.choice("0123456789") for _ in range(6)) for _ in range(5000)]
    values += ["+74951234567", "+77012345678", "+375291234567", "+7916123456"]
    assert [format_phone(v) for v in values] == [reference(v) for v in values]
    assert format_phone("+79161234567") == "+7 916 123-45-67" and format_phone("") == "" and format_phone(None) == ""
