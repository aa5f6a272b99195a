"""Measuring the pipeline from its topics: rates, decisions, lag and end-to-end latency. Pure.

What ``returns top`` and the surge-isolation load test share. Events are read as an
auditor reads them (no consumer group); only envelope fields and a few non-personal
fields of ``data`` are kept (:mod:`services.observe.events`).

>>> observer = Observer(["ELP", "SAN"], window=60.0)
>>> observer.add(observation)                 # one event, any observed topic
>>> observer.snapshot(now).crossings          # per crossing: rates, counts, p95s
"""

from services.observe.dashboard import CrossingFigures, Observer, Snapshot
from services.observe.events import OBSERVED_TOPICS, Observation, observe
from services.observe.journeys import STAGES, Journey, Journeys, Stage
from services.observe.lag import SERVICE_INPUTS, consumer_group, lane_lags
from services.observe.windows import RecentIds, WindowedCounter, percentile

__all__ = [
    "OBSERVED_TOPICS",
    "SERVICE_INPUTS",
    "STAGES",
    "CrossingFigures",
    "Journey",
    "Journeys",
    "Observation",
    "Observer",
    "RecentIds",
    "Snapshot",
    "Stage",
    "WindowedCounter",
    "consumer_group",
    "lane_lags",
    "observe",
    "percentile",
]
