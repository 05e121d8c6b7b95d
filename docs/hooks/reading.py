"""mkdocs hook: reading aids applied to the rendered pages.

* **Figures get numbered captions.** A paragraph holding a single image becomes
  ``<figure>`` with ``<figcaption>Figure 3.2 · {alt text}</figcaption>``: chapter pages number
  their figures after the chapter's number in the nav, other pages count from 1.
* **reST roles become cross-references.** Docstrings written for Sphinx say
  ``:func:`least_squares```; mkdocstrings prints that literally. Each role is replaced by an
  optional autorefs link to the object's API entry (a short name is looked up in the page's own
  module first, then in every module the API pages document); a name with no entry (such as
  ``torch.nn.Linear``) stays as code, without the role.
* **The search index reads as text.** Math in the index is TeX (``\\(v\\)``); it is turned into
  plain text (``v``, ``a/b``, ``σ``) so search snippets never show TeX source.
"""

from __future__ import annotations

import html
import importlib
import json
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import Files

ROOT = Path(__file__).resolve().parents[2]
API_DIR = ROOT / "docs" / "api"

ROLE = re.compile(
    r":(?:py:)?(?P<role>func|class|meth|mod|attr|exc|data|obj|const|ref)"
    r":<code>(?P<tilde>~?)(?P<name>[\w.]+)(?:\(\))?</code>"
)
IMAGE_PARAGRAPH = re.compile(r"<p>\s*(?P<img><img\b[^>]*>)\s*</p>")
ALT = re.compile(r'\balt="(?P<alt>[^"]*)"')
CHAPTER_TITLE = re.compile(r"^(?P<number>\d+)\s+\S")

_names: dict[str, list[str]] = {}  # short name -> full identifiers, documented modules first
_chapter_numbers: dict[str, str] = {}  # src_uri -> chapter number from the nav


def documented_modules() -> list[str]:
    """Modules rendered by ``::: module`` on the API pages, in file order."""
    modules = []
    for page in sorted(API_DIR.glob("*.md")):
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith(":::"):
                modules.append(line[3:].strip())
    return modules


def public_names(modules: list[str]) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        exported = getattr(module, "__all__", None) or [
            name for name in vars(module) if not name.startswith("_")
        ]
        for name in exported:
            names.setdefault(name, []).append(f"{module_name}.{name}")
    return names


def identifier_for(name: str, page_modules: list[str]) -> str:
    """The API identifier a role's target most likely means."""
    if name.startswith(("reference.", "torch.", "numpy.")):
        return name
    head, _, rest = name.partition(".")
    for module in page_modules:
        if f"{module}.{head}" in _names.get(head, []):
            return f"{module}.{name}"
    candidates = _names.get(head, [])
    if candidates:
        return candidates[0] + (f".{rest}" if rest else "")
    return name


