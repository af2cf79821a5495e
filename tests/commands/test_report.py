"""`samtale report`: one self-contained HTML file, numbers per department and manager, opened in headless Chromium."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from folders import NOW, make_folder, samtale

from samtale_automation.commands.report import run_report
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.faces.present import present
from samtale_automation.plans.rounds import plan_new_round

HOSTILE = "<script>alert(1)</script> & Co"


@pytest.fixture
def company(tmp_path: Path) -> Workspace:
    """Round 2027 with Regnskap (4 people), a department with a hostile name (3), and IT, Lønn and Lager (1 each)."""
    ws = make_folder(tmp_path / "f")
    staff = ChangeSet("more staff")
    departments = {"2": "Regnskap", "3": "Regnskap", "4": "Regnskap", "5": "Regnskap", "6": HOSTILE, "7": HOSTILE,
                   "8": HOSTILE, "9": "IT", "10": "Lønn", "11": "Lager"}
    for employee_id, department in departments.items():
        staff.upsert("Ansatte", employee_id, force=True, name=f"Person Nummer{employee_id}",
                     email=f"p{employee_id}@firma.example", manager_id="1", active="Ja", department=department)
    ws.commit(staff)
    ws.commit(plan_new_round(ws.load(), "2027", None, None, NOW, "test").changeset)
    return ws


def test_the_report_shows_each_departments_numbers_and_no_names(company: Workspace) -> None:
    result = run_report(company)
    html = result.path.read_text(encoding="utf-8")
    assert result.path.name == "samtalerapport 2027.html"
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    regnskap = next(line for line in result.report.departments if line.name == "Regnskap")
    assert regnskap.people == 4
    assert [(x.name, x.people) for x in result.report.departments] == [(HOSTILE, 3), ("Regnskap", 4), ("andre", 3)]
    assert "Nummer" not in html  # no employee names below the manager
    assert "Åse Kjærstad" in html  # the manager level is shown
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    shown = present(result)
    assert shown.lines[0].startswith("Skrev ") and "samtaler" in shown.lines[1]


def test_names_only_when_asked_and_dry_run_writes_nothing(company: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "med navn.html"
    done = samtale("--dir", str(company.folder.root), "--today", "2027-01-10", "report", "--names", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Person Nummer2" in out.read_text(encoding="utf-8")
    dry = run_report(company, out=tmp_path / "none.html", dry_run=True)
    assert dry.dry_run and not (tmp_path / "none.html").exists()
    assert present(dry).lines[0].startswith("Ville skrevet")


class RecordingProxy:
    """A loopback HTTP proxy that records every connection a browser makes through it (and answers 502)."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.requests: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    first = "?"
                self.requests.append(first)
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def close(self) -> None:
        self.server.close()


#: Chromium's own services (clock, component updates, accounts), reached even with background networking off:
#: the browser's traffic, never a page's.
BROWSER_HOSTS = re.compile(r"(^|[/.\s])(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)(:\d+)?([/\s]|$)")


def page_requests(proxy: RecordingProxy) -> list[str]:
    """The requests a page made (the browser's own service calls left out)."""
    return [request for request in proxy.requests if not BROWSER_HOSTS.search(request)]


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    recorder = RecordingProxy()
    yield recorder
    recorder.close()


def chromium_dom(page: Path, proxy: RecordingProxy, profile: Path) -> str:
    """The page as headless Chromium renders it, every request sent through the recording proxy."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed (the CI script installs Debian's chromium)")
        pytest.skip("Chromium is not installed")
    args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", f"--proxy-server=http://127.0.0.1:{proxy.port}",
            "--proxy-bypass-list=<-loopback>", "--virtual-time-budget=3000", "--dump-dom", page.as_uri()]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_the_report_opens_in_chromium_with_each_departments_numbers_and_no_network(
        company: Workspace, proxy: RecordingProxy, tmp_path: Path) -> None:
    result = run_report(company)
    dom = chromium_dom(result.path, proxy, tmp_path / "profile")
    assert "Regnskap" in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom and "andre" in dom
    for line in (*result.report.departments, result.report.total):
        cells = [line.name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), str(line.people),
                 f"{line.completion} %", *map(str, line.statuses), str(line.actions_open), str(line.actions_overdue)]
        row = "".join(f"<td>{cell}</td>" for cell in cells)
        assert row in dom.replace("\n", ""), line.name
    assert "<svg" in dom and "<rect" in dom
    assert page_requests(proxy) == []
    # The check can see a request: a page that loads an image does go through the proxy.
    leaky = tmp_path / "leaky.html"
    leaky.write_text('<html><body><img src="http://images.example.invalid/x.png"></body></html>', encoding="utf-8")
    chromium_dom(leaky, proxy, tmp_path / "profile2")
    assert any("images.example.invalid" in request for request in page_requests(proxy))


def test_a_report_into_a_missing_folder_says_what_to_fix_without_a_traceback(company: Workspace,
                                                                             tmp_path: Path) -> None:
    """Verify `report --out` into a folder that does not exist exits 2 with a Norwegian message, no traceback."""
    done = samtale("--dir", str(company.folder.root), "report", "--out", str(tmp_path / "nei" / "r.html"))
    assert done.returncode == 2
    assert "Kunne ikke skrive" in done.stderr + done.stdout and "Traceback" not in done.stderr
