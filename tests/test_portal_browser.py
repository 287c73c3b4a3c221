"""The office page in a real browser: the system's Chromium, headless, driven by Selenium through
the system's chromedriver (selenium-manager is never asked to download anything), on 127.0.0.1.

A village uploads a good file (by dropping it), a file with errors (by the file chooser), a
hostile file, a file over the size limit, and tries a revoked link; the office's page shows the
upload after a consolidation. Every page is saved as a screenshot in the temporary folder
($TAIZHANG_SCREENSHOTS to choose another), never in the checkout, to be looked at."""
from __future__ import annotations

import base64
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from factories.hostile import lying_zip_bomb
from factories.ledgers import LedgerStyle, make_ledger
from factories.portal import portal_office, serving, village_tokens
from toolkit import api
from toolkit.shells.server import Limits

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    pytest.skip("Chromium 或 chromedriver 未安装（apt-get install chromium chromium-driver；.ci/run 会安装）",
                allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium 未安装（pip install -e \".[test]\"）")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

pytestmark = pytest.mark.slow
SHOTS = Path(os.environ.get("TAIZHANG_SCREENSHOTS") or Path(tempfile.gettempdir()) / "taizhang-portal-screens")
LIMIT_MB = 0.25


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,1400", "--lang=zh-CN", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture
def office(tmp_path, monkeypatch):
    toml = portal_office(tmp_path / "南郊乡")
    tokens = village_tokens(toml, office=True)
    with serving(monkeypatch, toml, limits=Limits(max_upload_mb=LIMIT_MB)) as srv:
        yield toml, tokens, f"http://127.0.0.1:{srv.server_address[1]}"


def wait_for(driver, condition, limit: float = 120.0):
    """Poll ``condition(driver)`` until it is truthy (a generous limit, no sleep-then-assert)."""
    end = time.monotonic() + limit
    while True:
        got = condition(driver)
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"页面没有在 {limit:g} 秒内变化：{driver.find_element(By.TAG_NAME, 'body').text}")
        time.sleep(0.1)


def status_after(driver, before: str = "") -> str:
    def done(d):
        text = d.find_element(By.ID, "status").text
        return text if text and "请稍候" not in text and text != before else None
    return wait_for(driver, done)


def shot(driver, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def choose(driver, path: Path) -> str:
    driver.find_element(By.ID, "chooser").send_keys(str(path))
    return status_after(driver)


def drop(driver, path: Path) -> str:
    """Drop the file on the page as Explorer would (a DataTransfer holding it)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    driver.execute_script("""
        const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], arguments[1]));
        const zone = document.getElementById('drop');
        for (const type of ['dragenter', 'dragover', 'drop']) {
            zone.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""", data, path.name)
    return status_after(driver)


def test_a_village_uploads_and_sees_at_once_what_to_fix(browser, office, tmp_path):
    toml, tokens, base = office
    browser.get(f"{base}/v/{tokens['东村']}")
    assert "东村 台账网页报送" in browser.title
    shot(browser, "1-upload-page")
    good = make_ledger(tmp_path / "东村台账.xlsx", village="东村", n_cases=6)
    assert "已收到" in drop(browser, good.path)
    assert browser.find_element(By.CSS_SELECTOR, "h2.verdict.good").text.startswith("已收到，未发现错误")
    shot(browser, "2-good-file")

    browser.get(f"{base}/v/{tokens['东村']}")
    faulty = make_ledger(tmp_path / "东村台账（改）.xlsx", village="东村", n_cases=6, seed=5,
                         layout=LedgerStyle(faults=("unknown_status", "invalid_tick", "impossible_date", "id_as_number")))
    choose(browser, faulty.path)
    assert "有错误需要改正" in browser.find_element(By.CSS_SELECTOR, "h2.verdict").text
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#result tr.err, #result tr.wrn")]
    assert any(faulty.faults["unknown_status"].cell in r and "怎么改" not in r for r in rows)
    assert browser.find_element(By.ID, "copy").get_attribute("href").startswith(f"{base}/v/")
    shot(browser, "3-file-with-errors")

    browser.get(f"{base}/v/{tokens['东村']}")
    before = browser.find_element(By.ID, "status").text
    choose(browser, lying_zip_bomb(tmp_path / "东村台账（坏）.xlsx"))
    assert "未能读取" in browser.find_element(By.CSS_SELECTOR, "h2.verdict.bad").text
    assert browser.find_elements(By.CSS_SELECTOR, "#result tr.err") and before == ""
    shot(browser, "4-hostile-file")

    big = tmp_path / "东村台账（大）.xlsx"
    big.write_bytes(os.urandom(int(LIMIT_MB * 2**20) + 4096))
    browser.get(f"{base}/v/{tokens['东村']}")
    assert "太大" in choose(browser, big) and "MB" in browser.find_element(By.ID, "status").text
    shot(browser, "5-too-large")


def test_a_revoked_link_and_the_office_page(browser, office, tmp_path):
    toml, tokens, base = office
    browser.get(f"{base}/v/{tokens['西村']}")                    # open before the link is revoked
    api.revoke_link("西村", config=str(toml))
    west = make_ledger(tmp_path / "西村台账.xlsx", village="西村", n_cases=4)
    assert "无效或已作废" in choose(browser, west.path)
    shot(browser, "6-revoked-while-open")
    browser.get(f"{base}/v/{tokens['西村']}")
    assert "已作废" in browser.find_element(By.TAG_NAME, "body").text
    shot(browser, "7-revoked-link")

    browser.get(f"{base}/v/{tokens['北村']}")
    north = make_ledger(tmp_path / "北村台账.xlsx", village="北村", n_cases=5)
    assert "已收到" in choose(browser, north.path)
    api.consolidate(config=str(toml))
    browser.get(f"{base}/office/{tokens['']}")
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "今日情况" in text and "北村台账.xlsx" in text and "网页" in text and "未报 7 个" in text
    assert browser.find_element(By.ID, "master").get_attribute("href").endswith("/master")
    shot(browser, "8-office-page")
