"""Real Chromium (Debian's package) driven by Playwright against the real system."""

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Response,
    ViewportSize,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from kundonline_devstack.system import System

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root Chromium needs --no-sandbox; the rest keep it from calling home on a closed network.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
VNU = Path(__file__).parent / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
CANARY = "invalid-on-purpose.html"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE: ViewportSize = {"width": 360, "height": 780}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module: Playwright's sync API holds an event loop while it runs, which would
    stop later tests from starting loops of their own."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


class ServedPages:
    """Every HTML page the browser tests load, kept as served, for one vnu run at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.urls: dict[str, str] = {}  # file name → the page's URL
        self.seen: set[bytes] = set()

    def keep(self, response: Response) -> None:
        """Kept: documents of any status (error pages too) but redirects, which have no body."""
        if (
            response.request.resource_type != "document"
            or 300 <= response.status < 400
            or not response.headers.get("content-type", "").startswith("text/html")
        ):
            return
        try:
            body = response.body()
        except PlaywrightError:
            return  # the page was left before its body arrived; nothing was shown to check
        if body in self.seen:
            return
        self.seen.add(body)
        name = f"page-{len(self.urls) + 1:03}.html"
        (self.folder / name).write_bytes(body)
        self.urls[name] = response.url

    def errors(self) -> list[str]:
        """vnu's errors as "URL line N: message [extract]", every page in one run of the JVM."""
        if not self.urls:
            return []
        assert VNU.is_file(), f"{VNU} is missing: run deploy/install-deps.sh"
        # A page known to be invalid goes along, so that a checker which reports nothing
        # (a changed output format, a wrong option) cannot pass every page unseen.
        (self.folder / CANARY).write_text(
            '<!doctype html><html lang="sv"><title>x</title><form action=""></form></html>'
        )
        # A short run: the quick compiler alone halves the JVM's CPU time (4.5 s → 2 s for 100
        # pages), and its larger frames need more stack than the default 1 MB for vnu's schema.
        java = ["java", "-XX:TieredStopAtLevel=1", "-Xss4m", "-jar", str(VNU)]
        # Language detection only adds warnings, which are not reported, and costs seconds.
        options = ["--errors-only", "--no-langdetect", "--exit-zero-always", "--stdout"]
        run = subprocess.run(
            [*java, *options, "--format", "json", CANARY, *sorted(self.urls)],
            cwd=self.folder,
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, f"vnu failed: {run.stderr or run.stdout}"
        messages = json.loads(run.stdout)["messages"]
        named = [(Path(m.get("url", "")).name, m) for m in messages]
        assert any(name == CANARY for name, _ in named), f"vnu missed {CANARY}: {run.stdout}"
        found = {
            f"{self.urls.get(name, m.get('url'))} line {m.get('lastLine')}: "
            f"{m['message']} [{' '.join(m.get('extract', '').split())}]"
            for name, m in named
            if name != CANARY
        }
        return sorted(found)


@pytest.fixture(scope="package")
def served_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPages]:
    """After the last browser test: every page the tests loaded passes the Nu Html Checker."""
    pages = ServedPages(tmp_path_factory.mktemp("served-pages"))
    yield pages
    errors = pages.errors()
    if errors:
        pytest.fail(
            f"{len(errors)} HTML errors in the pages served (kept in {pages.folder}):\n"
            + "\n".join(errors),
            pytrace=False,
        )


@contextmanager
def watched_context(
    browser: Browser, base_url: str, served: ServedPages
) -> Iterator[BrowserContext]:
    """A browser context whose pages are kept for vnu and must keep their CSP."""
    context = browser.new_context(base_url=base_url, viewport=DESKTOP, locale="sv-SE")
    violations: list[str] = []
    context.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    context.on("response", served.keep)
    yield context
    context.close()
    assert violations == [], f"the page broke its Content-Security-Policy: {violations}"


@pytest.fixture
def context(
    browser: Browser, system: System, served_pages: ServedPages
) -> Iterator[BrowserContext]:
    with watched_context(browser, system.base_url, served_pages) as context:
        yield context


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def other_page(browser: Browser, system: System, served_pages: ServedPages) -> Iterator[Page]:
    """A page in a context of its own: a second person at another browser."""
    with watched_context(browser, system.base_url, served_pages) as context:
        yield context.new_page()


def log_in(page: Page, username: str, password: str, *, staff: bool = False) -> None:
    page.goto("/admin/login" if staff else "/login")
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def axe(page: Page) -> list[dict[str, Any]]:
    """Serious and critical accessibility violations on the page as it stands."""
    # Evaluated through the DevTools protocol, which the page's strict CSP does not govern;
    # a <script> tag would be (rightly) refused.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def assert_accessible(page: Page) -> None:
    found = axe(page)
    assert found == [], f"{page.url}: {json.dumps(found, ensure_ascii=False, indent=1)}"


def screenshot(page: Page, name: str) -> None:
    """The page at desktop and at phone width, for the README."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=SCREENSHOTS / f"{name}-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=SCREENSHOTS / f"{name}-phone.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size(DESKTOP)
    assert width <= PHONE["width"], f"{name} scrolls sideways at {PHONE['width']} px ({width})"
