"""The browser fixtures (browser, screenshot) live in tests/conftest.py, shared with
other browser journeys (one Playwright instance per test session)."""
