"""Check the built site the way a reader uses it: in a real browser.

Serves ``site/`` on 127.0.0.1, drives Debian's headless Chromium with Playwright (no browser
download: ``executable_path`` points at the system binary) through every page, and checks

* HTTP 200 for the page, no console errors, no failed requests, no request leaving 127.0.0.1;
* every image loaded with a non-zero size;
* math rendered: every arithmatex element holds KaTeX output, no raw ``$...$`` in the text;
* the ledger page shows as many passing claims as ``build/ledger.json`` counts;
* the site search finds the given terms and links to the right page.

It saves a full-page screenshot of each page under ``build/screenshots/`` and exits 1 with a
list of what broke. Usage: ``python tools/site_check.py [--site site] [--chromium PATH]``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# (query, fragment of the page URL the first results must include)
SEARCHES = [
    ("retain_graph", "/autograd/"),
    ("least squares", "/least-squares/"),
    ("梯度下降", "/glossary/"),
    ("叶子节点", "/glossary/"),
    ("最小二乘法", "/glossary/"),
    ("gradient descent", "/gradient-descent/"),
]

RAW_MATH = re.compile(r"(?<![\\$\w])\$[^$\s][^$\n]{0,200}?\$(?!\w)")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def page_paths(site: Path) -> list[str]:
    paths = []
    for html in sorted(site.rglob("index.html")):
        relative = html.parent.relative_to(site).as_posix()
        paths.append("/" if relative == "." else f"/{relative}/")
    return paths


def check_page(page: Page, base: str, path: str, shots: Path, problems: list[str]) -> None:
    console: list[str] = []
    failed: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))

    def route(route_obj) -> None:  # block and record anything that would leave the machine
        host = urlparse(route_obj.request.url).hostname
        if route_obj.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route_obj.continue_()
        else:
            outside.append(route_obj.request.url)
            route_obj.abort()

    page.route("**/*", route)
    response = page.goto(base + path, wait_until="networkidle")
    where = f"page {path}"
    if response is None or response.status != 200:
        problems.append(f"{where}: HTTP {response.status if response else 'no response'}")
        return
    page.wait_for_timeout(150)
    broken = page.evaluate(
        """() => Array.from(document.images)
              .filter(img => !img.complete || img.naturalWidth === 0)
              .map(img => img.getAttribute('src'))"""
    )
    for src in broken:
        problems.append(f"{where}: image did not load: {src}")
    unrendered = page.evaluate(
        """() => Array.from(document.querySelectorAll('.arithmatex'))
              .filter(el => !el.querySelector('.katex'))
              .map(el => el.textContent.slice(0, 60))"""
    )
    for text in unrendered:
        problems.append(f"{where}: math not rendered: {text!r}")
    text = page.evaluate(
        """() => {
              const clone = document.querySelector('article').cloneNode(true);
              clone.querySelectorAll('pre, code, .katex').forEach(el => el.remove());
              return clone.innerText;
           }"""
    )
    for raw in RAW_MATH.findall(text)[:5]:
        problems.append(f"{where}: raw math left in the text: {raw!r}")
    for message in console:
        problems.append(f"{where}: console error: {message[:200]}")
    for request in failed:
        problems.append(f"{where}: request failed: {request}")
    for url in outside:
        problems.append(f"{where}: request leaving 127.0.0.1 (blocked): {url}")
    name = path.strip("/").replace("/", "__") or "index"
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def check_search(page: Page, base: str, query: str, expected: str, problems: list[str]) -> None:
    page.goto(base + "/", wait_until="networkidle")
    box = page.locator("input.md-search__input")
    box.click()
    box.press_sequentially(query, delay=30)
    # Material searches on key-up; characters typed as text (Chinese, as from an IME) fire
    # none, so end with a key press the way a reader's keyboard would.
    box.press("End")
    try:
        page.wait_for_selector(".md-search-result__item", timeout=10_000)
    except Exception:
        problems.append(f"search {query!r}: no results")
        return
    links = page.eval_on_selector_all(
        ".md-search-result__item a", "els => els.map(a => a.getAttribute('href'))"
    )
    if not any(expected in (href or "") for href in links[:8]):
        problems.append(f"search {query!r}: no link to {expected} among {links[:8]}")


def check_ledger(page: Page, base: str, ledger: dict, problems: list[str]) -> None:
    page.goto(base + "/ledger/", wait_until="networkidle")
    shown = page.locator(".gs-ledger .gs-badge.gs-pass").count()
    expected = ledger["summary"]["status"].get("pass", 0)
    if shown != expected:
        problems.append(
            f"ledger page shows {shown} passing claims, build/ledger.json has {expected}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--ledger", type=Path, default=ROOT / "build" / "ledger.json")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "build" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"no site at {args.site}: run 'make docs' first", file=sys.stderr)
        return 2
    args.screenshots.mkdir(parents=True, exist_ok=True)
    ledger = json.loads(args.ledger.read_text(encoding="utf-8"))
    problems: list[str] = []
    paths = page_paths(args.site)
    with (
        serve(args.site) as base,
        sync_playwright() as playwright,
        tempfile.TemporaryDirectory(prefix="gradspec-chromium-") as profile,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=args.chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        for path in paths:
            page = context.new_page()
            check_page(page, base, path, args.screenshots, problems)
            page.close()
        page = context.new_page()
        for query, expected in SEARCHES:
            check_search(page, base, query, expected, problems)
        check_ledger(page, base, ledger, problems)
        context.close()
    print(
        f"site-check: {len(paths)} pages, {len(SEARCHES)} searches,",
        f"screenshots in {args.screenshots}",
    )
    if problems:
        print(f"site-check: {len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("site-check: all pages rendered cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