def replace_roles(text: str, page_modules: list[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        title = name.rsplit(".", 1)[-1] if match["tilde"] else name
        if match["role"] in ("func", "meth"):
            title += "()"
        identifier = identifier_for(name, page_modules)
        return (
            f'<autoref identifier="{html.escape(identifier)}" optional>'
            f"<code>{html.escape(title)}</code></autoref>"
        )

    return ROLE.sub(replace, text)


SVG_NAME = re.compile(r'src="[^"]*figures/(?P<name>[\w.-]+\.svg)"')
SVG_WIDTH = re.compile(rb'<svg[^>]*?\swidth="(?P<width>[\d.]+)pt"')
PHONE_PX_PER_PT = 0.85  # 10 pt figure text reads at about 8.5 CSS px on a phone


def figure_widths(files: Files) -> dict[str, float]:
    """Figure file name -> width of its SVG in points (matplotlib writes ``width="..pt"``)."""
    widths = {}
    for file in files:
        if file.src_uri.startswith("figures/") and file.src_uri.endswith(".svg"):
            match = SVG_WIDTH.search(file.content_bytes[:2000])
            if match:
                widths[file.src_uri.removeprefix("figures/")] = float(match["width"])
    return widths


def caption_figures(text: str, prefix: str, widths: dict[str, float] | None = None) -> str:
    """Wrap every image alone in its paragraph in a numbered ``<figure>``; on a phone a wide
    figure keeps a size its text can be read at, and scrolls inside its own box."""
    count = 0
    widths = widths or {}

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        img = match["img"]
        name = SVG_NAME.search(img)
        points = widths.get(name["name"]) if name else None
        if points:
            img = img.replace(
                "<img ", f'<img style="--gs-phone-width: {points * PHONE_PX_PER_PT:.0f}px" ', 1
            )
        alt = ALT.search(match["img"])
        caption = html.unescape(alt["alt"]) if alt else ""
        label = f"Figure {prefix}{count}"
        body = f"<strong>{label}.</strong> {html.escape(caption)}" if caption else label
        return f'<figure class="gs-figure">{img}<figcaption>{body}</figcaption></figure>'

    return IMAGE_PARAGRAPH.sub(replace, text)


# ------------------------------------------------------------------ TeX to plain text
SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "Delta": "Δ", "epsilon": "ε",
    "varepsilon": "ε", "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ",
    "nabla": "∇", "pi": "π", "rho": "ρ", "sigma": "σ", "Sigma": "Σ", "sum": "Σ", "prod": "Π",
    "tau": "τ", "phi": "φ", "omega": "ω", "cdot": "·", "times": "×", "approx": "≈",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "to": "→",
    "rightarrow": "→", "infty": "∞", "in": "∈", "partial": "∂", "top": "ᵀ", "lVert": "‖",
    "rVert": "‖", "Vert": "‖", "lvert": "|", "rvert": "|", "mid": "|", "ldots": "…",
    "dots": "…", "cdots": "…", "pm": "±", "star": "*", "odot": "⊙", "log": "log",
    "exp": "exp", "min": "min", "max": "max", "arg": "arg", "det": "det", "sqrt": "√",
}  # fmt: skip
MATH = re.compile(r"\\\((?P<inline>.+?)\\\)|\\\[(?P<display>.+?)\\\]", re.DOTALL)
FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
COMMAND = re.compile(r"\\([A-Za-z]+)")
SPACING = re.compile(r"\\[,;:! ]|\\quad|\\qquad")
STYLE = re.compile(r"\\(?:mathrm|mathbf|mathbb|operatorname|text|textrm|boldsymbol|mathcal)\s*")


def tex_to_text(tex: str) -> str:
    """A readable plain-text rendering of a TeX formula, for search snippets."""
    text = SPACING.sub(" ", tex)
    text = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)\b", "", text)
    text = STYLE.sub("", text)
    for _ in range(3):
        text = FRAC.sub(r"(\1)/(\2)", text)
    text = text.replace("\\{", "{").replace("\\}", "}")
    text = COMMAND.sub(lambda m: SYMBOLS.get(m[1], m[1]), text)
    text = text.replace("{", "").replace("}", "").replace("\\", "")
    return re.sub(r"\s+", " ", text).strip()


CODE_HTML = re.compile(r"(<pre>.*?</pre>|<code>.*?</code>)", re.DOTALL)


def plain_math(text: str) -> str:
    """Text with its TeX formulas in plain text; code (which may hold backslashes) untouched."""
    parts = CODE_HTML.split(text)
    return "".join(
        part if index % 2 else MATH.sub(lambda m: tex_to_text(m["inline"] or m["display"]), part)
        for index, part in enumerate(parts)
    )


# ------------------------------------------------------------------ hooks
def on_config(config: Any) -> Any:
    _chapter_numbers.clear()

    def walk(items: Any) -> None:
        for item in items or []:
            if isinstance(item, dict):
                for title, value in item.items():
                    if isinstance(value, str):
                        match = CHAPTER_TITLE.match(str(title))
                        if match:
                            _chapter_numbers[value] = match["number"]
                    else:
                        walk(value)

    walk(config.get("nav"))
    return config


def on_files(files: Files, config: Any) -> Files:
    _names.clear()
    _names.update(public_names(documented_modules()))
    return files


def on_page_content(text: str, page: Any, config: Any, files: Files) -> str:
    uri = page.file.src_uri
    if uri.startswith("api/"):
        source = page.file.content_string if hasattr(page.file, "content_string") else ""
        modules = [line[3:].strip() for line in source.splitlines() if line.startswith(":::")]
        text = replace_roles(text, modules)
    number = _chapter_numbers.get(uri)
    return caption_figures(text, f"{number}." if number else "", figure_widths(files))


def on_post_build(config: Any) -> None:
    index = Path(config["site_dir"]) / "search" / "search_index.json"
    if not index.is_file():
        return
    data = json.loads(index.read_text(encoding="utf-8"))
    for doc in data.get("docs", []):
        doc["text"] = plain_math(doc.get("text", ""))
        doc["title"] = plain_math(doc.get("title", ""))
    index.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")
