/* prof report: options, opening the recording, choosing the output. */
#include "report.h"
#include "prof/commands.h"
#include "prof/log.h"
#include "prof/store.h"
#include "prof/util.h"

#include <getopt.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char report_usage[] =
	"usage: prof report [options] [FILE]\n"
	"\n"
	"Prints what a recording counted, hottest first.\n"
	"\n"
	"  -i, --input FILE      database to read (default prof.db; or FILE alone)\n"
	"  -n, --top N           rows to print (default 20; 0 = all)\n"
	"      --by KEY          function (default), dso, class, thread, line (source\n"
	"                        lines, from DWARF) or part (the parts the program dumped)\n"
	"      --part NAME|N     only that part of the recording: the program ends one with\n"
	"                        valgrind's CALLGRIND_DUMP_STATS[_AT] (default: the whole run)\n"
	"  -f, --format FMT      text (default), json, csv, callgrind (for callgrind_annotate\n"
	"                        and KCachegrind) or folded (stacks for flame graph tools)\n"
	"  -o, --output FILE     --format callgrind: write FILE (a recording with parts and\n"
	"                        no --part: FILE.1, FILE.2, ... and FILE for the last part,\n"
	"                        as callgrind names its dumps; default callgrind.out.PID)\n"
	"      --svg FILE        write an interactive flame graph (SVG: click to zoom,\n"
	"                        search by regular expression) to FILE ('-': stdout)\n"
	"      --inverted        the flame graph upside down (an icicle: callers on top)\n"
	"      --syscalls        a strace -c style table of system calls\n"
	"  -g, --call-graph      callers and callees of the top functions\n"
	"      --pid PID         only this process\n"
	"      --tid TID         only this thread\n"
	"      --no-demangle     keep C++ and Rust symbol names mangled\n"
	"      --percent-limit P hide functions under P per cent of the total\n"
	"      --dso NAME        only functions of this DSO (file name)\n"
	"      --sym REGEX       only functions whose name matches REGEX (extended;\n"
	"                        'main' also matches dl_main, '^main$' only main)\n"
	"      --sym-exact NAME  only the function NAME, as written in C++ without its\n"
	"                        return type and parameters if you like (ns::f<long>)\n"
	"      --sort KEY        count (default), inclusive or name\n"
	"      --color WHEN      auto (default: on a terminal, unless NO_COLOR is set),\n"
	"                        always or never\n"
	"      --wide            on a terminal too, full names and every class column\n"
	"                        (by default tables fit the terminal's width; pipes and\n"
	"                        files always get full names)\n"
	"  -h, --help            this help\n";

size_t report_row_limit(size_t available, const struct report_options *o)
{
	return o->top && o->top < available ? o->top : available;
}

/* The --by keys, in enum report_by order. */
static const char *const by_names[] = { "function", "dso", "class", "thread", "line", "part" };

/* The options a user gave that some outputs cannot honour. */
struct given_options {
	bool by, format, top, input;
};

