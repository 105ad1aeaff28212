"""`python -m photosieve`: the same entry point as the console script."""

from photosieve.cli import main

if __name__ == "__main__":
    main()
