"""The five-less policy check: does a version's definition keep every procedure
step online, paperless, seal-free, cashless and fax-free? Each principle passes,
fails (naming the offending item and how to fix it) or is exempt (an approved,
unexpired exemption covers a failure). Publishing is refused while any fails."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from procedures.models import Exemption, Principle

PASS, FAIL, EXEMPT = "pass", "fail", "exempt"

# Words that usually mean a principle is broken. A mention is flagged for the
# department to remove or rephrase ("no seal needed" is better said by silence).
KEYWORDS: dict[str, tuple[list[str], list[str]]] = {
    # principle: (Japanese words, English words)
    Principle.PAPERLESS: (["原本", "郵送", "持参"], ["paper original", "by post"]),
    Principle.HANKO_LESS: (
        ["押印", "捺印", "印鑑", "実印", "認印", "はんこ", "ハンコ"],
        ["seal", "seals", "hanko"],
    ),
    Principle.CASHLESS: (["収入証紙", "収入印紙", "現金"], ["revenue stamps?", "in cash"]),
    Principle.FAX_LESS: (
        ["ＦＡＸ", "ファックス", "ファクス", "ファクシミリ"],
        ["fax", "facsimile"],
    ),
    Principle.TOUCHLESS: (["来庁", "窓口", "来所"], ["in[ -]person", "visit (?:the|our) office"]),
}


def _keyword_pattern(japanese: list[str], english: list[str]) -> re.Pattern:
    # English words stand alone (not inside "faxless"), but may touch Japanese
    # text ("FAXで送付"), so the boundary is "no ASCII letter", not \b.
    latin = "|".join(english)
    return re.compile("|".join([*japanese, f"(?<![A-Za-z])(?:{latin})(?![A-Za-z])"]), re.IGNORECASE)


_KEYWORD_PATTERNS = {principle: _keyword_pattern(*words) for principle, words in KEYWORDS.items()}


@dataclass(frozen=True)
class Finding:
    principle: str
    path: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "fix": self.fix}


@dataclass
class PrincipleResult:
    principle: str
    status: str = PASS
    findings: list[Finding] = field(default_factory=list)
    exemption: Exemption | None = None

    @property
    def label(self) -> str:
        return str(Principle(self.principle).label)

    def as_dict(self) -> dict[str, Any]:
        return {
            "principle": self.principle,
            "status": self.status,
            "findings": [finding.as_dict() for finding in self.findings],
            "exemption": self.exemption.pk if self.exemption else None,
        }


@dataclass
class PolicyReport:
    results: dict[str, PrincipleResult]

    @property
    def failing(self) -> list[PrincipleResult]:
        return [result for result in self.results.values() if result.status == FAIL]

    @property
    def publishable(self) -> bool:
        return not self.failing

    def as_dict(self) -> dict[str, Any]:
        return {
            "publishable": self.publishable,
            "principles": [result.as_dict() for result in self.results.values()],
        }


def _texts(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, text) of every human text in a definition, in both languages."""
    if isinstance(node, dict):
        if "ja" in node and all(isinstance(value, str) for value in node.values()):
            for language, text in node.items():
                yield f"{path}.{language}", text
            return
        for key, value in node.items():
            if key in ("condition", "required_if", "pattern"):
                continue
            yield from _texts(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _texts(value, f"{path}.{index}")


def _all_fields(definition: dict) -> Iterator[tuple[str, dict]]:
    for step_index, step in enumerate(definition.get("form", {}).get("steps", [])):
        for field_index, spec in enumerate(step.get("fields", [])):
            path = f"form.steps.{step_index}.fields.{field_index}"
            yield path, spec
            for sub_index, sub in enumerate(spec.get("fields", [])):
                yield f"{path}.fields.{sub_index}", sub


def _structural_findings(definition: dict) -> Iterator[Finding]:
    for path, spec in _all_fields(definition):
        if spec.get("paper_original_required"):
            yield Finding(
                Principle.PAPERLESS,
                f"{path}.paper_original_required",
                _("The attachment “%(key)s” asks for the paper original.") % {"key": spec["key"]},
                _(
                    "Accept the uploaded copy, or request an exemption citing the law that demands the original."
                ),
            )
    fee = definition.get("fee", {})
    for method in fee.get("methods", []):
        if method in ("cash", "revenue_stamp"):
            yield Finding(
                Principle.CASHLESS,
                "fee.methods",
                _("The fee can be paid in cash or with revenue stamps (%(method)s).")
                % {"method": method},
                _("Offer only online payment: card, QR code, bank transfer or convenience store."),
            )
    channels = definition.get("contact", {}).get("channels", [])
    if "fax" in channels:
        yield Finding(
            Principle.FAX_LESS,
            "contact.channels",
            _("Fax is offered as a contact channel."),
            _("Remove fax; e-mail and the web form reach the department."),
        )
    workflow = definition.get("workflow", {})
    if workflow.get("counter_visit_required"):
        yield Finding(
            Principle.TOUCHLESS,
            "workflow.counter_visit_required",
            _("A step requires the applicant to visit a counter."),
            _(
                "Do the step online, or request an exemption citing the law that requires the visit."
            ),
        )
    if workflow.get("identity_check") == "in_person":
        yield Finding(
            Principle.TOUCHLESS,
            "workflow.identity_check",
            _("Identity is checked in person."),
            _("Check identity online (verified digital ID)."),
        )
    methods = definition.get("delivery", {}).get("methods", [])
    if "electronic" not in methods:
        yield Finding(
            Principle.TOUCHLESS,
            "delivery.methods",
            _("The result is not delivered electronically."),
            _("Deliver the result as a signed PDF download."),
        )
    if "counter_pickup" in methods:
        yield Finding(
            Principle.TOUCHLESS,
            "delivery.methods",
            _("The result is handed over at a counter."),
            _("Remove counter pick-up; the signed PDF replaces it."),
        )


def _keyword_findings(definition: dict) -> Iterator[Finding]:
    for path, text in _texts(definition, ""):
        for principle, pattern in _KEYWORD_PATTERNS.items():
            match = pattern.search(text)
            if match:
                yield Finding(
                    principle,
                    path,
                    _("The text mentions “%(word)s”: “%(excerpt)s”.")
                    % {"word": match.group(0), "excerpt": text[:80]},
                    _("Remove the requirement, or reword the text if it does not impose one."),
                )


def findings(definition: dict) -> list[Finding]:
    return [*_structural_findings(definition), *_keyword_findings(definition)]


def policy_report(
    definition: dict, exemptions: Iterable[Exemption] = (), *, today: date | None = None
) -> PolicyReport:
    """Check a version's definition. `exemptions` are the procedure's; only an
    approved one whose review date has not passed turns a failure into exempt."""
    today = today or timezone.localdate()
    results = {principle: PrincipleResult(principle) for principle in Principle.values}
    for finding in findings(definition):
        result = results[finding.principle]
        result.findings.append(finding)
        result.status = FAIL
    effective = {
        exemption.principle: exemption for exemption in exemptions if exemption.is_effective(today)
    }
    for principle, result in results.items():
        if result.status == FAIL and principle in effective:
            result.status = EXEMPT
            result.exemption = effective[principle]
    return PolicyReport(results)
