"""Writing the resources report: one file per format and language, and its charts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from schemas.registry import TOPICS
from services.audit import resources_data, resources_formats
from services.audit.resources import RESOURCE_TOPICS, ResourcesReport
from services.audit.resources_charts import write_resource_charts

_RENDER: dict[str, Callable[[ResourcesReport, str], str]] = {
    "md": resources_formats.to_markdown,
    "csv": resources_data.to_csv,
    "json": resources_data.to_json,
}


def readable_topics() -> tuple[tuple[str, ...], list[str]]:
    """The report's topics this contract knows, and those it does not (left out)."""
    known = tuple(topic for topic in RESOURCE_TOPICS if topic in TOPICS)
    return known, [topic for topic in RESOURCE_TOPICS if topic not in TOPICS]


def render(report: ResourcesReport, output_format: str, lang: str) -> str:
    return _RENDER[output_format](report, lang)


def write_files(
    report: ResourcesReport, directory: Path, formats: Iterable[str], lang: str
) -> list[Path]:
    """`resources-<lang>.<format>` for each format, then the PNG charts; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in formats:
        path = directory / f"resources-{lang}.{name}"
        path.write_text(render(report, name, lang), encoding="utf-8")
        written.append(path)
    return written + write_resource_charts(report, directory, lang)
