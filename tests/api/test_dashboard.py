"""The dashboard in headless Chromium (Debian's package) against the demo site: values
update, the chart fills, a pause reaches its card, the configuration editor shows a result
per station and parameter, and the page raises no script error."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from localctl.demo import demo_site
from localctl.sim.station16 import SimStation16

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Set to a path (docs/dashboard.png) to keep the screenshot the test takes.
SCREENSHOT_ENV = "LOCALCTL_DASHBOARD_SCREENSHOT"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)",
)


async def test_the_dashboard_shows_the_demo_site_live(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    async with demo_site() as demo, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 1100})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(demo.dashboard_url)
        assert "token=" not in page.url  # the fragment is taken and removed
        cards = page.locator("#evses .evse-card")
        await expect(cards).to_have_count(8, timeout=15_000)
        l1 = page.locator('#site-tree .phase-bar[data-node="main"][data-phase="L1"] .value')
        first = await l1.text_content()
        updated = await page.locator("#updated-at").text_content()
        await expect(l1).not_to_have_text(first or "", timeout=20_000)  # values update
        await expect(page.locator("#updated-at")).not_to_have_text(updated or "")
        await expect(page.locator("#chart svg polyline")).to_have_count(3, timeout=20_000)

        await page.locator('.evse-card[data-evse="a1"] button', has_text="pause").click()
        await expect(page.locator('.evse-card[data-evse="a1"]')).to_have_class(
            "evse-card paused ", timeout=10_000
        )
        await expect(page.locator('.evse-card[data-evse="a1"] .why')).to_have_text("operator_pause")

        await page.locator('#config-stations input[data-station="CP-1"]').check()
        await page.locator('#config-stations input[data-station="CP-2"]').check()
        await page.locator("#config-apply").click()
        for station in ("CP-1", "CP-2"):
            result = page.locator(
                f'#config-result-table tr[data-station="{station}"]'
                '[data-key="MeterValueSampleInterval"] .status'
            )
            await expect(result).to_have_text("Accepted", timeout=10_000)
        cp1 = demo.site.stations["CP-1"]
        assert isinstance(cp1, SimStation16)
        assert cp1.config.value("MeterValueSampleInterval") == "30"

        shot = tmp_path / "dashboard.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if os.environ.get(SCREENSHOT_ENV):
            shutil.copy(shot, os.environ[SCREENSHOT_ENV])
        await browser.close()
        assert errors == []
