"""The one writer of benchmarks/RESULTS.md sections that scripts generate."""

import os
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(script, heading, text):
    """Replace the section ``script`` wrote last time (between its markers), or append
    it under ``heading``. ``script`` may name one of a script's sections, as
    ``realism.py:NAME``. Written to a temporary file and renamed."""
    start, end = f"<!-- {script}:start -->", f"<!-- {script}:end -->"
    body = (f"{start}\nMeasured {time.strftime('%Y-%m-%d')} with "
            f"`python benchmarks/{script.split(':')[0]}`.\n\n{text}\n{end}")
    current = RESULTS.read_text()
    if start in current and end in current:
        current = current[:current.index(start)] + body + current[current.index(end) + len(end):]
    else:
        current = current.rstrip() + f"\n\n## {heading}\n\n{body}\n"
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(current)
    os.replace(tmp, RESULTS)
    print(f"{RESULTS}: updated")
