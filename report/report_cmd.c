/* prof report: options, opening the recording, choosing the output. */
#include "report.h"
#include "prof/commands.h"
#include "prof/log.h"
#include "prof/store.h"
#include "prof/util.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char report_usage[] =
	"usage: prof report [options]\n"
	"\n"
	"Prints what a recording counted, hottest first.\n"
	"\n"
	"  -i, --input FILE      database to read (default prof.db)\n"
	"  -n, --top N           rows to print (default 20; 0 = all)\n"
	"      --by KEY          function (default), dso, class, thread or line (source\n"
	"                        lines, from DWARF)\n"
	"  -f, --format FMT      text (default), json, csv, callgrind (for callgrind_annotate\n"
	"                        and KCachegrind) or folded (stacks for flame graph tools)\n"
	"      --svg FILE        write a flame graph (SVG) to FILE ('-': stdout)\n"
	"      --syscalls        a strace -c style table of system calls\n"
	"  -g, --call-graph      callers and callees of the top functions\n"
	"      --pid PID         only this process\n"
	"      --tid TID         only this thread\n"
	"      --no-demangle     keep C++ and Rust symbol names mangled\n"
	"      --percent-limit P hide functions under P per cent of the total\n"
	"      --dso NAME        only functions of this DSO (file name)\n"
	"      --sym TEXT        only functions whose name contains TEXT\n"
	"      --sort KEY        count (default), inclusive or name\n"
	"      --color WHEN      auto (default: on a terminal, unless NO_COLOR is set),\n"
	"                        always or never\n"
	"  -h, --help            this help\n";

size_t report_row_limit(size_t available, const struct report_options *o)
{
	return o->top && o->top < available ? o->top : available;
}

static int parse_report_args(int argc, char **argv, struct report_options *o)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "top", required_argument, NULL, 'n' },
		{ "by", required_argument, NULL, 'b' },
		{ "format", required_argument, NULL, 'f' },
		{ "syscalls", no_argument, NULL, 's' },
		{ "call-graph", no_argument, NULL, 'g' },
		{ "pid", required_argument, NULL, 'p' },
		{ "tid", required_argument, NULL, 't' },
		{ "no-demangle", no_argument, NULL, 'M' },
		{ "svg", required_argument, NULL, 'S' },
		{ "percent-limit", required_argument, NULL, 'P' },
		{ "dso", required_argument, NULL, 'D' },
		{ "sym", required_argument, NULL, 'Y' },
		{ "sort", required_argument, NULL, 'O' },
		{ "color", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *const bys[] = { "function", "dso", "class", "thread", "line" };
	static const char *const formats[] = { "text", "json", "csv", "callgrind", "folded" };
	*o = (struct report_options){ .input = "prof.db", .top = 20 };
	optind = 1;
	opterr = 0;
	int c, v;
	long long n;
	static const char *const sorts[] = { "count", "inclusive", "name" };
	const char *color = "auto";
	while ((c = getopt_long(argc, argv, "i:n:f:gh", opts, NULL)) != -1) {
		switch (c) {
		case 'i': o->input = optarg; break;
		case 'n':
			if ((n = parse_count(optarg)) < 0) {
				log_error("report: --top wants a number, not '%s'", optarg);
				return -1;
			}
			o->top = (size_t)n;
			break;
		case 'b':
			if ((v = parse_choice("report", "--by key", optarg, bys, 5)) < 0)
				return -1;
			o->by = (enum report_by)v;
			break;
		case 'f':
			if ((v = parse_choice("report", "format", optarg, formats, 5)) < 0)
				return -1;
			o->format = (enum report_format)v;
			break;
		case 's': o->syscalls = true; break;
		case 'M': o->filter.no_demangle = true; break;
		case 'S': o->svg = optarg; break;
		case 'g': o->call_graph = true; break;
		case 'p':
		case 't':
			if ((v = parse_id("report", c == 'p' ? "pid" : "tid", optarg)) < 0)
				return -1;
			*(c == 'p' ? &o->filter.pid : &o->filter.tid) = v;
			break;
		case 'P':
			if (parse_number("report", "percent-limit", optarg, 0, 100, &o->percent_limit) != 0)
				return -1;
			break;
		case 'D': o->dso = optarg; break;
		case 'Y': o->sym = optarg; break;
		case 'O':
			if (parse_choice("report", "--sort key", optarg, sorts, 3) < 0)
				return -1;
			o->sort = optarg;
			break;
		case 'C':
			color = optarg;
			break;
		case 'h': fputs(report_usage, stdout); exit(0);
		default:
			log_error("report: unknown or incomplete option '%s' (see 'prof report --help')",
				  argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		log_error("report: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if ((v = parse_color("report", color)) < 0)
		return -1;
	o->color = v;
	return 0;
}

int cmd_report(int argc, char **argv)
{
	struct report_options o;
	if (parse_report_args(argc, argv, &o) != 0)
		return 2;
	char err[512];
	sqlite3 *db = store_open_read(o.input, err, sizeof err);
	if (!db) {
		log_error("%s", err);
		return 1;
	}
	if (store_check_state(db, o.input) != 0) {
		sqlite3_close(db);
		return 1;
	}
	struct profile p;
	int rc = profile_load(db, &o.filter, &p);
	if (rc == 0 && o.by == BY_LINE)
		rc = profile_load_lines(db, &o.filter, &p);
	if (rc == 0) {
		symbolizer_print_warnings(p.symbolizer);
		report_select_rows(&p, &o);
		if (o.svg)
			rc = report_svg(o.svg, &p, &o);
		else if (o.format == FORMAT_CALLGRIND)
			report_callgrind(stdout, &p, &o);
		else if (o.format == FORMAT_FOLDED)
			report_folded(stdout, &p, &o);
		else if (o.format == FORMAT_JSON)
			report_json(stdout, &p, &o);
		else if (o.format == FORMAT_CSV)
			report_csv(stdout, &p, &o);
		else
			report_text(stdout, &p, &o);
	}
	profile_free(&p);
	sqlite3_close(db);
	return rc ? 1 : 0;
}
