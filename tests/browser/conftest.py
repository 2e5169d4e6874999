"""Browser tests: Playwright driving Debian's chromium (never ``playwright install``) against
pytest-django's live server. Every page a test visits is screenshotted into
var/test-artifacts/browser/<test>/; when a test fails, the page's HTML is kept beside it."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("ORDERFLOW_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "browser"
PASSWORD = "browser-pass-123"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM} (apt-get install -y chromium; "
                    "never `playwright install`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


class Visit:
    """A page that screenshots itself after every navigation a test makes."""

    def __init__(self, page, base_url: str, folder: Path):
        self.page = page
        self.base_url = base_url
        self.folder = folder
        self.count = 0

    def shot(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def goto(self, path: str, name: str | None = None):
        self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("load")
        self.shot(name or path)
        return self.page

    def click(self, selector: str, name: str):
        self.page.click(selector)
        self.page.wait_for_load_state("load")
        self.shot(name)
        return self.page

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def login(self, username: str, password: str = PASSWORD):
        self.goto("/", "login")  # / redirects to the admin, which asks to log in
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        return self.click("button[type=submit], input[type=submit]", "after login")


@pytest.fixture
def visit(request, browser, live_server):
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    helper = Visit(page, live_server.url, folder)
    yield helper
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        try:
            helper.shot("failure")
            (folder / "failure.html").write_text(page.content())
        except Exception:  # noqa: BLE001 - keep what we can
            pass
    context.close()


@pytest.fixture
def staff(transactional_db):
    """A superuser who logs in through the login page."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("ops", "ops@example.com", PASSWORD)
