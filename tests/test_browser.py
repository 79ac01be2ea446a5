"""The status page in a real browser: Playwright driving the system's
Chromium over the page of a real daemon (`--http`), with jobs that succeed,
fail and time out.

Chromium is Debian's (`/usr/bin/chromium`); where it is missing, the session
installs it with apt-get when it can (as root), and the tests skip, saying
why, where it cannot. Screenshots at 1280x800 and 390x844 go to
`$PYCRON_ARTIFACTS` (default: an `artifacts` directory of the test session);
with `PYCRON_README_SCREENSHOT` set, the overview at 1280x800 is also written
to docs/overview.png, the README's picture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import pytest
from test_daemon import Sandbox, stop, wait_until
from test_web_serve import page_url

from pycron.records import Outcome

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SIZES = {"wide": (1280, 800), "phone": (390, 844)}
README_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "overview.png"

# What the daemon runs: a heartbeat, a backup that fails, a sync that times
# out, a job whose output is markup, each every {every} (every second or
# two until each has a history, then every hour, so that the page holds
# still while it is looked at); a job run by hand before the daemon started,
# and a nightly job that has not run yet. The jobs on the clock run in month
# {month} only, half a year away, so that none fires during the test.
CRONTAB = """\
# pycron: name=rotate-logs
*/15 * * {month} * echo rotated
# pycron: name=heartbeat
@every {every} echo alive
# pycron: name=backup-db
@every {every} echo "pg_dump: error: connection to server failed: Connection refused" >&2; exit 2
# pycron: name=sync-reports timeout=1s kill-grace=1s
@every {slower} sleep 30
# pycron: name=render-page
@every {every} printf '<script>alert(1)</script>\\n' >&2; echo rendered
# pycron: name=nightly-vacuum
30 2 * {month} * echo vacuumed
"""
BUSY = {"every": "1s", "slower": "2s"}
QUIET = {"every": "1h", "slower": "1h"}
# The outcomes' colours in the style sheet (light scheme), as computed styles.
GREEN = "rgb(26, 127, 55)"  # #1a7f37
RED = "rgb(207, 34, 46)"  # #cf222e
ORANGE = "rgb(188, 76, 0)"  # #bc4c00


class Site(NamedTuple):
    """The daemon's crontab and state directory, and the address of its page."""

    sandbox: Sandbox
    base: str

    def run_now(self, job_id: str) -> None:
        box = self.sandbox
        command = [sys.executable, "-m", "pycron", "--crontab", str(box.crontab)]
        command += ["--state-dir", str(box.state), "run-now", "--no-notify", job_id]
        subprocess.run(command, cwd=box.root, capture_output=True, timeout=60, check=True)


