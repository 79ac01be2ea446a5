"""`python -m pycron` runs the `pycron` command."""

from pycron.launch import main

main()
