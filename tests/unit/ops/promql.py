"""The metric names a PromQL expression reads, and the names the code exports."""

from __future__ import annotations

import re
from collections.abc import Iterable

from prometheus_client import CollectorRegistry

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")
_LABEL_VALUES = re.compile(r"label_values\(\s*([^,()]+?)\s*,[^()]*\)")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE
)
_WORD = re.compile(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "by", "without", "inf", "nan"})
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
    "gauge": ("",),
}


def metric_names(expression: str) -> set[str]:
    """Every metric an expression selects (functions, labels and keywords left out)."""
    text = _LABEL_VALUES.sub(r" \1 ", expression)  # Grafana's: the 2nd argument is a label
    text = _VARIABLE.sub(" 1 ", _STRING.sub(" ", text))
    text = _RANGE.sub(" ", _GROUPING.sub(" ", _MATCHERS.sub(" ", text)))
    return {word for word in _WORD.findall(text) if word.lower() not in _KEYWORDS}


def exported_names(registries: Iterable[CollectorRegistry]) -> set[str]:
    """The sample names the registries expose on /metrics (``_total``, ``_bucket``...)."""
    names: set[str] = set()
    for registry in registries:
        for family in registry.collect():
            names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
    return names
