"""Allow `python -m facegate`."""

from facegate.cli import main

main()
