"""The five-less policy check (paperless, hanko-less, cashless, FAX-less, touchless):
structural failures, keyword detection in both languages, and exemptions.

The check is pure: exemptions are unsaved model instances, no database needed."""

import copy
from datetime import date, timedelta

import pytest
from django.utils import timezone, translation

from procedures import policy
from procedures.models import Exemption, ExemptionStatus, Principle

PRINCIPLES = ["paperless", "hanko_less", "cashless", "fax_less", "touchless"]
TODAY = date(2026, 4, 1)


def field(key, kind, **attributes):
    return {"key": key, "type": kind, "label": {"ja": key, "en": key}, **attributes}


def clean_definition():
    """A version that keeps every principle."""
    return {
        "form": {
            "steps": [
                {
                    "key": "applicant",
                    "title": {"ja": "申請者", "en": "Applicant"},
                    "description": {"ja": "オンラインで申請できます。", "en": "Apply online."},
                    "fields": [
                        field("applicant", "name", required=True),
                        field("photo", "file", accept=["jpg", "png"]),
                        field(
                            "household",
                            "group",
                            fields=[field("relation", "text"), field("certificate", "file")],
                        ),
                    ],
                }
            ]
        },
        "fee": {"kind": "fixed", "amount": 300, "methods": ["card", "qr_code", "bank_transfer"]},
        "workflow": {"approval": "four_eyes", "identity_check": "online"},
        "delivery": {"methods": ["electronic", "post"]},
        "contact": {
            "channels": ["email", "web_form", "phone"],
            "note": {"ja": "平日9時から17時まで", "en": "Weekdays from 9:00 to 17:00"},
        },
    }


def statuses(report):
    return {principle: result.status for principle, result in report.results.items()}


def only_failing(report, principle):
    """The report fails `principle` and passes every other one."""
    expected = dict.fromkeys(PRINCIPLES, policy.PASS)
    expected[principle] = policy.FAIL
    return statuses(report) == expected


def finding_dicts(report, principle):
    return [finding.as_dict() for finding in report.results[principle].findings]


def with_change(change):
    definition = clean_definition()
    change(definition)
    return definition


def exemption(principle="paperless", status=ExemptionStatus.APPROVED, review_date=TODAY, **extra):
    return Exemption(principle=principle, status=status, review_date=review_date, **extra)


@pytest.fixture
def english():
    with translation.override("en"):
        yield


# --- Clean ---------------------------------------------------------------------------------


def test_a_clean_definition_passes_every_principle():
    report = policy.policy_report(clean_definition(), today=TODAY)
    assert statuses(report) == dict.fromkeys(PRINCIPLES, policy.PASS)
    assert report.publishable
    assert report.failing == []
    assert policy.findings(clean_definition()) == []


def test_the_report_as_a_dict_lists_every_principle_in_order():
    assert policy.policy_report(clean_definition(), today=TODAY).as_dict() == {
        "publishable": True,
        "principles": [
            {"principle": name, "status": "pass", "findings": [], "exemption": None}
            for name in PRINCIPLES
        ],
    }


def test_a_principle_result_has_a_translated_label():
    report = policy.policy_report(clean_definition(), today=TODAY)
    with translation.override("en"):
        assert [report.results[name].label for name in PRINCIPLES] == [
            "Paperless",
            "Hanko-less",
            "Cashless",
            "FAX-less",
            "Touchless",
        ]


# --- Structural failures -------------------------------------------------------------------


@pytest.mark.usefixtures("english")
def test_asking_for_the_paper_original_fails_paperless():
    definition = with_change(
        lambda d: d["form"]["steps"][0]["fields"][1].update(paper_original_required=True)
    )
    report = policy.policy_report(definition, today=TODAY)
    assert only_failing(report, "paperless")
    assert finding_dicts(report, "paperless") == [
        {
            "path": "form.steps.0.fields.1.paper_original_required",
            "message": "The attachment “photo” asks for the paper original.",
            "fix": "Accept the uploaded copy, or request an exemption citing the law that demands the original.",
        }
    ]
    assert not report.publishable


@pytest.mark.usefixtures("english")
def test_asking_for_the_paper_original_inside_a_group_fails_paperless():
    definition = with_change(
        lambda d: d["form"]["steps"][0]["fields"][2]["fields"][1].update(
            paper_original_required=True
        )
    )
    report = policy.policy_report(definition, today=TODAY)
    assert only_failing(report, "paperless")
    assert [f["path"] for f in finding_dicts(report, "paperless")] == [
        "form.steps.0.fields.2.fields.1.paper_original_required"
    ]
    assert "“certificate”" in finding_dicts(report, "paperless")[0]["message"]


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("method", ["cash", "revenue_stamp"])
def test_cash_or_revenue_stamps_fail_cashless(method):
    definition = with_change(lambda d: d["fee"]["methods"].append(method))
    report = policy.policy_report(definition, today=TODAY)
    assert only_failing(report, "cashless")
    assert finding_dicts(report, "cashless") == [
        {
            "path": "fee.methods",
            "message": f"The fee can be paid in cash or with revenue stamps ({method}).",
            "fix": "Offer only online payment: card, QR code, bank transfer or convenience store.",
        }
    ]


