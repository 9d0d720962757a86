"""The findings of ``aksara check``: one status and one line of advice per check, printed as
aligned text or as JSON for machines."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

__all__ = ["Finding", "Status", "exit_status", "render_json", "render_text"]


class Status(enum.Enum):
    """How a check came out: PASS, WARN (worth a look) or FAIL (fix before production)."""

    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's result: its *check* name, *status*, a one-line *message* saying what to
    do, and *details* (figures a machine may want: query counts, connection totals...)."""

    check: str
    status: Status
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-ready values."""
        data = asdict(self)
        data["status"] = self.status.value
        return data


def exit_status(findings: Iterable[Finding]) -> int:
    """1 when any finding is a FAIL, else 0."""
    return 1 if any(finding.status is Status.FAIL for finding in findings) else 0


def _totals(findings: Sequence[Finding]) -> dict[str, int]:
    return {
        status.value.lower(): sum(1 for finding in findings if finding.status is status)
        for status in Status
    }


def render_text(findings: Sequence[Finding]) -> str:
    """One aligned line per finding (``FAIL  pagination  GET /api/tags/ ...``) and a total."""
    width = max((len(finding.check) for finding in findings), default=0)
    lines = [
        f"{finding.status.value}  {finding.check:<{width}}  {finding.message}"
        for finding in findings
    ]
    totals = _totals(findings)
    lines.append(
        f"{totals['pass']} passed, {totals['warn']} warnings, {totals['fail']} failed"
        f" ({len(findings)} checks)."
    )
    return "\n".join(lines)


def render_json(findings: Sequence[Finding]) -> str:
    """``{"findings": [...], "totals": {"pass", "warn", "fail"}, "status": 0 | 1}``."""
    document = {
        "findings": [finding.as_dict() for finding in findings],
        "totals": _totals(findings),
        "status": exit_status(findings),
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()
