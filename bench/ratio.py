"""The pipeline against the ceiling of Kafka on this machine, in one run.

1. the raw aiokafka relay of 4 hops (`bench/relay.py`): records per second;
2. the same relay with each hop a faust agent (`bench/faust_relay.py`): what faust
   itself allows, before any of the services' own work;
3. the pipeline (`bench/pipeline.py`, one worker per service) under a rate ladder:
   the highest rate it sustains;
4. the pipeline at ``--latency-rate`` (200 returns/s by default): p50/p95/p99 from
   submission to `legal-aid-requested`, and each service's RSS.

Prints the two relays' rates, the pipeline's sustained rate, and the ratios pipeline/raw
relay and faust relay/raw relay. All run on the same broker within minutes, so a noisy
machine moves them alike. Usage::

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 python -m bench.ratio --rates 30,60,90
"""

from __future__ import annotations

import argparse
import statistics
import sys

from bench.common import cleanup
from bench.faust_relay import faust_relay_runs
from bench.pipeline import one_rate
from bench.relay import describe, relay_runs
from services.observe import percentile


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="relay records per run")
    parser.add_argument("--relay-runs", type=int, default=3)
    parser.add_argument("--rates", default="30,60,90", help="pipeline ladder, returns/s")
    parser.add_argument("--latency-rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured span per rate")
    parser.add_argument("--lag-slack", type=float, default=5.0, help="seconds of input")
    parser.add_argument("--seed", type=int, default=20_191_129)
    args = parser.parse_args(argv)

    relay = relay_runs(args.records, args.relay_runs, args.seed)
    relay_median = statistics.median(run.rate for run in relay)
    print(f"relay, 4 hops: {describe(relay)}", flush=True)
    faust_relay = faust_relay_runs(args.records, args.relay_runs, args.seed)
    faust_median = statistics.median(run.rate for run in faust_relay)
    print(f"faust relay, 4 hops: {describe(faust_relay)}", flush=True)
    results = []
    try:
        for rate in [float(r) for r in args.rates.split(",")]:
            result = one_rate(rate, args.seconds, args.seed)
            results.append(result)
            print(result.line(args.lag_slack), flush=True)
        at_target = one_rate(args.latency_rate, args.seconds, args.seed)
        print(at_target.line(args.lag_slack), flush=True)
    finally:
        cleanup()
    held = [r.rate for r in [*results, at_target] if r.sustained(args.lag_slack)]
    best = max(held, default=0.0)
    # A return is one record on each hop, as a relayed record is.
    print(
        f"pipeline sustained {best:g} returns/s; relay {relay_median:.0f} records/s; "
        f"ratio {best / relay_median:.3f}"
    )
    cpu_ratio = statistics.median(r.cpu_ms for r in relay) / statistics.median(
        r.cpu_ms for r in faust_relay
    )
    print(
        f"faust relay {faust_median:.0f} records/s; relay {relay_median:.0f} records/s; "
        f"ratio {faust_median / relay_median:.3f} (per CPU-second: {cpu_ratio:.3f})"
    )
    legal_aid = at_target.latencies.get("legal_aid", [])
    quantiles = ", ".join(
        f"p{q} {value:.2f}s" if (value := percentile(legal_aid, q)) is not None else f"p{q} -"
        for q in (50, 95, 99)
    )
    print(
        f"at {args.latency_rate:g} returns/s, submission to legal-aid-requested: {quantiles}"
        f" ({'sustained' if at_target.sustained(args.lag_slack) else 'NOT sustained'}); "
        "RSS " + ", ".join(f"{n} {mb:.0f} MB" for n, mb in at_target.rss_mb.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
