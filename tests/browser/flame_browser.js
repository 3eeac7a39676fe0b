// Drives prof's interactive flame graph in headless Chromium (playwright-core)
// for tests/integration/test_svg_browser.py: opens an SVG, records what is
// shown, clicks a frame, resets, searches a regular expression (through the
// Search button's prompt), and prints every state as JSON on stdout.
//   node flame_browser.js FILE.svg ZOOM_FRAME_ID REGEX
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const [svgPath, zoomId, regex] = process.argv.slice(2);

function state(page) {
	return page.evaluate(() => {
		const shown = (el) => getComputedStyle(el).display !== "none";
		return {
			frames: Array.from(document.querySelectorAll("g.f")).map((g) => {
				const r = g.querySelector("rect");
				return {
					id: g.id, label: g.getAttribute("data-l"), n: +g.getAttribute("data-n"),
					parent: g.getAttribute("data-p"), x: +r.getAttribute("x"),
					width: +r.getAttribute("width"), fill: r.getAttribute("fill"),
					shown: shown(g), parentStyle: g.classList.contains("parent"),
					text: g.querySelector("text").textContent,
					screenWidth: r.getBoundingClientRect().width,
				};
			}),
			unzoomShown: shown(document.getElementById("unzoom")),
			search: document.getElementById("search").textContent,
			matched: document.getElementById("matched").textContent,
		};
	});
}

(async () => {
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), "prof-chromium-"));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: "/usr/bin/chromium",
		headless: true,
		args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		       "--no-first-run", "--disable-component-update", "--disable-sync"],
		viewport: { width: 1200, height: 900 },
	});
	try {
		const page = await context.newPage();
		const errors = [];
		page.on("pageerror", (e) => errors.push(String(e)));
		await page.goto("file://" + path.resolve(svgPath));
		const out = { initial: await state(page) };
		await page.click("#" + zoomId + " rect", { force: true });
		out.zoomed = await state(page);
		await page.click("#unzoom");
		out.reset = await state(page);
		page.once("dialog", (d) => d.accept(regex));
		await page.click("#search");
		out.searched = await state(page);
		await page.click("#" + zoomId + " rect", { force: true });
		out.searchedZoomed = await state(page);
		await page.keyboard.press("Escape");
		await page.click("#search"); // "Reset Search"
		out.searchReset = await state(page);
		// A window shorter than the graph: the flame graph opens at its root
		// (the bottom), the icicle at the top.
		const small = await context.newPage();
		await small.setViewportSize({ width: 1200, height: 200 });
		await small.goto("file://" + path.resolve(svgPath));
		out.smallWindow = await small.evaluate(() => ({
			scrollY: window.scrollY, height: +document.documentElement.getAttribute("height"),
		}));
		out.errors = errors;
		process.stdout.write(JSON.stringify(out));
	} finally {
		await context.close();
		fs.rmSync(profile, { recursive: true, force: true });
	}
})().catch((e) => {
	process.stderr.write(String(e.stack || e) + "\n");
	process.exit(1);
});
