"""``python -m core``: the command-line interface (see :mod:`core.cli`)."""

from __future__ import annotations

import sys

from core.cli import EXIT_BROKEN_PIPE, main, silence_stdout

if __name__ == "__main__":
    code = main()
    try:  # what is still buffered goes out now, while a broken pipe can be told apart
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout(sys.stdout)
        code = EXIT_BROKEN_PIPE
    sys.exit(code)