def test_each_offline_payment_method_is_a_finding():
    definition = with_change(lambda d: d["fee"].update(methods=["cash", "card", "revenue_stamp"]))
    report = policy.policy_report(definition, today=TODAY)
    assert len(report.results["cashless"].findings) == 2


@pytest.mark.usefixtures("english")
def test_a_fax_contact_channel_fails_fax_less():
    definition = with_change(lambda d: d["contact"]["channels"].append("fax"))
    report = policy.policy_report(definition, today=TODAY)
    assert only_failing(report, "fax_less")
    assert finding_dicts(report, "fax_less") == [
        {
            "path": "contact.channels",
            "message": "Fax is offered as a contact channel.",
            "fix": "Remove fax; e-mail and the web form reach the department.",
        }
    ]


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(
    ("change", "path", "message", "fix"),
    [
        (
            lambda d: d["workflow"].update(counter_visit_required=True),
            "workflow.counter_visit_required",
            "A step requires the applicant to visit a counter.",
            "Do the step online, or request an exemption citing the law that requires the visit.",
        ),
        (
            lambda d: d["workflow"].update(identity_check="in_person"),
            "workflow.identity_check",
            "Identity is checked in person.",
            "Check identity online (verified digital ID).",
        ),
        (
            lambda d: d["delivery"].update(methods=["post"]),
            "delivery.methods",
            "The result is not delivered electronically.",
            "Deliver the result as a signed PDF download.",
        ),
        (
            lambda d: d["delivery"].update(methods=["electronic", "counter_pickup"]),
            "delivery.methods",
            "The result is handed over at a counter.",
            "Remove counter pick-up; the signed PDF replaces it.",
        ),
    ],
)
def test_anything_that_brings_the_applicant_to_the_office_fails_touchless(
    change, path, message, fix
):
    report = policy.policy_report(with_change(change), today=TODAY)
    assert only_failing(report, "touchless")
    assert finding_dicts(report, "touchless") == [{"path": path, "message": message, "fix": fix}]


def test_several_touchless_findings_are_all_listed():
    def change(definition):
        definition["workflow"].update(counter_visit_required=True, identity_check="in_person")
        definition["delivery"]["methods"] = ["counter_pickup"]

    report = policy.policy_report(with_change(change), today=TODAY)
    assert [f["path"] for f in finding_dicts(report, "touchless")] == [
        "workflow.counter_visit_required",
        "workflow.identity_check",
        "delivery.methods",
        "delivery.methods",
    ]


def test_delivery_by_post_alongside_electronic_delivery_passes():
    report = policy.policy_report(clean_definition(), today=TODAY)
    assert clean_definition()["delivery"]["methods"] == ["electronic", "post"]
    assert report.results["touchless"].status == policy.PASS


# --- Keywords ------------------------------------------------------------------------------


def set_text(path, text):
    """A change that puts `text` at a dotted path of the definition; a text object
    created on the way gets a harmless Japanese text, which the schema requires."""

    def change(definition):
        *parents, language = path.split(".")
        node = definition
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        node.setdefault("ja", "説明")
        node[language] = text

    return change


