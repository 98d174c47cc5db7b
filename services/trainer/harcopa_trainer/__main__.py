"""One training worker: ``python -m harcopa_trainer --config FILE`` (``torchrun`` starts one per
device; ``harcopa train`` starts them). Alone, it is a job of world size 1."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harcopa.errors import HarcopaError
from harcopa.logging import configure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harcopa_trainer", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="recipe YAML")
    args = parser.parse_args(argv)
    from harcopa_trainer.launch import single_process_environment

    os.environ.update(single_process_environment(os.environ))
    configure("trainer", "INFO", "text")
    from harcopa_trainer.config import load_config
    from harcopa_trainer.train import run

    try:
        recipe, training = load_config(args.config)
        run(recipe, training)
    except HarcopaError as error:
        print(f"harcopa train: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
