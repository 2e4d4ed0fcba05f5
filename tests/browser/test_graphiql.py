"""GraphiQL in a headless Chromium: runs the default query with nothing but the gateway."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.http.graphiql import DEFAULT_QUERY
from tests.browser.devtools import Page, open_page

SCREENSHOT_PATH = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "graphiql.png"
RESULT_TIMEOUT = 30.0

# Added to every document before its own scripts run: DevTools-injected, so the page's
# CSP does not apply to it. Keeps what the browser blocked for the page's CSP.
_RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI} (${where})`);
});
"""
_RESPONSE_TEXT = """(() => {
  const editor = document.querySelector(".graphiql-response .CodeMirror");
  return editor ? editor.CodeMirror.getValue() : "";
})()"""
# Radix UI dialogs add a <style> element while open: the one thing that needs the nonce.
_DIALOG_BUTTONS = (
    'button[aria-label="Open settings dialog"]',
    'button[aria-label="Open short keys dialog"]',
)


@dataclass(frozen=True, slots=True)
class GraphiQLRun:
    """What the browser saw while running the default query and opening GraphiQL's dialogs."""

    response: dict[str, Any]
    request_urls: list[str]
    csp_violations: list[str]
    errors: list[str]


@pytest.fixture(scope="module")
def graphiql_run(chromium: str, gateway_url: str) -> Iterator[GraphiQLRun]:
    with open_page(chromium) as page:
        for domain in ("Page", "Network", "Log", "Runtime"):
            page.send(f"{domain}.enable")
        page.send("Page.addScriptToEvaluateOnNewDocument", {"source": _RECORD_CSP_VIOLATIONS})
        page.navigate(f"{gateway_url}/graphql")
        page.wait_for(
            "!!document.querySelector('.graphiql-execute-button')", timeout=RESULT_TIMEOUT
        )
        page.click(".graphiql-execute-button")
        response = json.loads(page.wait_for(_RESPONSE_TEXT, timeout=RESULT_TIMEOUT))
        page.screenshot(SCREENSHOT_PATH)
        for button in _DIALOG_BUTTONS:
            _open_and_close_dialog(page, button)
        yield GraphiQLRun(
            response=response,
            request_urls=[
                event["request"]["url"] for event in page.events_named("Network.requestWillBeSent")
            ],
            csp_violations=page.evaluate("window.__cspViolations")
            + [
                entry["entry"]["text"]
                for entry in page.events_named("Log.entryAdded")
                if "Content Security Policy" in entry["entry"]["text"]
            ],
            errors=_errors(page),
        )


def _open_and_close_dialog(page: Page, button: str) -> None:
    page.click(button)
    page.wait_for("!!document.querySelector('[role=dialog]')", timeout=RESULT_TIMEOUT)
    for event_type in ("keyDown", "keyUp"):
        page.send(
            "Input.dispatchKeyEvent",
            {"type": event_type, "key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27},
        )
    page.wait_for("!document.querySelector('[role=dialog]')", timeout=RESULT_TIMEOUT)


def _errors(page: Page) -> list[str]:
    logged = [
        f"log: {entry['entry']['text']}"
        for entry in page.events_named("Log.entryAdded")
        if entry["entry"]["level"] == "error"
    ]
    console = [
        "console.error: "
        + " ".join(str(arg.get("value", arg.get("description"))) for arg in call["args"])
        for call in page.events_named("Runtime.consoleAPICalled")
        if call["type"] == "error"
    ]
    thrown = [
        f"uncaught: {details['exceptionDetails'].get('exception', {}).get('description')}"
        for details in page.events_named("Runtime.exceptionThrown")
    ]
    return logged + console + thrown


def _titles(response: dict[str, Any]) -> list[str]:
    return [entry["item"]["title"] for entry in response["data"]["recommendations"]["items"]]


def test_graphiql_shows_recommended_item_titles(
    graphiql_run: GraphiQLRun, gateway_url: str
) -> None:
    direct = httpx.post(f"{gateway_url}/graphql", json={"query": DEFAULT_QUERY}, timeout=10).json()

    assert _titles(graphiql_run.response) == _titles(direct)
    assert len(_titles(direct)) == 5


def test_graphiql_requests_only_the_gateway(graphiql_run: GraphiQLRun, gateway_url: str) -> None:
    origins = {
        f"{parts.scheme}://{parts.netloc}"
        for parts in map(urlsplit, graphiql_run.request_urls)
        if parts.scheme != "data"
    }

    assert origins == {gateway_url}


def test_graphiql_loads_its_assets_from_graphiql_static(graphiql_run: GraphiQLRun) -> None:
    paths = {urlsplit(url).path for url in graphiql_run.request_urls if not url.startswith("data:")}

    assert paths == {
        "/graphql",
        "/graphiql-static/graphiql.min.css",
        "/graphiql-static/graphiql-page.css",
        "/graphiql-static/react.production.min.js",
        "/graphiql-static/react-dom.production.min.js",
        "/graphiql-static/graphiql.min.js",
        "/graphiql-static/graphiql-init.js",
    }


def test_graphiql_violates_no_content_security_policy(graphiql_run: GraphiQLRun) -> None:
    assert graphiql_run.csp_violations == []


def test_graphiql_logs_no_error(graphiql_run: GraphiQLRun) -> None:
    assert graphiql_run.errors == []
