"""The OpenAPI document is valid OpenAPI 3.1, and the interactive docs page at /api/v1/docs works with
no internet: the page and everything it loads come from this server."""
from __future__ import annotations

import re
import threading
from html.parser import HTMLParser
from urllib.parse import urlsplit

import jsonschema_rs
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31
from werkzeug.serving import make_server

from config.ports import free_port
from tests.fixtures.browser import wait_for
from web.api import OPERATIONS


class _Links(HTMLParser):
    """Every src and href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [value for name, value in attrs if name in ("src", "href") and value]


def _links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.links


def test_the_document_is_valid_openapi_3_1_and_its_schemas_valid_json_schema(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    errors = [error.message for error in jsonschema_rs.Draft202012Validator(OPENAPI_31).iter_errors(spec)]
    assert errors == []
    invalid = [name for name, schema in spec["components"]["schemas"].items()
               if not jsonschema_rs.meta.is_valid(schema)]
    assert invalid == []


def test_every_reference_in_the_document_names_one_of_its_schemas(client):
    document = client.get("/api/v1/openapi.json")
    names = set(document.get_json()["components"]["schemas"])
    assert set(re.findall(r'"#/components/schemas/([^"]+)"', document.get_data(as_text=True))) <= names


def test_the_docs_page_and_all_it_loads_come_from_this_server(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    links = _links(html)
    assert links and all(not urlsplit(link).scheme and not urlsplit(link).netloc for link in links), links
    assert "http" not in html  # no absolute URL anywhere, scripts included
    for link in links:
        asset = client.get(link)
        assert asset.status_code == 200, link
        assert asset.mimetype in ("text/css", "text/javascript", "image/png"), (link, asset.mimetype)
        if asset.mimetype == "text/css":  # images in the style sheet are inline data, not fetched
            assert all(url.strip("'\"").startswith("data:")
                       for url in re.findall(r"url\(([^)]*)\)", asset.get_data(as_text=True)))


def test_the_docs_page_serves_nothing_else_of_the_bundle(client):
    assert client.get("/api/v1/docs/static/index.html").status_code == 404
    assert client.get("/api/v1/docs/static/..%2Fdocs.py").status_code == 404


@pytest.fixture
def served_app(app):
    """The API (with its pages) on a loopback port; yields its base URL."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_the_docs_page_shows_every_operation_and_its_response_in_a_browser_from_this_server_alone(
        served_app, browser, screenshot):
    from selenium.webdriver.common.by import By

    browser.get(f"{served_app}/api/v1/docs")
    wait_for(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, ".opblock")) == len(OPERATIONS),
             what="every operation rendered")
    screenshot("docs")
    shown = {(block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text,
              block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path"))
             for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")}
    assert shown == {(op.method, op.path) for op in OPERATIONS}
    browser.find_element(By.ID, "operations-farmers-get_me").find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait_for(browser, lambda b: '"exit_preview"' in b.find_element(By.ID, "operations-farmers-get_me").text,
             what="the response's example, drawn from its schema")
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert fetched and all(url.startswith(served_app + "/") for url in fetched), fetched
    assert not [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
