"""Regenerates harcopa/v1/*_pb2.py, *_pb2_grpc.py and *.pyi from protos/; run by developers and CI.

Usage: python scripts/gen_protos.py [--check]. With --check, generation goes to a temporary
folder and the script exits 1 when the checked-in code differs (stale or hand-edited).
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT_PACKAGE = Path("harcopa") / "v1"


def generate(out_root: Path) -> list[Path]:
    """Compile every proto under protos/harcopa/v1 into out_root/harcopa/v1; return the files."""
    protos = sorted((PROTO_ROOT / OUT_PACKAGE).glob("*.proto"))
    (out_root / OUT_PACKAGE).mkdir(parents=True, exist_ok=True)
    for proto in protos:
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"--python_out={out_root}",
            f"--pyi_out={out_root}",
            f"--grpc_python_out={out_root}",
            str(proto.relative_to(PROTO_ROOT)),
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed on {proto}")
    init = out_root / OUT_PACKAGE / "__init__.py"
    init.write_text(
        '"""Generated gRPC code for harcopa.v1 (do not edit; see scripts/gen_protos.py)."""\n'
    )
    return sorted(p for p in (out_root / OUT_PACKAGE).iterdir() if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if checked-in code is stale")
    args = parser.parse_args()
    if not args.check:
        generate(ROOT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        checked_in = ROOT / OUT_PACKAGE
        stale = [
            p.name
            for p in fresh
            if not (checked_in / p.name).exists() or not filecmp.cmp(p, checked_in / p.name, False)
        ]
        extra = {p.name for p in checked_in.glob("*_pb2*.py*")} - {p.name for p in fresh}
        if stale or extra:
            print(f"generated code is stale: {sorted(stale) + sorted(extra)}", file=sys.stderr)
            print("run: python scripts/gen_protos.py", file=sys.stderr)
            return 1
    print("generated code is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
