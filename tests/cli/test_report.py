"""`intercom-authz report` in a real headless browser (Debian's chromium): the page loads from
a file with no network, renders the role × permission matrix with usage as a heat map, and its
summary (counted by the page's own script from the cells) matches what `matrix` and `usage`
say. A screenshot goes to target/tmp/report/review.png, outside the repository."""
import json
import pathlib
import re
import subprocess
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = ROOT / "target/debug/intercom-authz"
OUT = ROOT / "target/tmp/report"
POLICY = "tests/cli/usage-policy.json"
PREVIOUS = "tests/cli/usage-policy-previous.json"


def cli(*args):
    r = subprocess.run([str(CLI), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"intercom-authz {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
    return r.stdout


def chromium(*args):
    return subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--no-first-run", "--user-data-dir=" + str(OUT / "profile"), *args],
                          capture_output=True, text=True, timeout=120)


class Report(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        OUT.mkdir(parents=True, exist_ok=True)
        cls.log = OUT / "audit.log"
        subprocess.run(["python3", "tests/cli/gen_audit_log.py", "3000", str(cls.log)], cwd=ROOT, check=True)
        cls.html = OUT / "review.html"
        cli("report", POLICY, "--usage", str(cls.log), "--previous", PREVIOUS, "-o", str(cls.html))
        cls.dom = chromium("--dump-dom", cls.html.as_uri()).stdout

    def expected(self):
        rows = json.loads(cli("matrix", POLICY, "--format", "json", "--by", "permission"))
        granted = {(role, r["permission"]) for r in rows["rows"] for role in r["roles"]}
        usage = json.loads(cli("usage", "--format", "json", POLICY, str(self.log)))
        used = {(r["role"], p) for r in usage["roles"] for p in r["used"]} & granted
        return f"{len(rows['conditions'])} roles · {len(rows['rows'])} permissions · {len(granted)} grants · {len(used)} used · {len(granted) - len(used)} unused"

    def test_the_browser_renders_the_expected_counts(self):
        m = re.search(r'<p id="summary">([^<]*)</p>', self.dom)
        self.assertIsNotNone(m, self.dom[:2000])
        self.assertEqual(m.group(1), self.expected())
        # Heat map: used cells carry their counts; the most used permission here is contacts:read.
        counts = [int(c) for c in re.findall(r'class="used" data-count="(\d+)"', self.dom)]
        self.assertTrue(counts and max(counts) > 100, counts)

    def test_changes_since_the_previous_policy(self):
        changes = self.dom.split('<ul id="changes">', 1)[1].split("</ul></li></ul>", 1)[0]
        self.assertIn("tier1", changes)
        self.assertIn("+ contacts:delete", changes)
        self.assertIn("mfa: every request → none <b>(widens access)</b>", changes)

    def test_self_contained(self):
        text = self.html.read_text()
        self.assertNotRegex(text, r"(?i)\b(src|href)=|https?://|@import|url\(")

    def test_screenshot(self):
        png = OUT / "review.png"
        png.unlink(missing_ok=True)
        r = chromium(f"--screenshot={png}", "--window-size=1100,1400", self.html.as_uri())
        self.assertTrue(png.exists() and png.stat().st_size > 20_000, r.stderr[-2000:])


if __name__ == "__main__":
    unittest.main()