def _install_chromium() -> str | None:
    """Chromium installed with apt-get where it is missing; why not, if it cannot be."""
    if CHROMIUM.exists():
        return None
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return f"{CHROMIUM} is missing and apt-get cannot install it here (not root, or no apt-get)"
    for step in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(step, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            return f"{' '.join(step)} failed: {done.stderr.strip()[-500:]}"
    return None if CHROMIUM.exists() else f"apt-get installed chromium, but not as {CHROMIUM}"


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """One Chromium for the session, with a fresh profile, in the light scheme."""
    sync_api = pytest.importorskip("playwright.sync_api")
    problem = _install_chromium()
    if problem is not None:
        pytest.skip(problem)
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            color_scheme="light",
            viewport={"width": 1280, "height": 800},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def page(browser: BrowserContext) -> Iterator[Page]:
    """The one tab the tests of this module share; dialogs are recorded on it
    (and dismissed) in `dialogs`."""
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()


@pytest.fixture(scope="module")
def dialogs(page: Page) -> list[str]:
    opened: list[str] = []

    def note(dialog: object) -> None:
        opened.append(str(getattr(dialog, "message", "")))
        dialog.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", note)
    return opened


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("PYCRON_ARTIFACTS")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A real daemon serving its page: it runs the crontab until each job on
    a timer has ended a few runs, then its timers are slowed to hourly and it
    goes on serving, its history still."""
    box = Sandbox(tmp_path_factory.mktemp("site"))
    month = (datetime.now().month + 5) % 12 + 1
    try:
        box.write(CRONTAB.format(month=month, **BUSY))
        daemon = box.start("--http", "127.0.0.1:0")
        site = Site(box, page_url(daemon).rstrip("/"))
        site.run_now("rotate-logs")

        def enough() -> bool:
            counts = {job: len(box.ended(job)) for job in ("heartbeat", "backup-db", "render-page")}
            timeouts = [r for r in box.ended("sync-reports") if r.outcome is Outcome.TIMEOUT]
            return min(counts.values()) >= 6 and len(timeouts) >= 2

        wait_until(enough, 60, "runs of every job on a timer")
        box.write(CRONTAB.format(month=month, **QUIET))
        daemon.wait_for(r" info +reload +jobs=6 errors=0\b")
        waiting = (Outcome.QUEUED, Outcome.RUNNING)
        wait_until(lambda: all(r.outcome not in waiting for r in box.runs()), 30, "the runs to end")
        yield site
        assert stop(daemon) == 0
    finally:
        box.cleanup()


def shoot(page: Page, artifacts: Path, name: str) -> None:
    """Screenshots of the page as it is, wide and on a phone (the whole page)."""
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"{name}-{size}-{width}x{height}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def colour(page: Page, selector: str, what: str = "background-color") -> str:
    return str(page.eval_on_selector(selector, f"e => getComputedStyle(e)[{what!r}]"))


def test_the_overview_shows_every_job_its_outcomes_and_refreshes_itself(
    page: Page,
    site: Site,
    artifacts: Path,
) -> None:
    page.goto(site.base + "/")
    rows = page.locator("tr.job")
    order = [rows.nth(i).get_attribute("data-job") for i in range(rows.count())]
    # Failing first, then the others, each in crontab order.
    assert order == [
        "backup-db",
        "sync-reports",
        "rotate-logs",
        "heartbeat",
        "render-page",
        "nightly-vacuum",
    ]
    summary = page.locator(".summary").inner_text().split()
    assert summary == ["6", "jobs", "2", "failing", "0", "running", "0", "queued"]
    assert colour(page, "tr[data-job=heartbeat] .badge") == GREEN
    assert colour(page, "tr[data-job=backup-db] .badge") == RED
    assert colour(page, "tr[data-job=sync-reports] .badge") == ORANGE
    # A strip cell per attempt (at most 30), each coloured by its outcome.
    for job in ("heartbeat", "backup-db"):
        ended = site.sandbox.ended(job)[-30:]
        cells = page.locator(f"tr[data-job={job}] .strip a.cell")
        assert cells.count() == len(ended)
        assert cells.first.get_attribute("href") == f"/runs/{ended[0].id}"
    assert colour(page, "tr[data-job=heartbeat] .strip a.cell") == GREEN
    assert colour(page, "tr[data-job=backup-db] .strip a.cell") == RED
    assert page.locator("tr[data-job=nightly-vacuum]").inner_text().count("never ran") == 1
    shoot(page, artifacts, "overview")
    if os.environ.get("PYCRON_README_SCREENSHOT"):
        README_SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(README_SCREENSHOT))

    # A run happens after the page loaded: the table shows it without a reload.
    page.evaluate("window.notReloaded = true")
    site.run_now("nightly-vacuum")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # refresh now
    page.wait_for_selector("tr[data-job=nightly-vacuum] .strip a.cell.o-success", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True


def test_a_job_and_a_run_are_a_click_away(page: Page, site: Site, artifacts: Path) -> None:
    page.goto(site.base + "/")
    page.click("tr[data-job=backup-db] td.job-name a")
    page.wait_for_url("**/jobs/backup-db")
    assert page.locator("h1").inner_text().startswith("backup-db")
    # Its two charts, with a point per run coloured by outcome, and their words.
    charts = page.locator("svg.chart")
    assert charts.count() == 2
    runs = page.locator("table.runs tbody tr")
    assert page.locator("svg.chart circle.point").count() == runs.count()
    assert colour(page, "svg.chart circle.point", "fill") == RED
    assert colour(page, "svg.chart rect.bar", "fill") == RED
    assert "runs from" in (page.locator("svg.chart desc").first.text_content() or "")
    shoot(page, artifacts, "job")

    newest = site.sandbox.ended("backup-db")[-1]
    page.click(f"table.runs a[href='/runs/{newest.id}']")
    page.wait_for_url(f"**/runs/{newest.id}")
    stderr = page.locator("#stderr pre").inner_text()
    assert "pg_dump: error: connection to server failed: Connection refused" in stderr
    assert page.locator("h1 .badge").inner_text() == "failed"
    shoot(page, artifacts, "run")


def test_a_job_printing_markup_shows_it_as_text(page: Page, dialogs: list[str], site: Site) -> None:
    run = site.sandbox.ended("render-page")[-1]
    page.goto(site.base + f"/runs/{run.id}")
    assert page.locator("#stderr pre").inner_text() == "<script>alert(1)</script>\n"
    assert page.locator("main script").count() == 0
    assert dialogs == []
