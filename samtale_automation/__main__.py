"""`python -m samtale_automation` runs the CLI."""

from samtale_automation.faces.cli import main

main()
