"""``python -m nhictl``."""

from nhictl.cli.app import run

if __name__ == "__main__":
    run()
