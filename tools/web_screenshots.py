"""Screenshots of the web app's main pages into docs/img/ (shown in the README and docs/web.md).

    .venv/bin/python tools/web_screenshots.py [--store URL] [--out docs/img]

Serves the workspace (default: the one `triops demo` filled, TRIOPS_HOME or ./.triops) in ``--dev`` mode on a
free loopback port and photographs each page in Debian's Chromium (/usr/bin/chromium; no downloaded browser).
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from triops.server.app import create_app
from triops.workspace import Workspace

PAGES = [
    ("scorecard", "/"),
    ("runs", "/runs"),
    ("compare", "{compare}"),
    ("pipeline", "{pipeline}"),
    ("dataset", "{dataset}"),
    ("model", "{model}"),
    ("costs", "/costs?by=step"),
    ("governance", "/governance"),
]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="store URL (default: TRIOPS_STORE_URL or ./.triops)")
    parser.add_argument("--out", default="docs/img", help="directory for the PNG files")
    args = parser.parse_args()
    ws = Workspace.open(args.store)
    port = _port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(ws, dev=True), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-background-networking"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def first(path: str, pattern: str) -> str | None:
            page.goto(base + path)
            found = re.findall(pattern, page.content())
            return found[0] if found else None

        runs = re.findall(
            r'href="/runs/([0-9a-f-]{36})"', (page.goto(base + "/runs") and page.content()) or ""
        )
        links = {
            "compare": "/runs/compare?" + "&".join(f"run={r}" for r in runs[:3]) if len(runs) > 1 else None,
            "pipeline": first("/pipelines", r'href="(/pipelines/[0-9a-f-]{36})"'),
            "dataset": first("/datasets", r'href="(/datasets/[^"]+/\d+)"'),
            "model": None,
        }
        model = first("/models", r'href="(/models/[^"/]+)"')
        if model:
            links["model"] = first(model, r'href="(/models/[^"]+/\d+)"')
        for name, path in PAGES:
            target = path.format(**{k: v or "" for k, v in links.items()})
            if not target:
                print(f"skipped {name}: the workspace has nothing to show there", file=sys.stderr)
                continue
            page.goto(base + target)
            page.screenshot(path=str(out / f"web-{name}.png"), full_page=False)
            print(f"wrote {out / f'web-{name}.png'}")
        browser.close()
    server.should_exit = True
    ws.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
