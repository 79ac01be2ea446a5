"""`python -m pycron` runs the `pycron` command."""

from pycron.cli import main

main()
