r"""Check the built site the way a reader uses it: in a real browser.

Serves ``site/`` on 127.0.0.1, drives Debian's headless Chromium with Playwright (no browser
download: ``executable_path`` points at the system binary) through every page, and checks

* HTTP 200 for the page, no console errors, no failed requests, no request leaving 127.0.0.1;
* every image loaded with a non-zero size, and sits in a ``<figure>`` with a caption;
* math rendered: every arithmatex element holds KaTeX output, and no TeX is left in the text
  (``$...$``, ``$$``, ``\frac``, ``\(`` outside KaTeX output), nor in the search index;
* no reST role (``:func:`` and the like) printed in the text;
* the page has previous/next links in its footer, and a canonical link (if any) names itself;
* at phone width (390 px) the page body does not scroll sideways (wide tables and formulas
  scroll inside their own box);
* the ledger page shows as many passing claims as ``build/ledger.json`` counts, and the
  downloads (JSON, CSV) hold every claim;
* the claims index filters and sorts in the browser;
* the site search finds the given terms (English and Chinese) and links to the right claims.

It saves a full-page screenshot of each page at both widths under ``build/screenshots/1280/``
and ``build/screenshots/390/``, close-ups of the items the checks guard under
``build/screenshots/items/``, and exits 1 with a list of what broke.
Usage: ``python tools/site_check.py [--site site] [--chromium PATH]``.
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

# (query, fragment one of the first results' URLs must include): Chinese words land on claims.
SEARCHES = [
    ("retain_graph", "/autograd/"),
    ("least squares", "/least-squares/"),
    ("梯度下降", "/gradient-descent/#GD-"),
    ("学习率", "#GD-"),
    ("叶子节点", "/autograd/#AG-LEAF"),
    ("最小二乘法", "/glossary/"),
    ("gradient descent", "/gradient-descent/"),
]

VIEWPORTS = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}

RAW_MATH = re.compile(r"(?<![\\$\w])\$[^$\s][^$\n]{0,200}?\$(?!\w)")
RAW_TEX = re.compile(r"\$\$|\\frac|\\\(|\\\)|\\\[|\\\]|\\begin\{")
CODE_HTML = re.compile(r"<pre>.*?</pre>|<code>.*?</code>", re.DOTALL)
REST_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|exc|data|obj|const|ref):`?")

# Close-ups of the items the checks guard, at both widths: (page, CSS selector, name).
ITEMS = [
    ("/least-squares/", "#LS-EXACT ~ ol", "least-squares-rank-deficiency"),
    ("/linear-regression/", "#LIN-GENERALIZE ~ ol", "linear-regression-fewer-samples"),
    ("/api/linear/", "article", "api-cross-references"),
    ("/ledger/", ".gs-ledger", "ledger-table"),
    ("/", ".gs-chapters", "home-chapter-table"),
    ("/", ".gs-path", "home-start-here"),
    ("/", ".md-footer", "footer-prev-next"),
    ("/claims/", "article", "claims-index"),
    ("/errata/", "article", "errata"),
    ("/digits/", "#FEAT-NORM\\.loop", "claim-box-heading"),
    ("/digits/", "#FEAT-NORM\\.loop ~ .admonition", "claim-box"),
    ("/gradient-descent/", "figure.gs-figure", "figure-caption"),
    ("/benchmarks/", "article", "benchmarks"),
]


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


def check_page(
    page: Page, base: str, path: str, shots: Path, problems: list[str], width: str = "1280"
) -> None:
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
    where = f"page {path} ({width} px)"
    if response is None or response.status != 200:
        problems.append(f"{where}: HTTP {response.status if response else 'no response'}")
        return
    page.wait_for_timeout(150)
    with contextlib.suppress(Exception):  # long pages take a moment to typeset; then check
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.arithmatex'))"
            ".every(el => el.querySelector('.katex'))",
            timeout=15_000,
        )
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
    for match in list(RAW_TEX.finditer(text))[:5]:
        around = text[max(0, match.start() - 30) : match.end() + 30].replace("\n", " ")
        problems.append(f"{where}: raw TeX left in the text: {around!r}")
    for match in list(REST_ROLE.finditer(text))[:5]:
        around = text[max(0, match.start() - 20) : match.end() + 30].replace("\n", " ")
        problems.append(f"{where}: reST role printed in the text: {around!r}")
    uncaptioned = page.evaluate(
        """() => Array.from(document.querySelectorAll('article img'))
              .filter(img => { const f = img.closest('figure');
                               return !f || !f.querySelector('figcaption')
                                         || !f.querySelector('figcaption').textContent.trim(); })
              .map(img => img.getAttribute('src'))"""
    )
    for src in uncaptioned:
        problems.append(f"{where}: image without a caption: {src}")
    footer = page.locator(".md-footer__link--prev, .md-footer__link--next").count()
    if footer == 0:
        problems.append(f"{where}: no previous/next links in the footer")
    canonical = page.evaluate(
        "() => { const l = document.querySelector('link[rel=canonical]');"
        " return l ? l.href : null; }"
    )
    if canonical is not None and urlparse(canonical).path.rstrip("/") != path.rstrip("/"):
        problems.append(f"{where}: canonical link points elsewhere: {canonical}")
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 1:
        wide = page.evaluate(
            """() => { const w = document.documentElement.clientWidth;
                 return Array.from(document.querySelectorAll('article *'))
                   .filter(el => el.getBoundingClientRect().right > w + 1)
                   .slice(0, 3).map(el => el.tagName.toLowerCase() +
                     (el.className && typeof el.className === 'string'
                       ? '.' + el.className.split(' ')[0] : '')); }"""
        )
        problems.append(f"{where}: the page scrolls sideways by {overflow} px ({', '.join(wide)})")
    for message in console:
        problems.append(f"{where}: console error: {message[:200]}")
    for request in failed:
        problems.append(f"{where}: request failed: {request}")
    for url in outside:
        problems.append(f"{where}: request leaving 127.0.0.1 (blocked): {url}")
    name = path.strip("/").replace("/", "__") or "index"
    page.screenshot(path=str(shots / width / f"{name}.png"), full_page=True)


def shoot_items(page: Page, base: str, shots: Path, width: str, problems: list[str]) -> None:
    """Close-ups of the guarded items, for a reader (or reviewer) to look at."""
    current = None
    for path, selector, name in ITEMS:
        if path != current:
            page.goto(base + path, wait_until="networkidle")
            page.wait_for_timeout(150)
            current = path
        # The sticky header would cover the top of a close-up: let it scroll away.
        page.add_style_tag(content=".md-header { position: absolute !important; }")
        target = page.locator(selector).first
        if target.count() == 0:
            problems.append(f"screenshot {name}: nothing matches {selector!r} on {path}")
            continue
        target.scroll_into_view_if_needed()
        target.screenshot(path=str(shots / "items" / f"{name}@{width}.png"))


def check_search_index(site: Path, problems: list[str]) -> None:
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    for doc in index["docs"]:
        prose = CODE_HTML.sub(" ", doc["text"])  # code may hold backslashes legitimately
        match = RAW_TEX.search(prose) or RAW_TEX.search(doc["title"])
        if match:
            around = (prose if RAW_TEX.search(prose) else doc["title"])[
                max(0, match.start() - 30) : match.end() + 30
            ]
            problems.append(f"search index {doc['location']}: raw TeX in a snippet: {around!r}")
            break


def check_downloads(page: Page, base: str, ledger: dict, problems: list[str]) -> None:
    claims = len(ledger["claims"])
    response = page.request.get(base + "/downloads/ledger.json")
    if response.status != 200 or len(response.json().get("claims", {})) != claims:
        problems.append(f"downloads/ledger.json: expected {claims} claims")
    response = page.request.get(base + "/downloads/ledger.csv")
    lines = response.text().strip().splitlines() if response.status == 200 else []
    if len(lines) != claims + 1 or not lines[0].startswith("id,chapter,title"):
        problems.append(f"downloads/ledger.csv: expected a header and {claims} rows")


def check_claims_index(page: Page, base: str, ledger: dict, problems: list[str]) -> None:
    """Filter and sort the claims index in the browser, as a reader would."""
    page.goto(base + "/claims/", wait_until="networkidle")
    rows = page.locator("#gs-claims-index tbody tr")
    if rows.count() != len(ledger["claims"]):
        problems.append(f"claims index: {rows.count()} rows, {len(ledger['claims'])} claims")
        return

    def visible() -> list[str]:
        return page.eval_on_selector_all(
            "#gs-claims-index tbody tr:not([hidden]) td:first-child",
            "cells => cells.map(c => c.textContent.trim())",
        )

    def expect(what: str, wanted: set[str]) -> None:
        shown = set(visible())
        if shown != wanted:
            problems.append(
                f"claims index, {what}: shows {len(shown)} claims, expected {len(wanted)}"
                f" (e.g. {sorted(shown ^ wanted)[:3]})"
            )

    claims = ledger["claims"]
    page.select_option("select[data-filter=chapter]", "autograd")
    expect("chapter autograd", {i for i, c in claims.items() if c["chapter"] == "autograd"})
    page.select_option("select[data-filter=verdict]", "erratum")
    expect(
        "autograd errata",
        {i for i, c in claims.items() if c["chapter"] == "autograd" and c["verdict"] == "erratum"},
    )
    page.select_option("select[data-filter=chapter]", "")
    page.select_option("select[data-filter=verdict]", "")
    page.fill("input[data-filter=text]", "叶子节点")
    leaf = set(visible())
    if not leaf or not all(claim_id.startswith("AG-") for claim_id in leaf):
        problems.append(f"claims index, words 叶子节点: shows {sorted(leaf)[:5]}")
    page.fill("input[data-filter=text]", "")
    page.select_option("select[data-filter=status]", "pass")
    expect("status pass", {i for i, c in claims.items() if c["status"] == "pass"})
    page.select_option("select[data-filter=status]", "")
    page.click("th[data-sort=specs] button")
    page.click("th[data-sort=specs] button")  # twice: most specs first
    first = page.eval_on_selector("#gs-claims-index tbody tr", "row => Number(row.dataset.specs)")
    most = max(len({s["nodeid"].split("[")[0] for s in c["specs"]}) for c in claims.values())
    if first != most:
        problems.append(f"claims index: sorted by specs (descending) starts at {first}, not {most}")


def check_palette(page: Page, base: str, problems: list[str], shots: Path | None = None) -> None:
    page.goto(base + "/", wait_until="networkidle")
    before = page.evaluate("() => document.body.getAttribute('data-md-color-scheme')")
    toggle = page.locator("form[data-md-component=palette] label:visible").first
    if toggle.count() == 0:
        problems.append("no light/dark palette toggle in the header")
        return
    toggle.click()
    page.wait_for_timeout(200)
    after = page.evaluate("() => document.body.getAttribute('data-md-color-scheme')")
    if before == after:
        problems.append(f"the palette toggle does not switch the scheme (stays {after})")
    elif shots is not None:
        page.screenshot(path=str(shots / "items" / f"palette-{after}@1280.png"))


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
    # The first results may answer a prefix typed on the way (梯度 of 梯度下降): let the
    # search catch up with the whole query before reading them.
    page.wait_for_timeout(1200)
    links = page.eval_on_selector_all(
        ".md-search-result__item a", "els => els.map(a => a.getAttribute('href'))"
    )
    # Result links carry the query (?h=...) between the path and the anchor: drop it.
    targets = [urlparse(href or "")._replace(query="").geturl() for href in links[:8]]
    if not any(expected in target for target in targets):
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
    for sub in (*VIEWPORTS, "items"):
        (args.screenshots / sub).mkdir(parents=True, exist_ok=True)
    ledger = json.loads(args.ledger.read_text(encoding="utf-8"))
    problems: list[str] = []
    paths = page_paths(args.site)
    check_search_index(args.site, problems)
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
            viewport=VIEWPORTS["1280"],
        )
        for width, viewport in VIEWPORTS.items():
            page = context.new_page()
            page.set_viewport_size(viewport)
            for path in paths:
                check_page(page, base, path, args.screenshots, problems, width)
                page.close()
                page = context.new_page()
                page.set_viewport_size(viewport)
            shoot_items(page, base, args.screenshots, width, problems)
            page.close()
        page = context.new_page()
        for query, expected in SEARCHES:
            check_search(page, base, query, expected, problems)
        check_ledger(page, base, ledger, problems)
        check_downloads(page, base, ledger, problems)
        check_claims_index(page, base, ledger, problems)
        check_palette(page, base, problems, args.screenshots)
        context.close()
    print(
        f"site-check: {len(paths)} pages at {len(VIEWPORTS)} widths, {len(SEARCHES)} searches,",
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
