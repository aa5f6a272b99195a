"""Screening: one decision for each group of people returned to Mexico.

The rules are pure and live in `rules.py` (`decide_group`); the thresholds and code
lists are data, in `rulesets/<name>.toml`, loaded by `ruleset.load_rule_set`.
"""
