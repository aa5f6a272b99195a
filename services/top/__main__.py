"""``python -m services.top``: the live view on its own (``returns top`` mounts the same)."""

import typer

from services.top.cli import top

if __name__ == "__main__":
    typer.run(top)
