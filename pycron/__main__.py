"""`python -m pycron` runs the command-line interface."""

from pycron.cli import main

main()
