"""What a clone's boot-time stages import: their start-up, cold, is most of sysprep's cost in
a first boot (docs/benchmarks.md), so the answer-file parsers and the disk-image engine,
which they do not use without an answer file, stay out of it."""

from __future__ import annotations

import subprocess
import sys

# the modules of `sysprep boot --stage specialize`: the command, the engine and the
# providers' runner it imports when the pass starts
STAGE = (
    "sysprep.__main__",
    "sysprep.commands.boot",
    "sysprep.passes.boot",
    "sysprep.passes.prepare",
)
UNUSED = (
    "yaml",
    "sysprep.answer.yamlform",
    "sysprep.answer.xmlform",
    "sysprep.target.image.session",
    "sysprep.target.image.ops",
    "sysprep.scan.proof",
)


def test_boot_stage_imports_neither_answer_file_parsers_nor_the_image_engine():
    code = (
        f"import sys\nfor m in {STAGE!r}: __import__(m)\n"
        f"print(' '.join(m for m in {UNUSED!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == []
