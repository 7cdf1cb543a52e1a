"""Services queue tasks by dotted name (core.tasks), so that they never import the
task modules that import them."""

import pytest

from core import tasks


def test_a_task_is_found_by_its_dotted_name_without_importing_its_module_first():
    found = tasks.task_named("audit.tasks.verify_audit_chain")
    assert found.name == "audit.tasks.verify_audit_chain"
    assert callable(found.apply_async)


def test_an_unknown_task_name_is_an_error_at_once_not_a_silent_drop():
    with pytest.raises(KeyError):
        tasks.task_named("audit.tasks.no_such_task")
    with pytest.raises(ModuleNotFoundError):
        tasks.task_named("audit.no_such_module.task")
