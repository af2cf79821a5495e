"""`python -m samtale_automation` runs the CLI."""

from samtale_automation.cli import main

main()
