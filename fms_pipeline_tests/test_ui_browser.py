"""End to end in a real browser: `dg dev` on this project, driven by headless Chromium.

Opens the asset graph, finds the assets by name, launches a materialization of everything from
the UI, waits for the run, opens the aggregate asset's page (row count and chart), and checks
the HTML report's headline numbers against the warehouse. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from fms_pipeline import cli, tables, warehouse
from fms_pipeline_tests.conftest import SAMPLE

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dagster_dev(tmp_path: Path):
    """`dg dev` on a free port with its own DAGSTER_HOME and data folder; stopped cleanly after."""
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    shutil.copy(SAMPLE, data / "raw")
    # A Reddit dump with dates, so the trend charts have months to show.
    shutil.copy(REPO / "fms_pipeline_tests" / "fixtures" / "trends" / "chronicpain_2024.ndjson", data / "raw")
    shutil.copytree(REPO / "data" / "psytar", data / "psytar")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(cli.DAGSTER_YAML)  # as the CLI writes it for a user
    env = {**os.environ, "DAGSTER_HOME": str(home), "FMS_DATA_DIR": str(data), "FMS_SHARE_SECRET": "browser-test-secret-32-bytes-long",
           # The sensors would process the file on their own; here the user launches it from the UI.
           "FMS_AUTOMATION": "stopped"}
    port = free_port()
    log = open(tmp_path / "dagster-dev.log", "w")
    # dg dev (dagster dev) ignores SIGINT (and copies that to SIGTERM) when started in the background:
    # reset SIGINT to default, give it its own process group, and signal the group to stop it.
    server = subprocess.Popen(
        [sys.executable, "-c",
         "import os,signal,sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])",
         str(Path(sys.executable).parent / "dg"), "dev", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(base + "/server_info", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "dagster-dev.log").read_text()[-3000:]
                time.sleep(1)
        else:
            pytest.fail("dg dev did not answer within 120 s")
        yield base, data
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    assert server.returncode is not None


def graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(base + "/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"content-type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=10))["data"]


def dismiss_community_prompt(page, wait_ms: int = 0) -> None:
    """Dagster shows a "Join the Dagster community" dialog on a first visit; skip it."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=wait_ms) if wait_ms else None
    except Exception:  # noqa: BLE001 - not shown this time
        return
    if skip.count():
        skip.click()


def open_chart(page, image: str, screenshot: str) -> None:
    """Open the asset page's "chart" metadata and check the image it shows is a real chart."""
    chart_row = page.locator("tr", has=page.get_by_text("chart", exact=True)).first
    chart_row.scroll_into_view_if_needed()
    chart_row.get_by_text("[Show Markdown]").click()
    chart = page.locator(image).first
    chart.wait_for(timeout=30_000)
    assert chart.evaluate("img => img.naturalWidth") > 300
    page.wait_for_timeout(1000)  # let the dialog finish fading in
    page.screenshot(path=str(ARTIFACTS / screenshot))


