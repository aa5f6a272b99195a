"""When each open group is due, per partition, so that finding the due ones reads only them.

The ``open`` table stays the state: group id -> "<partition> <due time>". The index
derived from it (`Deadlines`) is shared with every table kept for a retention, and lives
in the runtime (`services.runtime.due`); docs/adr/0027-deadline-index.md.
"""

from __future__ import annotations

from services.runtime.due import Deadlines, open_line, read_open_line

__all__ = ["Deadlines", "open_line", "read_open_line"]
