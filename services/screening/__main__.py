"""`python -m services.screening worker` (or `returns run screening`)."""

from services.runtime.run import run
from services.screening.app import build_app

if __name__ == "__main__":
    run("screening", build_app)