@pytest.mark.parametrize(
    ("path", "text", "principle"),
    [
        ("form.steps.0.fields.0.label.ja", "申請者（押印）", "hanko_less"),
        ("form.steps.0.fields.0.help.ja", "印鑑をお持ちください。", "hanko_less"),
        ("form.steps.0.fields.0.help.ja", "実印で捺印してください。", "hanko_less"),
        ("form.steps.0.fields.0.help.ja", "認印で結構です。", "hanko_less"),
        ("form.steps.0.fields.0.help.ja", "はんこ不要", "hanko_less"),
        ("form.steps.0.fields.0.help.ja", "ハンコ", "hanko_less"),
        ("form.steps.0.fields.0.label.en", "Applicant's seal", "hanko_less"),
        ("form.steps.0.fields.0.label.en", "Seals of both parents", "hanko_less"),
        ("form.steps.0.fields.0.help.en", "Hanko (personal stamp)", "hanko_less"),
        ("form.steps.0.fields.2.fields.0.label.en", "Seal of the relative", "hanko_less"),
        ("form.steps.0.description.ja", "申請書をFAXで送付してください。", "fax_less"),
        ("form.steps.0.description.ja", "ＦＡＸでも受け付けます。", "fax_less"),
        ("form.steps.0.description.ja", "ファックスまたはファクシミリで", "fax_less"),
        ("form.steps.0.description.ja", "ファクスで", "fax_less"),
        ("form.steps.0.description.en", "Send it by Fax: 03-1234-5678", "fax_less"),
        ("form.steps.0.description.en", "Facsimile accepted", "fax_less"),
        ("contact.note.ja", "来庁される場合は予約してください。", "touchless"),
        ("contact.note.ja", "窓口でお尋ねください。", "touchless"),
        ("contact.note.ja", "来所が必要です。", "touchless"),
        ("contact.note.en", "Apply in person", "touchless"),
        ("contact.note.en", "Please visit our office.", "touchless"),
        ("contact.note.en", "Visit the office", "touchless"),
        ("form.steps.0.fields.1.help.ja", "原本を提出してください。", "paperless"),
        ("form.steps.0.fields.1.help.ja", "書類を持参してください。", "paperless"),
        ("form.steps.0.fields.1.help.ja", "郵送してください。", "paperless"),
        ("form.steps.0.fields.1.help.en", "Send the paper original.", "paperless"),
        ("form.steps.0.fields.1.help.en", "Send it by post.", "paperless"),
        ("form.steps.0.title.ja", "収入証紙の貼付", "cashless"),
        ("form.steps.0.title.ja", "収入印紙", "cashless"),
        ("form.steps.0.title.en", "Revenue stamps", "cashless"),
        ("form.steps.0.title.en", "Revenue stamp", "cashless"),
        ("form.steps.0.title.en", "Pay in cash", "cashless"),
        ("form.steps.0.title.ja", "現金でのお支払い", "cashless"),
    ],
)
def test_a_word_that_breaks_a_principle_fails_it(path, text, principle):
    report = policy.policy_report(with_change(set_text(path, text)), today=TODAY)
    assert only_failing(report, principle)
    [finding] = report.results[principle].findings
    assert finding.path == path
    assert text[:80] in finding.message


@pytest.mark.usefixtures("english")
def test_a_keyword_finding_quotes_the_word_and_the_text():
    definition = with_change(set_text("form.steps.0.fields.0.label.ja", "申請者の押印欄"))
    report = policy.policy_report(definition, today=TODAY)
    assert finding_dicts(report, "hanko_less") == [
        {
            "path": "form.steps.0.fields.0.label.ja",
            "message": "The text mentions “押印”: “申請者の押印欄”.",
            "fix": "Remove the requirement, or reword the text if it does not impose one.",
        }
    ]


def test_keywords_in_fee_labels_are_found():
    def change(definition):
        definition["fee"].update(
            kind="computed",
            rules=[
                {
                    "condition": {"field": "applicant", "op": "filled"},
                    "amount": 100,
                    "label": {"ja": "現金払い加算"},
                }
            ],
        )

    report = policy.policy_report(with_change(change), today=TODAY)
    assert only_failing(report, "cashless")
    assert [f.path for f in report.results["cashless"].findings] == ["fee.rules.0.label.ja"]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("form.steps.0.fields.0.label.en", "Sealed envelope"),
        ("form.steps.0.fields.0.label.en", "Unsealed documents and sealant"),
        ("form.steps.0.description.en", "Our office is faxless."),
        ("form.steps.0.description.en", "Faxes are no longer used"),
        ("contact.note.en", "Personally, in personal terms"),
        ("form.steps.0.title.en", "Cashless payment"),
        ("form.steps.0.title.en", "Postal code"),
        ("form.steps.0.description.ja", "電子申請で完結します。"),
    ],
)
def test_words_that_only_contain_a_keyword_are_not_flagged(path, text):
    report = policy.policy_report(with_change(set_text(path, text)), today=TODAY)
    assert report.failing == []


def test_keys_choice_values_and_conditions_are_not_read_as_text():
    def change(definition):
        definition["form"]["steps"][0]["fields"].append(
            field(
                "seal_or_fax",
                "choice",
                choices=[{"value": "fax", "label": {"ja": "電子メール"}}],
                condition={"field": "applicant", "op": "equals", "value": {"ja": "押印"}},
                pattern="seal|fax",
            )
        )
        definition["form"]["steps"][0]["fields"][-1]["label"] = {"ja": "連絡方法"}

    report = policy.policy_report(with_change(change), today=TODAY)
    assert report.failing == []


