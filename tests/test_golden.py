"""Golden outputs: every command group gives, to the last digit, the JSON recorded in tests/golden/.

The files were recorded (``python tests/golden/cases.py``) before the code was reorganised into
data / engines / analysis stages; a reorganisation must not move a single bit of a number. Texts are
compared too, so a deliberate change of wording means re-recording — and checking with
:func:`differences` (``strings=False``) that only texts moved.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"
sys.path.insert(0, str(GOLDEN))
import cases  # noqa: E402

sys.path.remove(str(GOLDEN))


def differences(old, new, path="", strings=True) -> list[str]:
    """Paths where two JSON trees differ: keys, list lengths, types, numbers bit for bit, texts."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = [f"{path}: keys {sorted(set(old) ^ set(new))}"] if set(old) != set(new) else []
        for k in set(old) & set(new):
            if k == "version":
                continue
            out += differences(old[k], new[k], f"{path}.{k}", strings)
        return out
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{path}: length {len(old)} != {len(new)}"]
        return [x for i, (a, b) in enumerate(zip(old, new, strict=True))
                for x in differences(a, b, f"{path}[{i}]", strings)]
    if type(old) is not type(new):
        return [f"{path}: {old!r} != {new!r}"]
    if isinstance(old, str) and not strings:
        return []
    return [] if old == new else [f"{path}: {old!r} != {new!r}"]


@pytest.fixture(scope="module")
def all_cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("golden")
    return folder, cases.cases(folder)


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.json")))
def test_golden(name, all_cases):
    folder, table = all_cases
    rc, out, err = cases.run(table[name])
    assert rc == 0, err
    new = cases.strip_paths(json.loads(out), str(folder))
    old = json.loads((GOLDEN / f"{name}.json").read_text())
    diff = differences(old, new)
    assert not diff, "\n".join(diff[:20])


def test_differences_sees_one_ulp():
    """The comparison itself: one unit in the last place, a missing key, a changed text."""
    import math

    x = 0.1
    assert differences({"a": x}, {"a": math.nextafter(x, 1.0)})
    assert differences({"a": 1, "b": 2}, {"a": 1})
    assert differences({"s": "t_C"}, {"s": "t_c"})
    assert not differences({"s": "t_C"}, {"s": "t_c"}, strings=False)
    assert not differences({"a": [1.5, None]}, {"a": [1.5, None]})
