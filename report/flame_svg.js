// prof's flame graph, interactive: embedded in every SVG prof writes
// (report_svg.c). Click a frame to zoom into it (its callers stretch over
// the whole width, half transparent; other stacks hide); click "Reset Zoom",
// the "all" frame or press Escape to zoom out. "Search" (or Ctrl-F) asks for a
// regular expression and colors the frames whose label (the function's name,
// dso`name when two DSOs share it) matches; "Matched"
// shows their share of what is shown (nested matches counted once). A flame
// graph taller than the window opens scrolled to its bottom, where its root is.
(function () {
	"use strict";
	var svg = document.documentElement;
	var width = +svg.getAttribute("data-width"), pad = +svg.getAttribute("data-pad");
	var charWidth = 12 * 0.62;
	var frames = [], byId = {};
	var nodes = document.querySelectorAll("g.f");
	for (var i = 0; i < nodes.length; i++) {
		var g = nodes[i], rect = g.querySelector("rect");
		var f = {
			g: g, rect: rect, text: g.querySelector("text"),
			x: +rect.getAttribute("x"), w: +rect.getAttribute("width"),
			n: +g.getAttribute("data-n"), label: g.getAttribute("data-l"),
			fill: rect.getAttribute("fill"), parentId: g.getAttribute("data-p")
		};
		frames.push(f);
		byId[g.id] = f;
	}
	frames.forEach(function (f) { f.parent = f.parentId ? byId[f.parentId] : null; });
	var root = frames[0], zoomed = null, pattern = null;
	var unzoom = document.getElementById("unzoom");
	var searchButton = document.getElementById("search");
	var matched = document.getElementById("matched");

	function setLabel(f, w) {
		var fit = w > 6 ? Math.floor((w - 6) / charWidth) : 0;
		var l = f.label;
		f.text.textContent = fit < 3 ? "" : l.length <= fit ? l : l.slice(0, fit - 2) + "..";
	}

	function place(f, x, w) {
		f.rect.setAttribute("x", x.toFixed(2));
		f.rect.setAttribute("width", w.toFixed(2));
		f.text.setAttribute("x", (x + 3).toFixed(2));
		setLabel(f, w);
	}

	function isAncestor(a, f) {
		for (var p = f.parent; p; p = p.parent)
			if (p === a)
				return true;
		return false;
	}

	// What is shown: the zoomed frame's subtree, else everything.
	function shownTotal() {
		return zoomed ? zoomed.n : root.n;
	}

	function zoom(z) {
		zoomed = z === root ? null : z;
		var scale = (width - 2 * pad) / z.w;
		frames.forEach(function (f) {
			f.g.classList.remove("hide", "parent");
			if (f === z || isAncestor(z, f)) {
				place(f, pad + (f.x - z.x) * scale, f.w * scale);
			} else if (isAncestor(f, z)) {
				f.g.classList.add("parent");
				place(f, pad, width - 2 * pad);
			} else {
				f.g.classList.add("hide");
			}
		});
		unzoom.classList.toggle("hide", !zoomed);
		showMatches();
	}

	function showMatches() {
		if (!pattern) {
			matched.textContent = "";
			return;
		}
		var sum = 0, count = 0;
		frames.forEach(function (f) {
			var hit = pattern.test(f.label);
			f.rect.setAttribute("fill", hit ? "rgb(230,0,230)" : f.fill);
			if (!hit || f.g.classList.contains("hide") || f.g.classList.contains("parent"))
				return;
			count++;
			for (var p = f.parent; p; p = p.parent)
				if (pattern.test(p.label) && !p.g.classList.contains("parent"))
					return; // inside a matched caller: counted there
			sum += f.n;
		});
		var total = shownTotal();
		matched.textContent = "Matched: " + (total ? (100 * sum / total).toFixed(2) : "0.00") + "% (" +
			count + " frame" + (count === 1 ? "" : "s") + ")";
	}

	function search(text) {
		if (text === null || text === undefined || text === "") {
			pattern = null;
			searchButton.textContent = "Search";
			frames.forEach(function (f) { f.rect.setAttribute("fill", f.fill); });
			showMatches();
			return;
		}
		try {
			pattern = new RegExp(text);
		} catch (e) {
			matched.textContent = "Bad regular expression: " + e.message;
			return;
		}
		searchButton.textContent = "Reset Search";
		showMatches();
	}

	function askSearch() {
		if (pattern)
			search(null);
		else
			search(window.prompt("Search for function names (regular expression):", ""));
	}

	frames.forEach(function (f) {
		f.g.addEventListener("click", function () { zoom(f); });
	});
	unzoom.addEventListener("click", function () { zoom(root); });
	searchButton.addEventListener("click", askSearch);
	window.addEventListener("keydown", function (e) {
		if ((e.ctrlKey || e.metaKey) && e.key === "f") {
			e.preventDefault();
			askSearch();
		} else if (e.key === "Escape") {
			zoom(root);
		}
	});
	if (svg.getAttribute("data-inverted") !== "1")
		window.addEventListener("load", function () {
			window.scrollTo(0, svg.getBoundingClientRect().height);
		});
	// For scripts and tests: the same actions as the buttons.
	window.prof = { zoom: function (id) { zoom(byId[id]); }, search: search };
})();