def test_one_text_can_fail_several_principles():
    definition = with_change(
        set_text("contact.note.ja", "来庁のうえ、印鑑と現金をお持ちください。FAX不可。")
    )
    report = policy.policy_report(definition, today=TODAY)
    assert sorted(result.principle for result in report.failing) == [
        "cashless",
        "fax_less",
        "hanko_less",
        "touchless",
    ]


# --- Exemptions ----------------------------------------------------------------------------


def paper_definition():
    return with_change(
        lambda d: d["form"]["steps"][0]["fields"][1].update(paper_original_required=True)
    )


def test_an_approved_exemption_until_today_makes_the_failure_exempt():
    granted = exemption(review_date=TODAY)
    report = policy.policy_report(paper_definition(), [granted], today=TODAY)
    result = report.results["paperless"]
    assert result.status == policy.EXEMPT
    assert result.exemption is granted
    assert result.findings  # the findings stay visible
    assert report.publishable


def test_an_approved_exemption_with_a_later_review_date_applies():
    granted = exemption(review_date=TODAY + timedelta(days=365))
    report = policy.policy_report(paper_definition(), [granted], today=TODAY)
    assert report.results["paperless"].status == policy.EXEMPT


@pytest.mark.parametrize(
    "not_granted",
    [
        exemption(status=ExemptionStatus.REQUESTED),
        exemption(status=ExemptionStatus.REFUSED),
        exemption(review_date=TODAY - timedelta(days=1)),
        exemption(review_date=None),
        exemption(principle=Principle.HANKO_LESS),
    ],
    ids=["requested", "refused", "expired", "no-review-date", "other-principle"],
)
def test_an_exemption_that_is_not_in_force_for_the_principle_leaves_it_failing(not_granted):
    report = policy.policy_report(paper_definition(), [not_granted], today=TODAY)
    assert report.results["paperless"].status == policy.FAIL
    assert report.results["paperless"].exemption is None
    assert not report.publishable


def test_the_review_date_is_compared_with_todays_local_date_by_default():
    today = timezone.localdate()
    current = exemption(review_date=today)
    expired = exemption(review_date=today - timedelta(days=1))
    assert policy.policy_report(paper_definition(), [current]).results["paperless"].status == (
        policy.EXEMPT
    )
    assert policy.policy_report(paper_definition(), [expired]).results["paperless"].status == (
        policy.FAIL
    )


def test_an_exemption_for_a_passing_principle_changes_nothing():
    report = policy.policy_report(clean_definition(), [exemption()], today=TODAY)
    assert report.results["paperless"].status == policy.PASS
    assert report.results["paperless"].exemption is None


def test_an_exemption_covers_only_its_own_principle():
    definition = paper_definition()
    definition["fee"]["methods"].append("cash")
    report = policy.policy_report(definition, [exemption()], today=TODAY)
    assert statuses(report)["paperless"] == policy.EXEMPT
    assert statuses(report)["cashless"] == policy.FAIL
    assert not report.publishable
    assert [result.principle for result in report.failing] == ["cashless"]


def test_every_failing_principle_exempted_makes_the_version_publishable():
    definition = paper_definition()
    definition["contact"]["channels"].append("fax")
    exemptions = [exemption(), exemption(principle=Principle.FAX_LESS, review_date=TODAY)]
    report = policy.policy_report(definition, exemptions, today=TODAY)
    assert statuses(report)["paperless"] == statuses(report)["fax_less"] == policy.EXEMPT
    assert report.publishable


@pytest.mark.usefixtures("english")
def test_the_report_as_a_dict_names_findings_and_the_exemption():
    definition = paper_definition()
    definition["contact"]["channels"].append("fax")
    report = policy.policy_report(definition, [exemption(pk=7)], today=TODAY)
    as_dict = report.as_dict()
    assert as_dict["publishable"] is False
    by_principle = {entry["principle"]: entry for entry in as_dict["principles"]}
    assert list(by_principle) == PRINCIPLES
    assert by_principle["paperless"] == {
        "principle": "paperless",
        "status": "exempt",
        "findings": [
            {
                "path": "form.steps.0.fields.1.paper_original_required",
                "message": "The attachment “photo” asks for the paper original.",
                "fix": "Accept the uploaded copy, or request an exemption citing the law that demands the original.",
            }
        ],
        "exemption": 7,
    }
    assert by_principle["fax_less"]["status"] == "fail"
    assert by_principle["fax_less"]["exemption"] is None
    assert by_principle["cashless"] == {
        "principle": "cashless",
        "status": "pass",
        "findings": [],
        "exemption": None,
    }


def test_the_check_does_not_change_the_definition():
    definition = paper_definition()
    before = copy.deepcopy(definition)
    policy.policy_report(definition, [exemption()], today=TODAY)
    assert definition == before
