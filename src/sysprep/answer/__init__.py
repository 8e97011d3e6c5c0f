"""Answer files: the unattend.xml / YAML model, readers, validation, cache and secrets.

    answer, warnings = sysprep.answer.load("unattend.xml")   # UsageError on a bad file
    answer.run_synchronous("specialize"); answer.time_zone("oobeSystem"); ...

See docs/answer-file-reference.md (generated from sysprep.answer.schema).
"""

from __future__ import annotations

from sysprep.answer.model import Answer, generate_computer_name
from sysprep.answer.problems import Problem
from sysprep.answer.reader import Format, load, parse

__all__ = ["Answer", "Format", "Problem", "generate_computer_name", "load", "parse"]
