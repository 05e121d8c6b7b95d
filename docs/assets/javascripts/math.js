// Render the math that pymdownx.arithmatex leaves as \( ... \) and \[ ... \], with the KaTeX
// copy the build vendors (no CDN). Material's instant navigation swaps pages without a reload,
// so render on every page it shows, not only on the first load.
(function () {
  function render() {
    if (typeof renderMathInElement !== "function") return;
    document.querySelectorAll(".arithmatex").forEach(function (element) {
      renderMathInElement(element, {
        delimiters: [
          { left: "\\(", right: "\\)", display: false },
          { left: "\\[", right: "\\]", display: true },
        ],
        throwOnError: false,
      });
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(render);
  } else {
    document.addEventListener("DOMContentLoaded", render);
  }
})();
