"""`python -m services.placement worker` (or `returns run placement`)."""

from services.placement.app import build_app
from services.runtime.run import run

if __name__ == "__main__":
    run("placement", build_app)
