"""``python -m hybridsim.cli ...``: the ``hybridsim`` command."""

from hybridsim.cli import main

if __name__ == "__main__":  # a tool that imports every module (doctest collection) runs nothing
    raise SystemExit(main())
