"""`python -m services.intake worker` (or `returns run intake`)."""

from services.intake.app import build_app
from services.runtime.run import run

if __name__ == "__main__":
    run("intake", build_app)
