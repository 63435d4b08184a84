"""axe-core (the accessibility rules engine) for the browser tests, fetched from npm.

``npm pack axe-core@<pinned>`` downloads the package tarball from the npm registry once; the
minified script is kept in ``_build/test-assets/`` (git-ignored) and injected into pages
under test. The site itself never ships it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AXE_SPEC = "axe-core@4.11.0"
CACHE = ROOT / "_build" / "test-assets" / AXE_SPEC.replace("@", "-")
#: the WCAG 2.0/2.1 level A and AA rules
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_source() -> str:
    """The text of ``axe.min.js`` (downloaded with ``npm pack`` on first use)."""
    target = CACHE / "axe.min.js"
    if not target.is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to fetch axe-core for the accessibility test")
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([npm, "pack", "--json", "--pack-destination", tmp, AXE_SPEC],
                                 check=True, capture_output=True, text=True, cwd=tmp, timeout=300)
            tgz = Path(tmp) / json.loads(out.stdout)[0]["filename"]
            with tarfile.open(tgz) as tar:
                member = tar.getmember("package/axe.min.js")
                data = tar.extractfile(member).read()
        CACHE.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return target.read_text(encoding="utf-8")


def run_axe(browser) -> list[dict]:
    """Inject axe into the current page and return its violations (WCAG 2.1 A/AA rules).

    Each violation: ``{"id", "impact", "help", "nodes": [target selectors...]}``.
    """
    if not browser.eval("typeof window.axe !== 'undefined'"):
        browser.eval(axe_source() + ";0")
    # experimental rules (label-content-name-mismatch is one) are off unless named
    script = f"""axe.run(document, {{runOnly: {{type: 'tag', values: {json.dumps(AXE_TAGS)}}}, resultTypes: ['violations'],
        rules: Object.fromEntries(axe.getRules({json.dumps(AXE_TAGS)}).filter(r => r.tags.includes('experimental'))
                                  .map(r => [r.ruleId, {{enabled: true}}]))}})
      .then(r => r.violations.map(v => ({{id: v.id, impact: v.impact, help: v.help,
             nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').slice(0, 200))}})))"""
    return browser.eval(script, await_promise=True)
