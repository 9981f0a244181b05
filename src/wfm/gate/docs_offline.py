"""Data Docs that work on an intranet: every script, style and font the pages load is served from the site itself.

Great Expectations' pages load Bootstrap, jQuery, bootstrap-table, bootstrap-datepicker, Font Awesome and Vega from
public CDNs, and a logo from a cloud bucket with the data context's id in its URL. Offline (as in a statistics
office) they render unstyled and their result tables stay empty; online every view reports to a third party.

The same files, taken from the npm packages that ship them at pinned versions (`docs_assets/manifest.json`: each
package's registry integrity, each file's SHA-256 and the CDN address it replaces), are kept in
`docs_assets/vendor/` and copied into the site's `static/vendor/`; `rewrite` points the pages at them (relative
paths, so the site can be moved or served as it is), drops the `integrity`/`crossorigin` attributes a file page
cannot satisfy, and replaces the bucket's logo by the one GX ships in `static/images/`. `python -m
wfm.gate.docs_offline --refresh` fetches the packages again with `npm pack` and checks them against the manifest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ASSETS = Path(__file__).with_name("docs_assets")
MANIFEST = ASSETS / "manifest.json"
VENDOR = "static/vendor"
#: The tracking logo (any query string) and the dark-mode logo, both from GX's bucket: the local logo instead.
BUCKET_LOGO = re.compile(r"https://great-expectations-web-assets\.s3[^\"')\s]*")
LOCAL_LOGO = "static/images/logo-long.png"
#: Subresource-integrity attributes: a page opened from disk cannot make the CORS request they need.
SRI = re.compile(r'\s+(?:integrity="[^"]*"|crossorigin="[^"]*")')


def manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def replacements() -> dict[str, str]:
    """CDN address → the file's path under the site's root."""
    return {f["cdn"]: f"{VENDOR}/{f['package']}/{f['file']}" for f in manifest()["files"] if f["cdn"]}


def install(site: Path) -> bool:
    """Copy the vendored files into the site (when the site's copy is not this manifest's); True if it did."""
    target = site / VENDOR
    stamp = target / "manifest.json"
    if stamp.exists() and stamp.read_bytes() == MANIFEST.read_bytes():
        return False
    shutil.rmtree(target, ignore_errors=True)
    # new files and folders under the home's umask: copytree would give them the installed package's modes
    for source in (ASSETS / "vendor").rglob("*"):
        if source.is_file():
            dest = target / source.relative_to(ASSETS / "vendor")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
    shutil.copyfile(MANIFEST, stamp)
    return True


def rewrite_text(text: str, prefix: str, urls: dict[str, str]) -> str:
    """`text` (a page or a style sheet) with every CDN address replaced by `prefix` + the local path."""
    for url, local in sorted(urls.items(), key=lambda item: -len(item[0])):
        text = text.replace(f'"{url}"', f'"{prefix}{local}"')
    text = BUCKET_LOGO.sub(prefix + LOCAL_LOGO, text)
    return re.sub(r"<(script|link)\b[^>]*>", lambda m: SRI.sub("", m.group(0)), text)


def rewrite(site: Path, pages: list[Path] | None = None) -> int:
    """Point `pages` (default: every page and style sheet of the site) at the local files; return how many
    files changed. A page already rewritten is left as it is."""
    urls = replacements()
    if pages is None:
        pages = [*site.rglob("*.html"), *(site / "static" / "styles").glob("*.css")]
    changed = 0
    for page in pages:
        if not page.exists() or VENDOR in page.as_posix():
            continue
        text = page.read_text(encoding="utf-8")
        if "https://" not in text:
            continue
        depth = len(page.relative_to(site).parts) - 1
        prefix = "../" * depth
        new = rewrite_text(text, prefix, urls)
        if new != text:
            tmp = page.with_name(f".{page.name}.tmp")
            tmp.write_text(new, encoding="utf-8")
            tmp.replace(page)
            changed += 1
    return changed


def refresh(out: Path = ASSETS) -> None:
    """Fetch every package of the manifest again with `npm pack`, check the registry's integrity and each file's
    SHA-256, and replace `out/vendor` with the files."""
    spec = manifest()
    with tempfile.TemporaryDirectory() as tmp:
        packed = subprocess.run(
            ["npm", "pack", "--json", "--pack-destination", tmp, *spec["packages"]],
            check=True,
            capture_output=True,
            text=True,
        )
        tarballs = {p["id"]: p for p in json.loads(packed.stdout)}
        vendor = Path(tmp) / "vendor"
        for package, integrity in spec["packages"].items():
            if tarballs[package]["integrity"] != integrity:
                raise SystemExit(f"{package}: the registry's tarball is not the pinned one")
            with tarfile.open(Path(tmp) / tarballs[package]["filename"]) as tar:
                for f in (f for f in spec["files"] if f["package"] == package):
                    data = tar.extractfile(f"package/{f['file']}").read()
                    if hashlib.sha256(data).hexdigest() != f["sha256"]:
                        raise SystemExit(f"{package}/{f['file']}: not the pinned file")
                    dest = vendor / package / f["file"]
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(data)
        shutil.rmtree(out / "vendor", ignore_errors=True)
        shutil.copytree(vendor, out / "vendor")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wfm.gate.docs_offline", description=__doc__.splitlines()[0])
    parser.add_argument("--refresh", action="store_true", help="fetch the pinned npm packages again and check them")
    parser.add_argument("site", nargs="?", type=Path, help="a Data Docs site to make offline")
    args = parser.parse_args(argv)
    if args.refresh:
        refresh()
        print(f"refreshed {ASSETS / 'vendor'} from the npm registry; every file as pinned")
    if args.site:
        install(args.site)
        print(f"{rewrite(args.site)} files of {args.site} now load their assets from {args.site / VENDOR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
