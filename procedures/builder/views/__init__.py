"""The builder pages under /manage/procedures/, by page.

Thin views: each POST validates a form and calls one service; every edit of the
definition is services.version_update(definition=edits.<op>(...)). Whoever may
not manage a procedure gets "not found", as the selectors decide."""