def test_materialize_everything_from_the_ui(dagster_dev):
    base, data = dagster_dev
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        page.goto(base + "/asset-groups")
        page.get_by_role("button", name="Materialize all…").wait_for(timeout=60_000)
        dismiss_community_prompt(page, wait_ms=10_000)
        # The asset graph: expand the groups and find the assets by name.
        page.mouse.click(900, 300, button="right")
        page.locator("text=Expand all groups >> visible=true").click()
        page.wait_for_timeout(1000)
        page.set_viewport_size({"width": 2200, "height": 1800})  # the six groups fit on one screen
        page.wait_for_timeout(1500)
        for name in ("source_files", "parsed_comments", "extracted_mentions", "entity_counts", "mentions_by_month"):
            page.get_by_text(name, exact=True).first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "asset-graph.png"))
        page.set_viewport_size({"width": 1500, "height": 950})

        # Launch a materialization of everything from the UI.
        dismiss_community_prompt(page)
        page.get_by_role("button", name="Materialize all…").click()
        page.get_by_role("button", name="All", exact=True).click()
        page.get_by_role("button", name=re.compile(r"^Launch (backfill|\d+ runs?)$")).click()
        # A backfill of the 32 batches: runs of 8 batches (multi-run policy), then the warehouse.
        deadline = time.time() + 600
        runs, backfills = [], []
        while time.time() < deadline:
            runs = graphql(base, "{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }")[
                "runsOrError"]["results"]
            backfills = graphql(base, "{ partitionBackfillsOrError { ... on PartitionBackfills { results { id status } } } }")[
                "partitionBackfillsOrError"]["results"]
            done = backfills and all(b["status"] not in ("REQUESTED",) for b in backfills)
            if done and runs and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs):
                break
            time.sleep(3)
        assert runs and all(r["status"] == "SUCCESS" for r in runs), runs
        ranges = [{t["key"]: t["value"] for t in r["tags"]} for r in runs]
        batch_runs = [t for t in ranges if "dagster/asset_partition_range_start" in t]
        assert len(batch_runs) == 4  # 32 batches, 8 per run: runs a launcher can place on 4 machines
        page.reload()
        page.get_by_text("entity_counts", exact=True).first.wait_for(timeout=30_000)
        page.mouse.click(900, 300, button="right")
        expand = page.locator("text=Expand all groups >> visible=true")
        if expand.count():
            expand.click()
        else:  # the groups stayed expanded: close the menu
            page.keyboard.press("Escape")
        page.wait_for_timeout(3000)
        page.screenshot(path=str(ARTIFACTS / "asset-graph-materialized.png"))

        # The aggregate asset's page: row count and chart.
        page.goto(base + "/assets/warehouse/entity_counts")
        page.get_by_text("Row count").wait_for(timeout=60_000)
        with warehouse.connect_read_only(data / "warehouse.duckdb") as con:
            rows = con.execute("SELECT count(*) FROM entity_counts").fetchall()[0][0]
            headline = {"comments": con.execute("SELECT count(*) FROM comments").fetchall()[0][0],  # sample + dump
                        "entity mentions": con.execute("SELECT count(*) FROM entity_mentions").fetchall()[0][0],
                        "documents": con.execute("SELECT count(*) FROM documents").fetchall()[0][0]}
        row_count = page.locator("div", has=page.get_by_text("Row count", exact=True)).last
        assert str(rows) in row_count.inner_text()
        page.screenshot(path=str(ARTIFACTS / "entity-counts-page.png"))
        open_chart(page, "img[src^='data:image/png']", "entity-counts-chart.png")

        # The trend chart on the by-month asset's page.
        page.keyboard.press("Escape")
        page.goto(base + "/assets/warehouse/mentions_by_month")
        page.get_by_text("Row count").wait_for(timeout=60_000)
        open_chart(page, "img[alt='drug mentions by month']", "mentions-by-month-chart.png")

        # Every warehouse asset's Columns table describes every column, from its declaration.
        page.keyboard.press("Escape")
        for table in tables.TABLES.values():
            page.goto(base + f"/assets/warehouse/{table.name}")
            page.get_by_text("Columns", exact=True).first.wait_for(timeout=60_000)
            for column in table.columns:
                cell = page.get_by_text(column.description[:40], exact=False).first
                cell.wait_for(timeout=20_000)
            if table.name == "documents":
                page.get_by_text("Columns", exact=True).first.scroll_into_view_if_needed()
                page.screenshot(path=str(ARTIFACTS / "documents-columns.png"))

        # The HTML report, offline, agrees with the warehouse.
        report = data / "reports" / "report.html"
        page.goto(report.as_uri())
        shown = {
            el.get_attribute("data-name"): int(el.locator("b").inner_text())
            for el in page.locator("#headline > div").all()
        }
        for name, value in headline.items():
            assert shown[name] == value, name
        assert page.locator("img[src^='data:image/png']").count() >= 4
        page.set_viewport_size({"width": 1300, "height": 1800})
        page.screenshot(path=str(ARTIFACTS / "report.png"))
        browser.close()
