"""`python -m services.notify worker` (or `returns run notify`)."""

from services.notify.app import build_app
from services.runtime.run import run

if __name__ == "__main__":
    run("notify", build_app)
