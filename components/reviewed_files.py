"""The repository's reviewed files, read and checked at the top of the program, before any resource.

The status page's notices (`statuspage/incidents/*.yaml`) and the API's OpenAPI document
(`apireference/openapi.yaml`) are merged like code and uploaded by `pulumi up`. A file that does
not fit must stop the run before anything is declared (not halfway, after the network and the
database were registered), print without a Python traceback, and name every file and key at once:
so their errors become one `StackConfigError`, which `pulumi up` and `omni` print alone. Customer
tenant files (`identity/customers/`) are checked the same way by `identity.tenants`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from apireference.render import SPEC_PATH, ApiReferenceError, load_spec
from stackconfig.errors import Problem, StackConfigError
from statuspage.notices import NOTICES_DIR, NoticeError, parse_notice_text

# Paths in messages are shown from the repository's root, as a reviewer finds them.
REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


class ReviewedFileError(StackConfigError):
    """One or more reviewed files do not fit: each problem names the file, the key and the fix."""

    def __init__(self, problems: list[Problem]):
        count = len(problems)
        header = f"{count} reviewed file{' does' if count == 1 else 's do'} not fit; no resource was declared."
        # A StackConfigError's fields, with a header about files rather than configuration values.
        self.source, self.problems = "the repository's reviewed files", problems
        pulumi.RunError.__init__(self, "\n".join([header, *(problem.render() for problem in problems)]))


@dataclass(frozen=True)
class ReviewedFiles:
    notices: Mapping[str, str]
    """Notice id (the file name) -> its YAML text, every one parsed and valid."""
    api_spec: Mapping[str, Any]
    """The OpenAPI document as data (checked in every stack: a broken file must not wait for the
    stack that publishes it)."""


def _problem(shown: str, message: str, named_as: str) -> Problem:
    # The loaders' messages start with the file as they named it; the problem is keyed by it already.
    detail = message.removeprefix(f"{named_as}: ")
    return Problem(shown, "the file as written", f"{detail}; fix the file and commit it")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def load_reviewed_files(
    *,
    notices_dir: Path = NOTICES_DIR,
    spec_path: Path = SPEC_PATH,
    root: Path = REPOSITORY_ROOT,
) -> ReviewedFiles:
    """Every notice and the OpenAPI document, or `ReviewedFileError` listing every file that does not fit."""
    problems: list[Problem] = []
    notices: dict[str, str] = {}
    for path in sorted(notices_dir.glob("*.yaml")):
        origin = _relative(path, root)
        text = path.read_text(encoding="utf-8")
        try:
            parse_notice_text(text, path.stem, origin)
        except NoticeError as error:
            problems.append(_problem(origin, str(error), origin))
        else:
            notices[path.stem] = text
    api_spec: dict[str, Any] = {}
    try:
        api_spec = load_spec(spec_path)
    except ApiReferenceError as error:
        problems.append(_problem(_relative(spec_path, root), str(error), str(spec_path)))
    except OSError as error:
        problems.append(Problem(_relative(spec_path, root), "unreadable", f"{error.strerror}; restore the file"))
    if problems:
        raise ReviewedFileError(problems)
    return ReviewedFiles(notices, api_spec)
