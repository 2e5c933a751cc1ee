"""The handout site (autograder/site_build.py): its table of contents, the box on each page, and the built
site read in headless Chromium, offline: every page of the table of contents opens, holds text and
unbroken images, has no raw LaTeX left, and asks for nothing outside the site; search and citations work."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path

import nbformat
import pytest
from conftest import CHROMIUM, ROOT

from autograder.handouts import handout_notebooks, output_stem
from autograder.site_build import PAPERS, Page, build_site, colab_link, hardware_of, parts_from_readme, run_box

README = (ROOT / "README.md").read_text(encoding="utf-8")
REPOSITORY = "example-org/cnn-course-student"


def test_the_table_of_contents_holds_every_handout_notebook_once():
    pages = [page.stem for part in parts_from_readme(README) for page in part.pages]
    expected = sorted(str(output_stem(ROOT, p)) for p in handout_notebooks(ROOT))
    assert sorted(pages) == expected


def test_the_parts_follow_the_ten_questions_and_name_their_papers():
    parts = parts_from_readme(README)
    labels = [part.label for part in parts]
    assert labels[:10] == [str(i) for i in range(1, 11)]
    bib = (ROOT / "autograder" / "site_assets" / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"^@\w+\{(\w+),", bib, re.M))
    for label in labels[:10]:
        assert PAPERS[label] and set(PAPERS[label]) <= keys, label
    lenet = next(part for part in parts if part.label == "6")
    assert [(p.stem, p.student_path) for p in lenet.pages] == [("lenet5/lenet5", "release/lenet5/lenet5.ipynb")]


def _executed(metadata: dict, printed: str = "") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(train.describe_device())")
    if printed:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    nb.cells = [nbformat.v4.new_markdown_cell("# A lecture"), cell]
    nb.metadata.update(metadata)
    return nb


def test_the_run_box_gives_time_date_mode_hardware_and_colab_link():
    run = {"papermill": {"duration": 154.5, "end_time": "2026-12-02T01:22:22.174686+00:00"}}
    nb = _executed({**run, "course": {"hardware": "2 CPU cores (Xeon), no GPU; Keras backend tensorflow"}})
    link = colab_link(REPOSITORY, "main", Page("lenet5/lenet5", "release/lenet5/lenet5.ipynb"))
    box = run_box(nb, smoke=False, colab=link)
    assert "2 min 34 s (154 s), finished 2026-12-02 01:22 UTC" in box
    assert "**Mode:** full" in box and "2 CPU cores (Xeon), no GPU" in box
    assert f"(https://colab.research.google.com/github/{REPOSITORY}/blob/main/release/lenet5/lenet5.ipynb)" in box
    assert "smoke" in run_box(nb, smoke=True, colab=None) and "Colab" not in run_box(nb, smoke=True, colab=None)
    assert colab_link(None, "main", Page("01_cnn_vs_fc", "notebooks/01_cnn_vs_fc.ipynb")) is None


def test_hardware_falls_back_to_what_the_notebook_printed():
    printed = "Keras 3.15.1 on tensorflow 2.21.0: CPU only, 2 CPU cores; single device; dtype policy float32.\n"
    assert hardware_of(_executed({}, printed)).startswith("Keras 3.15.1 on tensorflow 2.21.0: CPU only, 2 CPU cores")
    assert hardware_of(_executed({})) == "not recorded"
    assert "Run time:** not recorded" in run_box(_executed({}), smoke=False, colab=None)


# -- the site in a browser ---------------------------------------------------------------------------

LOCAL = ("data:", "about:", "blob:")
WAIT_FOR_MATHS = """() => [...document.querySelectorAll('.math')].every(
    e => e.querySelector('.MathJax, .MathJax_Display, .MathJax_SVG, .MathJax_Preview') !== null)"""
RAW_MATHS = re.compile(r"\$[^$\s][^$\n]{0,200}?\$|\\\(|\\\)|\\\[|\\begin\{")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from the committed full-mode handouts in solutions/ (nothing is executed)."""
    return build_site(ROOT, ROOT / "solutions", tmp_path_factory.mktemp("site"), smoke=False, repository=REPOSITORY)


@pytest.fixture(scope="module")
def served(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=site.index.parent))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    if not CHROMIUM:
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


def test_the_site_holds_every_notebook(site):
    assert site.missing == []
    assert len(site.pages) == len(handout_notebooks(ROOT))
    assert all((site.index.parent / f"{stem}.html").is_file() for stem in site.pages)


@pytest.mark.slow
def test_every_page_of_the_table_of_contents_reads_well_offline(site, served, browser):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser.new_page(viewport={"width": 1300, "height": 900})
    outside = []

    def offline(route):  # the network is cut off from everything but the site
        if route.request.url.startswith((served, *LOCAL)):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.goto(f"{served}/index.html")
    page.wait_for_url("**/intro.html")  # the home page
    toc = page.eval_on_selector_all("nav.bd-links a.reference.internal", "links => links.map(a => a.href)")
    visited = set()
    for url in dict.fromkeys(u.split("#")[0] for u in toc):
        response = page.goto(url, wait_until="load")
        name = url.removeprefix(served + "/")
        assert response is not None and response.ok, name
        try:
            page.wait_for_function(WAIT_FOR_MATHS, timeout=20_000)
        except PlaywrightTimeout:
            pass  # MathJax did not finish: the raw-maths check below names what is left
        text = page.inner_text("article")
        assert len(text) > 300, f"{name} is (nearly) empty"
        assert not RAW_MATHS.search(text), f"{name} shows raw maths: {RAW_MATHS.search(text).group(0)!r}"
        broken = page.eval_on_selector_all("article img", "imgs => imgs.filter(i => !(i.naturalWidth > 0)).length")
        assert broken == 0, f"{name}: {broken} broken image(s)"
        if name.removesuffix(".html") in site.pages:
            box = page.inner_text(".admonition")
            assert "Run time:" in box and "Hardware:" in box, name
            colab = page.get_attribute(".admonition a[href*='colab.research.google.com']", "href")
            assert colab.startswith(f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/"), name
        visited.add(name.removesuffix(".html"))
    assert visited == {"intro", "references", *site.pages}
    assert outside == [], f"the site asked for files outside itself: {outside[:3]}"
    page.close()


@pytest.mark.slow
def test_search_and_citations_work_offline(site, served, browser):
    page = browser.new_page()
    page.goto(f"{served}/search.html?q=residual")
    page.wait_for_selector("ul.search li", timeout=30_000)
    hits = page.eval_on_selector_all("ul.search li a", "links => links.map(a => a.getAttribute('href'))")
    assert any("05_resnet" in href for href in hits), hits
    page.goto(f"{served}/intro.html")
    citation = page.locator("a[href^='references.html#']").first
    assert "Neocognitron" in citation.get_attribute("title")  # question 1's first paper, Fukushima 1980
    citation.click()
    page.wait_for_load_state("load")
    entries = page.inner_text("article")
    assert "Gradient-based learning applied to document recognition" in entries
    assert "Going deeper with convolutions" in entries
    page.close()


def test_a_notebook_page_keeps_the_notebooks_figures(site):
    html = (site.index.parent / "02_lenet5.html").read_text(encoding="utf-8")
    images = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert images and all((site.index.parent / src).is_file() for src in images if not src.startswith("data:"))
    assert Path(site.index.parent / "_static" / "mathjax" / "MathJax.js").is_file()
