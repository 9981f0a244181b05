"""Data Docs offline: every asset GX's page templates load from the internet is vendored, pinned and used."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import great_expectations

from wfm.gate import docs_offline

TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
LOADED = re.compile(r'<(?:script|link)\b[^>]*(?:src|href)="(https?://[^"]+)"')


def test_every_vendored_file_is_the_pinned_one() -> None:
    spec = docs_offline.manifest()
    for f in spec["files"]:
        path = docs_offline.ASSETS / "vendor" / f["package"] / f["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == f["sha256"], path
        assert f["package"] in spec["packages"] and spec["packages"][f["package"]].startswith("sha512-")
    listed = {(docs_offline.ASSETS / "vendor" / f["package"] / f["file"]) for f in spec["files"]}
    assert {p for p in (docs_offline.ASSETS / "vendor").rglob("*") if p.is_file()} == listed


def test_every_script_and_style_the_templates_load_is_served_locally() -> None:
    loaded = {url for t in TEMPLATES.rglob("*.j2") for url in LOADED.findall(t.read_text(encoding="utf-8"))}
    assert len(loaded) >= 14
    assert loaded <= set(docs_offline.replacements())


def test_rewrite_points_a_page_at_the_site_and_drops_the_beacon(tmp_path: Path) -> None:
    page = tmp_path / "validations" / "suite" / "run.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>\n'
        '<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" integrity="sha384-x" '
        'crossorigin="anonymous"></script>\n<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>\n'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1&dataContextId=42">\n'
        "<style>.x { background: url("
        "'https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png') }</style>\n",
        encoding="utf-8",
    )
    assert docs_offline.install(tmp_path) and not docs_offline.install(tmp_path)
    assert docs_offline.rewrite(tmp_path) == 1 and docs_offline.rewrite(tmp_path) == 0
    text = page.read_text(encoding="utf-8")
    assert "https://" not in text and "dataContextId" not in text and "integrity" not in text
    for ref in re.findall(r'(?:src|href)="([^"]+)"', text) + re.findall(r"url\('([^']+)'\)", text):
        assert ref.startswith("../../"), ref
        target = (page.parent / ref).resolve()
        assert target.is_relative_to(tmp_path) and (target.exists() or target.name == "logo-long.png"), ref
    assert '"../../static/vendor/vega@5.33.1/build/vega.min.js"' in text
