"""How many replicas every topic the project creates gets, from the environment.

One setting for `returns topics`, the table changelogs and faust's own topics, so that
a stack on a cluster is replicated throughout: a single unreplicated changelog would be
lost with its broker (docs/adr/0026-three-broker-cluster.md). The default, 1, is the
single-node development broker; a 3-node cluster uses 3, with the cluster's
``min.insync.replicas=2`` so that an ``acks=all`` write survives the loss of a node.
"""

from __future__ import annotations

import os

from services.runtime.settings import ConfigurationError

REPLICATION_FACTOR_ENV = "RETURNS_REPLICATION_FACTOR"


class ReplicationFactorError(ConfigurationError):
    """RETURNS_REPLICATION_FACTOR is not a whole number from 1 up."""


def replication_factor() -> int:
    """``RETURNS_REPLICATION_FACTOR`` (default 1), checked."""
    raw = os.environ.get(REPLICATION_FACTOR_ENV, "").strip() or "1"
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ReplicationFactorError(
            f"{REPLICATION_FACTOR_ENV}={raw!r} is not a replica count: give a whole number"
            " from 1 (one broker) up to the number of brokers, e.g. 3 on a 3-node cluster."
        )
    return value
