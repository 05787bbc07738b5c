"""Which edit format suits a model: the same MTPB problems, one session per format, side by side.

    python benchmarks/edit_formats.py ../shared/mtpb/mtpb-dev.jsonl --limit 8 --formats whole,merge,diff

Runs test case 0 of the first LIMIT problems that need no missing data file,
multi-turn, with the embedded model unless --model says otherwise, and prints
pass counts per format. Results go to --out (JSON lines) as they come.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from chatpkg.bench.mtpb import load_problems, missing_data, run_case
from chatpkg.core.models import resolve_model
from chatpkg.core.models.embedded import EMBEDDED_MODEL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("problems", type=Path)
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--formats", default="whole,merge,diff")
    parser.add_argument("--model", default=EMBEDDED_MODEL)
    parser.add_argument("--max-repairs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("edit_formats.jsonl"))
    args = parser.parse_args()
    problems = [p for p in load_problems(args.problems) if missing_data(p) is None][: args.limit]
    formats = args.formats.split(",")
    model = resolve_model(args.model)
    passed = {f: 0 for f in formats}
    print(f"{'problem':<32}" + "".join(f"{f:>14}" for f in formats))
    with tempfile.TemporaryDirectory(prefix="chatpkg-formats-") as scratch, args.out.open("a") as out:
        for problem in problems:
            cells = []
            for fmt in formats:
                result = run_case(problem, 0, model, Path(scratch) / f"{problem['id']}-{fmt}",
                                  edit_format=fmt, max_repairs=args.max_repairs)
                out.write(json.dumps({"id": problem["id"], "edit_format": fmt, **result}) + "\n")
                out.flush()
                passed[fmt] += result["status"] == "passed"
                cells.append(f"{result['status'][:4]} {result.get('seconds', 0):>5.0f}s")
            print(f"{problem['name'][:31]:<32}" + "".join(f"{c:>14}" for c in cells), flush=True)
    print(f"{'passed':<32}" + "".join(f"{passed[f]:>11}/{len(problems)}" for f in formats))


if __name__ == "__main__":
    main()
