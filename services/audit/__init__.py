"""Auditing the recorded history: replay the decision topics and re-derive every decision.

- `reader`: a replay of the topics with its own consumer (no group, no commits), merged
  into one stream in log order (`events`), each event once;
- `timeline` (`returns audit case`): one case or group across every topic;
- `verify`: re-runs screening (`assembly`, `screening_check`) and placement
  (`placement_check`) over the history and checks completeness (`completeness`);
- `report` (`report_formats`, `charts`): the cohort report a ministry would publish;
- `whatif`: another screening rule set over the same history, with nothing written;
- `cli`: the `returns audit` commands; `views`: their tables;
- `synthetic` (`synthetic_people`, `simulation`): generated histories for tests and
  `bench/replay.py`, never used by the audit itself.

Everything but `reader` and `cli` is pure: lists of events in, results out.
See docs/adr/0007-audit-replay.md.
"""
