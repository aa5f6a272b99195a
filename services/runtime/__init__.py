"""The shared runtime: settings, topology, partitioner, faust set-up, telemetry, run()."""
