"""``python -m services.simulator``: the ``returns simulate`` command on its own."""

import typer

from services.simulator.cli import simulate

if __name__ == "__main__":
    typer.run(simulate)
