"""Which stages of a procedure are online and which five-less principles it
breaks, before exemptions.

- A **hosted** procedure's flags come from its published version: every finding
  of the five-less policy check (procedures.policy.findings) keeps one stage
  offline, chosen by the finding's principle and where in the definition it is.
- A procedure **outside the platform** has the stages its department recorded;
  an offline stage breaks the principle it belongs to (STAGE_PRINCIPLE), and the
  department may mark other principles broken too (a seal, a fax number).

Either way `blocks` lists, per principle, whether it keeps a stage offline: an
approved exemption from exactly those principles makes the procedure count as
digital (digitization.metrics applies them on the day of the computation).
Pure functions; no database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from digitization.models import PRINCIPLES, STAGES, InventoryEntry, Stage
from procedures.policy import Finding, findings

# What an offline stage of a procedure outside the platform breaks: an offline
# application is a paper filing; identity checked or results handed over at a
# counter need a visit; fees paid in cash; paper originals attached.
STAGE_PRINCIPLE: dict[str, str] = {
    Stage.APPLICATION: "paperless",
    Stage.IDENTITY: "touchless",
    Stage.PAYMENT: "cashless",
    Stage.ATTACHMENTS: "paperless",
    Stage.DELIVERY: "touchless",
}


def stage_of(finding: Finding) -> str:
    """The stage a policy finding keeps offline."""
    path = finding.path
    principle = str(finding.principle)
    if path.startswith(("delivery.", "result_document.")) or path == "delivery":
        return Stage.DELIVERY
    if principle == "touchless" and path.startswith("workflow.identity_check"):
        return Stage.IDENTITY
    if principle == "cashless" or path.startswith("fee."):
        return Stage.PAYMENT
    if principle == "paperless":
        return Stage.ATTACHMENTS
    # Seals, fax and visits demanded anywhere else are part of filing.
    return Stage.APPLICATION


@dataclass
class Assessment:
    online: dict[str, bool]
    fails: dict[str, bool]
    stage_principles: dict[str, list[str]] = field(default_factory=dict)

    @property
    def stages_online(self) -> bool:
        return all(self.online.values())

    @property
    def blocks(self) -> dict[str, bool]:
        blocking = {
            principle for principles in self.stage_principles.values() for principle in principles
        }
        return {principle: principle in blocking for principle in PRINCIPLES}

    def apply_to(self, entry: InventoryEntry) -> None:
        for stage in STAGES:
            setattr(entry, f"{stage}_online", self.online[stage])
        for principle in PRINCIPLES:
            setattr(entry, f"fails_{principle}", self.fails[principle])
            setattr(entry, f"blocks_{principle}", self.blocks[principle])
        entry.stages_online = self.stages_online
        entry.stage_principles = self.stage_principles


def assess_definition(definition: dict) -> Assessment:
    """A published version's flags, from the findings of the policy check."""
    causes: dict[str, set[str]] = {}
    fails = dict.fromkeys(PRINCIPLES, False)
    for finding in findings(definition):
        principle = str(finding.principle)
        fails[principle] = True
        causes.setdefault(stage_of(finding), set()).add(principle)
    return Assessment(
        online={stage: stage not in causes for stage in STAGES},
        fails=fails,
        stage_principles={
            stage: [p for p in PRINCIPLES if p in causes[stage]]
            for stage in STAGES
            if stage in causes
        },
    )


def assess_recorded(online: Mapping[str, bool], broken: Iterable[str] = ()) -> Assessment:
    """The flags of a procedure outside the platform, from what its department
    recorded: the stages that are online and any principle it marked broken."""
    online = {stage: bool(online.get(stage, False)) for stage in STAGES}
    broken = set(broken)
    stage_principles = {stage: [STAGE_PRINCIPLE[stage]] for stage in STAGES if not online[stage]}
    blocking = {principles[0] for principles in stage_principles.values()}
    fails = {principle: principle in broken or principle in blocking for principle in PRINCIPLES}
    return Assessment(online=online, fails=fails, stage_principles=stage_principles)


def recorded_of(entry: InventoryEntry) -> tuple[dict[str, bool], list[str]]:
    """What a department recorded for an entry, as assess_recorded takes it: the
    principles marked broken beyond those its offline stages already break."""
    online = {stage: entry.stage_online(stage) for stage in STAGES}
    broken = [
        p for p in PRINCIPLES if getattr(entry, f"fails_{p}") and not getattr(entry, f"blocks_{p}")
    ]
    return online, broken
