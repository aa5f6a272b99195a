"""A simulator of upstream returns and of the INM side, for load and end-to-end runs.

>>> records = list(generate(seed=7, n=1000))           # pure, deterministic
>>> Simulation(config, reference, submit).run()        # paced, stops after the duration

``returns simulate`` (:func:`services.simulator.cli.simulate`) is the command line;
``profiles/default.toml`` holds every rate; docs/adr/0008-simulator.md explains why,
and docs/adr/0016-realistic-submission-timing.md how late and from whom records come
(``SimulationConfig(timing=timing_from(profile))``; the default is :data:`IMMEDIATE`).
With ``--partners-file`` it also plays the legal-aid partners: ``partners`` (what they
do, seeded per request), ``partner_desk`` (when each report is due) and ``partner_run``
(requests read from Kafka, reports posted to notify); docs/adr/0018.
"""

from services.simulator.plan import Plan, SendGroup, SimulationConfig
from services.simulator.population import DEFAULT_START, Population, generate
from services.simulator.profile import Profile, ProfileError, load_profile
from services.simulator.run import RunStats, Simulation, SimulationAborted
from services.simulator.schedule import Surge, parse_surge, send_times, split_rate
from services.simulator.timing import IMMEDIATE, Timing, timing_from

__all__ = [
    "DEFAULT_START",
    "IMMEDIATE",
    "Plan",
    "Population",
    "Profile",
    "ProfileError",
    "RunStats",
    "SendGroup",
    "Simulation",
    "SimulationAborted",
    "SimulationConfig",
    "Surge",
    "Timing",
    "generate",
    "load_profile",
    "parse_surge",
    "send_times",
    "split_rate",
    "timing_from",
]
