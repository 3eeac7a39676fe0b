"""The interactive flame graph in a real browser: headless Chromium (Debian's
chromium, driven by playwright-core from npm, tests/browser/flame_browser.js)
opens prof's SVG, clicks a frame, resets, searches a regular expression, and
checks what is shown. Skipped only where Chromium is not installed."""
import json
import os
import re
import shutil
import subprocess
import unittest

from proftest import ProfTestCase, program, record, run

CHROMIUM = "/usr/bin/chromium"
SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "browser",
                      "flame_browser.js")
NODE_PATH = os.environ.get("NODE_PATH", "build/browser/node_modules")
WIDTH = 1180.0  # the SVG's 1200 px less its padding
MATCH_FILL = "rgb(230,0,230)"


@unittest.skipUnless(os.path.exists(CHROMIUM), "Chromium cannot be installed here (%s missing): "
                     "the browser test of the flame graph is skipped" % CHROMIUM)
class FlameGraphInBrowser(ProfTestCase):
    def setUp(self):
        super().setUp()
        if not shutil.which("node") or not os.path.isdir(os.path.join(NODE_PATH, "playwright-core")):
            self.fail("node and playwright-core are needed (%s): run 'make deps'" % NODE_PATH)

    def browse(self, svg, label, regex):
        with open(svg) as f:
            m = re.search(r'<g class="f" id="(f\d+)"[^>]* data-l="%s"' % re.escape(label), f.read())
        self.assertIsNotNone(m, "no frame %s" % label)
        r = subprocess.run(["node", SCRIPT, svg, m.group(1), regex], capture_output=True, text=True,
                           timeout=120, env=dict(os.environ, NODE_PATH=NODE_PATH))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["errors"], [])
        return m.group(1), out

    @staticmethod
    def by_id(state):
        return {f["id"]: f for f in state["frames"]}

    def ancestors(self, frames, fid):
        out = []
        while frames[fid]["parent"]:
            fid = frames[fid]["parent"]
            out.append(fid)
        return out

    def matched_share(self, frames, names, regex, within=None):
        """What the graph should say: matched frames' counts, nested ones once."""
        pat, total = re.compile(regex), 0
        for fid, f in frames.items():
            chain = self.ancestors(frames, fid)
            if within and within != fid and within not in chain:
                continue
            stop = chain.index(within) if within in chain else len(chain)
            if pat.search(names[fid]) and not any(pat.search(names[a]) for a in chain[:stop]):
                total += f["n"]
        whole = frames[within]["n"] if within else frames["f0"]["n"]
        return "Matched: %.2f%%" % (100.0 * total / whole)

    def check(self, svg, label, regex, names, inverted=False):
        zid, out = self.browse(svg, label, regex)
        initial, zoomed = self.by_id(out["initial"]), self.by_id(out["zoomed"])
        # Before: everything shown at its width, no Reset Zoom.
        self.assertFalse(out["initial"]["unzoomShown"])
        self.assertTrue(all(f["shown"] for f in initial.values()))
        root = initial["f0"]
        self.assertAlmostEqual(initial[zid]["width"], initial[zid]["n"] / root["n"] * WIDTH, places=1)
        # Zoomed: the frame spans the width, on screen too; its callees scale with it;
        # its callers stretch, half transparent; the rest is hidden.
        z = zoomed[zid]
        self.assertAlmostEqual(z["x"], 10.0, places=1)
        self.assertAlmostEqual(z["width"], WIDTH, places=1)
        self.assertAlmostEqual(z["screenWidth"], WIDTH, delta=1.0)
        self.assertEqual(z["text"], label)
        self.assertTrue(out["zoomed"]["unzoomShown"])
        chain = self.ancestors(initial, zid)
        for fid, f in zoomed.items():
            inside = zid in self.ancestors(initial, fid)
            if inside:
                self.assertTrue(f["shown"])
                self.assertAlmostEqual(f["width"], initial[fid]["n"] / initial[zid]["n"] * WIDTH, places=1)
            elif fid in chain:
                self.assertTrue(f["shown"] and f["parentStyle"], fid)
                self.assertAlmostEqual(f["width"], WIDTH, places=1)
            elif fid != zid:
                self.assertFalse(f["shown"], "%s (%s) should be hidden" % (fid, f["label"]))
        # Reset: as before.
        self.assertEqual(out["reset"]["frames"], out["initial"]["frames"])
        self.assertFalse(out["reset"]["unzoomShown"])
        # Search: matching frames colored, their share shown, of the zoomed frame when zoomed.
        searched = self.by_id(out["searched"])
        pat = re.compile(regex)
        hits = [fid for fid in initial if pat.search(names[fid])]
        self.assertTrue(hits)
        for fid, f in searched.items():
            self.assertEqual(f["fill"], MATCH_FILL if fid in hits else initial[fid]["fill"], fid)
        self.assertEqual(out["searched"]["search"], "Reset Search")
        self.assertTrue(out["searched"]["matched"].startswith(self.matched_share(initial, names, regex)),
                        out["searched"]["matched"])
        self.assertTrue(out["searchedZoomed"]["matched"].startswith(
            self.matched_share(initial, names, regex, zid)), out["searchedZoomed"]["matched"])
        # Escape and Reset Search: back to the start.
        self.assertEqual(out["searchReset"]["frames"], out["initial"]["frames"])
        self.assertEqual(out["searchReset"]["matched"], "")
        # In a window shorter than the graph, the first screen shows the root.
        small = out["smallWindow"]
        self.assertGreater(small["height"], 200)
        self.assertEqual(small["scrollY"], 0 if inverted else small["height"] - 200)
        return initial

    def frame_names(self, svg):
        """Frame id -> label, the text searches match."""
        with open(svg) as f:
            return dict(re.findall(r'<g class="f" id="(f\d+)"[^>]* data-l="([^"]*)"', f.read()))

    def test_zoom_and_search(self):
        db = self.db()
        r = record(db, [program("cfuncs")], mode="block")
        self.assertEqual(r.returncode, 0, r.stderr)
        svg = os.path.join(self.dir, "flame.svg")
        r = run(["report", "-i", db, "--svg", svg])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check(svg, "main", "^fi", self.frame_names(svg))

    def test_differential_graph(self):
        dbs = []
        for name in ("diffprog_O0", "diffprog_O2"):
            dbs.append(self.db(name + ".db"))
            r = record(dbs[-1], [program(name)], mode="block")
            self.assertEqual(r.returncode, 0, r.stderr)
        svg = os.path.join(self.dir, "diff.svg")
        r = run(["diff", dbs[0], dbs[1], "--svg", svg, "--inverted"])
        self.assertEqual(r.returncode, 0, r.stderr)
        initial = self.check(svg, "main", "^(mix|checksum)$", self.frame_names(svg), inverted=True)
        checksum = [f for f in initial.values() if f["label"] == "checksum"][0]
        red, green, blue = map(int, re.match(r"rgb\((\d+),(\d+),(\d+)\)", checksum["fill"]).groups())
        self.assertEqual(blue, 255, "checksum shrank: blue")
        self.assertLess(red, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
