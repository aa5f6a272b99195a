"""Auditing the recorded history: replay the decision topics and re-derive every decision.

- `reader`: a replay of the topics with its own consumer (no group, no commits), merged
  into one stream in log order, each event once;
- `timeline`: one case or group across every topic;
- `verify`: re-runs screening and placement over the history and checks completeness
  and the invariants;
- `report`: the cohort report a ministry would publish;
- `whatif`: another screening rule set over the same history, with nothing written.

Everything but `reader` and `cli` is pure: lists of events in, results out.
See docs/adr/0007-audit-replay.md.
"""
