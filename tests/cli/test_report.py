"""`intercom-authz report` in a real headless browser (Debian's chromium): the access review page
loads from a file with no network; its findings, counted by the page's own script from the
finding elements, match what `usage --format json` says (unused grants per role, denials by
code); it prints to PDF with the counts in the text (pdftotext, Debian's poppler-utils); the
sign-off sheet (`--review-csv`) has one row per person and role; accepted findings stay
accepted through `--accepted FILE`; with SOURCE_DATE_EPOCH the page is the same byte for byte.
The logs come from tests/cli/report/gen_review_log.py. Outputs (a screenshot, the PDF) go to
target/tmp/report/, outside the repository."""
import csv
import hashlib
import html.parser
import json
import os
import pathlib
import re
import subprocess
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = ROOT / "target/debug/intercom-authz"
OUT = ROOT / "target/tmp/report"
POLICY = "tests/cli/usage-policy.json"
PREVIOUS = "tests/cli/usage-policy-previous.json"
EPOCH = "1790100000"  # 2026-09-22 18:00:00 UTC


def cli(*args, code=0):
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    r = subprocess.run([str(CLI), *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    if r.returncode != code:
        raise AssertionError(f"intercom-authz {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
    return r.stdout if code == 0 else r.stderr


def chromium(*args):
    return subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--no-first-run", "--user-data-dir=" + str(OUT / "profile"), *args],
                          capture_output=True, text=True, timeout=120)


class Tables(html.parser.HTMLParser):
    """Each table with an id: its body rows, each a list of cell texts (a cell's text with its
    whitespace collapsed), and each row's attributes."""

    def __init__(self, text):
        super().__init__()
        self.tables, self.attrs, self.stack = {}, {}, []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.stack.append(a.get("id"))
            if a.get("id"):
                self.tables[a["id"]], self.attrs[a["id"]] = [], []
        elif tag == "tr" and self.stack and self.stack[-1]:
            self.row = []
            self.tables[self.stack[-1]].append(self.row)
            self.attrs[self.stack[-1]].append(a)
        elif tag in ("td", "th") and self.stack and self.stack[-1]:
            self.row.append("")

    def handle_endtag(self, tag):
        if tag == "table" and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] and self.tables[self.stack[-1]] and self.row:
            self.row[-1] += data

    def body(self, table_id):
        """The rows after the header row."""
        return [[" ".join(c.split()) for c in row] for row in self.tables[table_id][1:]]


def number(s):
    return int(s.replace(",", ""))


def report(name, *extra):
    """Writes target/tmp/report/NAME.html from the generated logs."""
    out = OUT / f"{name}.html"
    cli("report", POLICY, "--usage", str(Report.log), str(Report.extra), "-o", str(out), *extra)
    return out


class Report(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        OUT.mkdir(parents=True, exist_ok=True)
        cls.log, cls.extra = OUT / "audit.log", OUT / "extra.log.gz"
        subprocess.run(["python3", "tests/cli/report/gen_review_log.py", "3000", str(cls.log), str(cls.extra)],
                       cwd=ROOT, check=True)
        cls.csv = OUT / "review.csv"
        cls.html = report("review", "--previous", PREVIOUS, "--review-csv", str(cls.csv))
        cls.dom = chromium("--dump-dom", cls.html.as_uri()).stdout
        cls.tables = Tables(cls.dom)
        cls.usage = json.loads(cli("usage", "--format", "json", POLICY, str(cls.log), str(cls.extra)))
        cls.roles = {r["role"]: r for r in cls.usage["roles"]}
        cls.matrix = json.loads(cli("matrix", POLICY, "--format", "json", "--by", "permission"))

    def counts(self, tables=None):
        """The page's finding counts: rule -> (open, accepted)."""
        rows = (tables or self.tables).body("finding-counts")
        attrs = (tables or self.tables).attrs["finding-counts"][1:]
        return {a["data-rule"]: (number(r[2]), number(r[3])) for a, r in zip(attrs, rows)}

    def test_the_matrix_summary_counts_its_cells(self):
        granted = {(role, r["permission"]) for r in self.matrix["rows"] for role in r["roles"]}
        used = {(r["role"], p) for r in self.usage["roles"] for p in r["used"]} & granted
        in_use = {role for role, _ in used}
        unused = {g for g in granted if g[0] in in_use} - used
        idle = {g for g in granted if g[0] not in in_use}
        want = (f"{len(self.matrix['conditions'])} roles · {len(self.matrix['rows'])} permissions · {len(granted)} grants"
                f" · {len(used)} used · {len(unused)} unused · {len(idle)} granted to roles with no traffic")
        m = re.search(r'<p id="summary">([^<]*)</p>', self.dom)
        self.assertIsNotNone(m, self.dom[:2000])
        self.assertEqual(m.group(1), want)
        # Heat map: used cells show their counts; the most used permission here is contacts:read.
        counts = [int(c) for c in re.findall(r'class="used" data-count="(\d+)"', self.dom)]
        self.assertTrue(counts and max(counts) > 100, counts)
        self.assertIn(f"<small>{max(counts):,}</small>", self.dom)

    def test_unused_grants_per_role_as_usage_reports_them(self):
        want = {name: len(r["unused"]) for name, r in self.roles.items() if r["known"] and r["used"]}
        got = {r[0]: number(r[1]) for r in self.tables.body("unused-by-role")}
        self.assertEqual(got, want)
        self.assertEqual(self.counts()["unused-grant"], (sum(want.values()), 0))
        # The named grants, per role.
        for row in self.tables.body("unused"):
            self.assertEqual(set(row[3].split()), set(self.roles[row[0]]["unused"]), row[0])

    def test_a_role_with_no_traffic_is_one_finding(self):
        idle = {name for name, r in self.roles.items() if r["known"] and not r["used"]}
        self.assertEqual(idle, {"owner", "admin", "restricted"})
        self.assertEqual({r[0] for r in self.tables.body("no-traffic")}, idle)
        self.assertEqual(self.counts()["no-traffic"], (3, 0))
        self.assertNotIn("owner", {r[0] for r in self.tables.body("unused-by-role")})

    def test_denials_by_code_as_usage_reports_them(self):
        want, kinds = {}, 0
        for r in self.usage["roles"]:
            for key, n in r["denied"].items():
                code = key.split(" (")[0]
                want[code] = want.get(code, 0) + n
                kinds += 1
        got = {r[0]: number(r[1]) for r in self.tables.body("denials-by-code")}
        self.assertEqual(got, want)
        self.assertEqual(set(got), {"missing_permission", "mfa_required"})
        self.assertEqual(self.counts()["denied"], (kinds, 0))
        rows = {(r[0], r[1], r[2]): number(r[3]) for r in self.tables.body("denied")}
        assign = self.roles["tier1"]["denied"]["missing_permission (conversations:assign)"]
        self.assertEqual(rows[("tier1", "missing_permission", "conversations:assign")], assign)
        self.assertEqual(rows[("tier1", "mfa_required", "contacts:delete")], 37)

    def test_dormant_people_and_uses_beyond_the_role(self):
        self.assertEqual([(r[0], r[1], r[2], r[3]) for r in self.tables.body("dormant")],
                         [("a-4", "agent", "2026-08-07", "45"), ("o-2", "observer", "2026-06-23", "90")])
        self.assertEqual([r[:5] for r in self.tables.body("beyond")],
                         [["a-7", "agent", "conversations:assign", "3", "0 of 5"]])
        # A date for --since: a-4 (2026-08-07) is active since 2026-08-01, o-2 is not.
        since = Tables(report("since", "--since", "2026-08-01").read_text())
        self.assertEqual([r[0] for r in since.body("dormant")], ["o-2"])
        err = cli("report", POLICY, "--usage", str(self.log), "--since", "soon", "-o", str(OUT / "x.html"), code=1)
        self.assertIn("error: `--since soon`: expected a duration", err)

    def test_the_findings_summary_adds_up(self):
        m = re.search(r'<p id="findings-summary">([\d,]+) open findings · ([\d,]+) accepted</p>', self.dom)
        self.assertIsNotNone(m)
        counts = self.counts()
        self.assertEqual(number(m.group(1)), sum(o for o, _ in counts.values()))
        self.assertEqual(number(m.group(1)), len(re.findall(r'class="finding"', self.dom)))
        self.assertEqual(counts["dormant"], (2, 0))
        self.assertEqual(counts["beyond-role"], (1, 0))

    def test_people(self):
        rows = {(r[0], r[1]): r for r in self.tables.body("people")}
        want = {(s, name) for name, r in self.roles.items() for s in r["subjects"]}
        self.assertEqual(set(rows), want)
        a9 = self.roles["agent"]["subjects"]["a-9"]["contacts:read"]["count"]
        self.assertEqual(rows[("a-9", "agent")][3], f"contacts:read {a9:,}")
        self.assertEqual(rows[("a-4", "agent")][2], "2026-08-07 dormant")
        self.assertIn("mfa_required contacts:delete 37", rows[("t-3", "tier1")][4])

    def test_review_csv(self):
        with open(self.csv, newline="") as f:
            rows = list(csv.reader(f))
        self.assertEqual(rows[0], ["person", "role", "entitlements", "permissions used", "last activity", "findings",
                                   "reviewer", "decision"])
        body = {(r[0], r[1]): r for r in rows[1:]}
        self.assertEqual(set(body), {(s, name) for name, r in self.roles.items() for s in r["subjects"]})
        self.assertTrue(all(len(r) == 8 and r[6] == "" and r[7] == "" for r in rows[1:]))
        agent = [r["permission"] for r in self.matrix["rows"] if "agent" in r["roles"]]
        self.assertEqual(body[("a-1", "agent")][2].split(";"), agent)
        a9 = self.roles["agent"]["subjects"]["a-9"]["contacts:read"]["count"]
        self.assertEqual(body[("a-9", "agent")][3], f"contacts:read ({a9})")
        self.assertEqual(body[("a-4", "agent")][4:6], ["2026-08-07", "R003 dormant"])
        self.assertEqual(body[("a-7", "agent")][5], "R004 beyond-role conversations:assign")
        self.assertTrue(self.csv.read_bytes().endswith(b"\r\n"))

    def test_accepted_findings_stay_accepted(self):
        accepted = OUT / "accepted.json"
        accepted.unlink(missing_ok=True)
        report("accept", "--accept", "R003:a-4", "--accept", "unused-grant:observer", "--accepted", str(accepted))
        self.assertEqual(json.loads(accepted.read_text()), ["R003:a-4", "unused-grant:observer"])
        # The next review, with the file only.
        page = report("accepted", "--accepted", str(accepted))
        tables = Tables(chromium("--dump-dom", page.as_uri()).stdout)
        counts = self.counts(tables)
        observer = len(self.roles["observer"]["unused"])
        self.assertEqual(counts["dormant"], (1, 1))
        self.assertEqual(counts["unused-grant"], (self.counts()["unused-grant"][0] - observer, observer))
        self.assertEqual([r[0] for r in tables.body("dormant")], ["a-4 (accepted)", "o-2"])
        self.assertIn("error: `--accept R009`: unknown finding code `R009`",
                      cli("report", POLICY, "-o", str(OUT / "x.html"), "--accept", "R009", code=1))

    def test_printed_to_pdf_with_the_counts_in_the_text(self):
        pdf = OUT / "review.pdf"
        pdf.unlink(missing_ok=True)
        r = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", self.html.as_uri())
        self.assertTrue(pdf.exists(), r.stderr[-2000:])
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        line = lambda *cells: r"\s+".join(re.escape(c) for c in cells)
        summary = re.search(r'<p id="findings-summary">([^<]*)</p>', self.dom).group(1)
        self.assertIn(summary, text)
        for row in self.tables.body("unused-by-role") + self.tables.body("denials-by-code"):
            self.assertRegex(text, line(row[0], row[1]))
        for row in self.tables.body("denied"):
            self.assertRegex(text, line(row[1], row[2], row[3]))
        self.assertIn(hashlib.sha256(self.log.read_bytes()).hexdigest(), re.sub(r"\s", "", text))

    def test_provenance_and_reproducible(self):
        page = self.html.read_text()
        self.assertIn("2026-09-22 18:00:00 UTC (SOURCE_DATE_EPOCH)", page)
        for f in (ROOT / POLICY, ROOT / PREVIOUS, self.log, self.extra):
            self.assertIn(hashlib.sha256(f.read_bytes()).hexdigest(), page, f)
        again = report("again", "--previous", PREVIOUS)
        self.assertEqual(again.read_text(), page)

    def test_changes_since_the_previous_policy(self):
        tier1 = re.search(r'<li class="finding" data-code="R006" data-rule="policy-change" data-subject="tier1"'
                          r' data-n="1">(.*?)</ul></li>', self.dom)
        self.assertIsNotNone(tier1)
        self.assertIn("+ contacts:delete", tier1.group(1))
        self.assertIn("mfa: every request → none", tier1.group(1))
        self.assertGreater(self.counts()["policy-change"][0], 0)

    def test_conditions_show_conversation_access(self):
        table = re.search(r'<table id="conditions">(.*?)</table>', self.dom, re.S).group(1)
        self.assertIn("<th>conversation access</th>", table)
        rows = re.findall(r"<tr><td>([^<]+)</td>(.*?)</tr>", table)
        self.assertEqual(len(rows), len(self.matrix["conditions"]))
        for role, cells in rows:
            self.assertEqual(re.findall(r"<td>([^<]*)</td>", cells)[-1], "all", role)

    def test_self_contained(self):
        text = self.html.read_text()
        self.assertNotRegex(text, r"(?i)\b(src|href)=|https?://|@import|url\(")
        self.assertIn("@media print", text)

    def test_screenshot(self):
        png = OUT / "review.png"
        png.unlink(missing_ok=True)
        r = chromium(f"--screenshot={png}", "--window-size=1100,1400", self.html.as_uri())
        self.assertTrue(png.exists() and png.stat().st_size > 20_000, r.stderr[-2000:])


if __name__ == "__main__":
    unittest.main()
