"""``python -m cli`` (and ``torchrun -m cli``): the same command line as ``robust-eval``."""

from cli import main

if __name__ == "__main__":
    main(prog_name="robust-eval")
