"""Run the collector alone: `python pinger.py [--config PATH] [--init-db] [--once] [-v]`."""
import sys

from collector.cli import main

if __name__ == "__main__":
    sys.exit(main())