static int parse_report_args(int argc, char **argv, struct report_options *o,
			     struct given_options *given)
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
		{ "inverted", no_argument, NULL, 'I' },
		{ "percent-limit", required_argument, NULL, 'P' },
		{ "dso", required_argument, NULL, 'D' },
		{ "sym", required_argument, NULL, 'Y' },
		{ "sym-exact", required_argument, NULL, 'E' },
		{ "wide", no_argument, NULL, 'W' },
		{ "sort", required_argument, NULL, 'O' },
		{ "color", required_argument, NULL, 'C' },
		{ "part", required_argument, NULL, 'A' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *const formats[] = { "text", "json", "csv", "callgrind", "folded" };
	*o = (struct report_options){ .input = "prof.db", .top = 20 };
	*given = (struct given_options){ 0 };
	optind = 1;
	opterr = 0;
	int c, v;
	long long n;
	static const char *const sorts[] = { "count", "inclusive", "name" };
	const char *color = "auto";
	bool wide = false;
	const char *sym = NULL;
	while ((c = getopt_long(argc, argv, "i:n:f:go:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->input = optarg;
			given->input = true;
			break;
		case 'A': o->part = optarg; break;
		case 'o': o->output = optarg; break;
		case 'W': wide = true; break;
		case 'E': o->sym_exact = optarg; break;
		case 'n':
			if ((n = parse_count(optarg)) < 0) {
				log_error("report: --top wants a number, not '%s'", optarg);
				return -1;
			}
			o->top = (size_t)n;
			given->top = true;
			break;
		case 'b':
			if ((v = parse_choice("report", "--by key", optarg, by_names, 6)) < 0)
				return -1;
			o->by = (enum report_by)v;
			given->by = true;
			break;
		case 'f':
			if ((v = parse_choice("report", "format", optarg, formats, 5)) < 0)
				return -1;
			o->format = (enum report_format)v;
			given->format = true;
			break;
		case 's': o->syscalls = true; break;
		case 'M': o->filter.no_demangle = true; break;
		case 'S': o->svg = optarg; break;
		case 'I': o->inverted = true; break;
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
		case 'Y': sym = optarg; break;
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
	/* prof report FILE, as prof diff and perf report take them. */
	if (optind < argc && !given->input && optind + 1 == argc)
		o->input = argv[optind++];
	if (optind < argc) {
		log_error("report: unexpected argument '%s' (one database: -i FILE or FILE)",
			  argv[optind]);
		return -1;
	}
	if ((v = parse_color("report", color)) < 0)
		return -1;
	o->color = v;
	if (sym && (v = regcomp(&o->sym_re, sym, REG_EXTENDED | REG_NOSUB)) != 0) {
		char why[128];
		regerror(v, &o->sym_re, why, sizeof why);
		log_error("report: --sym '%s' is not a regular expression: %s", sym, why);
		return -1;
	}
	o->sym = sym; /* compiled: cmd_report frees it */
	o->width = wide || o->format != FORMAT_TEXT ? 0 : terminal_width(STDOUT_FILENO);
	return 0;
}

/* Bits of the tables an option applies to: the --by keys and --syscalls. */
#define ON(by) (1u << (by))
#define ON_SYSCALLS (1u << 6)
#define ON_ROWS (ON(BY_FUNCTION) | ON(BY_DSO))
#define ON_ANY_TABLE (ON_ROWS | ON(BY_CLASS) | ON(BY_THREAD) | ON(BY_LINE) | ON(BY_PART) | ON_SYSCALLS)

/* Every combination of options either works or is refused here, with one line. */
static int check_combination(const struct report_options *o, const struct given_options *g)
{
	const struct {
		const char *name;
		bool given;
		unsigned applies; /* tables the option means something for */
	} opts[] = {
		{ "--call-graph", o->call_graph, ON(BY_FUNCTION) },
		{ "--sym", o->sym != NULL, ON(BY_FUNCTION) },
		{ "--sym-exact", o->sym_exact != NULL, ON(BY_FUNCTION) },
		{ "--sort", o->sort != NULL, ON(BY_FUNCTION) },
		{ "--dso", o->dso != NULL, ON_ROWS },
		{ "--percent-limit", o->percent_limit > 0, ON_ROWS },
		{ "--top", g->top, ON_ROWS | ON(BY_THREAD) | ON(BY_LINE) },
		{ "--by", g->by, ON_ANY_TABLE & ~ON_SYSCALLS },
	};
	bool export = o->svg || o->format == FORMAT_CALLGRIND || o->format == FORMAT_FOLDED;
	const char *export_name = o->svg ? "--svg" : o->format == FORMAT_CALLGRIND
				  ? "--format callgrind" : "--format folded";
	unsigned table = o->syscalls ? ON_SYSCALLS : ON(o->by);
	if (o->output && (o->format != FORMAT_CALLGRIND || o->svg)) {
		log_error("report: --output is for --format callgrind (other formats write to stdout)");
		return -1;
	}
	if (o->part && o->by == BY_PART) {
		log_error("report: --part does not combine with --by part (which lists every part)");
		return -1;
	}
	if (o->svg && g->format) {
		log_error("report: --svg does not combine with --format (it writes its own file)");
		return -1;
	}
	if (export && o->syscalls) {
		log_error("report: --syscalls does not apply to %s", export_name);
		return -1;
	}
	for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
		if (!opts[i].given)
			continue;
		if (export) {
			log_error("report: %s does not apply to %s (exports cover the whole recording)",
				  opts[i].name, export_name);
			return -1;
		}
		if (!(opts[i].applies & table)) {
			if (o->syscalls)
				log_error("report: %s does not combine with --syscalls", opts[i].name);
			else
				log_error("report: %s does not combine with --by %s", opts[i].name,
					  by_names[o->by]);
			return -1;
		}
	}
	return 0;
}

/* Loads the recording and writes the chosen output; 0, or 1 after an error line. */
static int report_recording(struct report_options *o)
{
	char err[512];
	sqlite3 *db = store_open_read(o->input, err, sizeof err);
	if (!db) {
		log_error("%s", err);
		return 1;
	}
	if (store_check_state(db, o->input) != 0) {
		sqlite3_close(db);
		return 1;
	}
	if (o->part && (o->filter.part = profile_find_part(db, o->part, err, sizeof err)) <= 0) {
		if (o->filter.part == 0)
			log_error("report: %s: %s", o->input, err);
		sqlite3_close(db);
		return 1;
	}
	if (o->format == FORMAT_CALLGRIND && !o->svg && !o->part) {
		int parts = report_callgrind_parts(db, o);
		if (parts != 0) { /* written per part, or failed */
			sqlite3_close(db);
			return parts < 0;
		}
	}
	struct profile p;
	int rc = profile_load(db, &o->filter, &p);
	if (rc == 0 && o->by == BY_LINE)
		rc = profile_load_lines(db, &o->filter, &p);
	if (rc == 0 && o->format == FORMAT_CALLGRIND && !o->svg)
		rc = profile_load_pcs(db, &o->filter, &p);
	if (rc == 0 && o->call_graph && o->format == FORMAT_CSV && !p.has_call_graph) {
		log_error("report: %s has no call graph to write as CSV", o->input);
		rc = -1;
	}
	if (rc == 0) {
		symbolizer_print_warnings(p.symbolizer);
		report_select_rows(&p, o);
		if (o->svg)
			rc = report_svg(o->svg, &p, o);
		else if (o->format == FORMAT_CALLGRIND)
			rc = report_callgrind_file(&p, o);
		else if (o->format == FORMAT_FOLDED)
			report_folded(stdout, &p, o);
		else if (o->format == FORMAT_JSON)
			report_json(stdout, &p, o);
		else if (o->format == FORMAT_CSV)
			report_csv(stdout, &p, o);
		else
			report_text(stdout, &p, o);
	}
	profile_free(&p);
	sqlite3_close(db);
	return rc ? 1 : 0;
}

int cmd_report(int argc, char **argv)
{
	struct report_options o;
	struct given_options given;
	int rc = 2;
	if (parse_report_args(argc, argv, &o, &given) == 0 && check_combination(&o, &given) == 0)
		rc = report_recording(&o);
	if (o.sym)
		regfree(&o.sym_re);
	return rc;
}
