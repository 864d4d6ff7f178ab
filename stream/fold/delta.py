"""What changed between two snapshots, as an RFC 6902 JSON Patch.

The wall applies these patches to its copy of the snapshot, so a change of one
queue's waiting count travels as one small operation instead of the whole floor.

>>> diff({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3, "d": 4}})
[{'op': 'replace', 'path': '/b/c', 'value': 3}, {'op': 'add', 'path': '/b/d', 'value': 4}]
>>> apply_patch({"a": 1, "b": {"c": 2}}, diff({"a": 1, "b": {"c": 2}}, {"b": {"c": 3}}))
{'b': {'c': 3}}
"""

from __future__ import annotations

import copy
from typing import Any


def _esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _unesc(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def diff(old: Any, new: Any, path: str = "") -> list[dict]:
    """Operations that turn ``old`` into ``new`` (objects recursed, lists replaced whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[dict] = []
        for k, v in new.items():
            p = f"{path}/{_esc(str(k))}"
            if k not in old:
                ops.append({"op": "add", "path": p, "value": v})
            elif old[k] != v:
                ops.extend(diff(old[k], v, p))
        for k in old:
            if k not in new:
                ops.append({"op": "remove", "path": f"{path}/{_esc(str(k))}"})
        return ops
    if old == new and type(old) is type(new):
        return []
    return [{"op": "replace", "path": path, "value": new}]


def apply_patch(doc: Any, ops: list[dict]) -> Any:
    """Apply ``diff``'s operations to a copy of ``doc`` (the subset diff produces)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        path = op["path"]
        if path == "":
            doc = copy.deepcopy(op["value"])
            continue
        parts = [_unesc(p) for p in path.split("/")[1:]]
        target = doc
        for part in parts[:-1]:
            target = target[part]
        last = parts[-1]
        if op["op"] == "remove":
            del target[last]
        else:
            target[last] = copy.deepcopy(op["value"])
    return doc
