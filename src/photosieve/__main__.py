"""`python -m photosieve`: the same entry point as the console script."""

import sys

from photosieve.cli import main

if __name__ == "__main__":
    sys.exit(main())
