"""The procedure builder: department admins edit a draft's definition page by page.

edits (pure edits of a definition), lookup (reads of it), references (the
conditions that read a field), diff (the changes between two versions), forms
(the Django forms of the pages, by page) and views (the pages, by page)."""
