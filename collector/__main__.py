"""`python -m collector` runs the standalone collector."""
import sys

from collector.cli import main

sys.exit(main())
