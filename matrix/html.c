/* matrix.html: one self-contained page (inline CSS and JS, nothing fetched:
 * no URL, no font, no image), the table sortable by any column.
 *
 * The contract the browser tests rely on: <table id="matrix">, a <thead>
 * of <th data-key data-type="number|text">; a click on a <th> sorts the
 * rows by it (again: descending) and sets aria-sort on it; each row is
 * <tr data-host-key>; numeric cells carry data-value with the raw number;
 * missing values sort last either way. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "matrix.h"

static void html_text(FILE *out, const char *text)
{
	/* Valid UTF-8 whatever a source held (a cut at 12 bytes included). */
	char *clean = kq_utf8_dup(text ? text : "");
	for (const char *s = clean; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
	free(clean);
}

static const char style[] =
	"body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.5em;color:#1b1b1b;background:#fff}"
	"h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.5em 0 .4em}"
	".summary{margin:.2em 0 1em}.summary b{font-weight:600}"
	".wrap{overflow-x:auto}"
	"table{border-collapse:collapse;font-size:13px}"
	"th,td{border:1px solid #d5d5d5;padding:.3em .5em;vertical-align:top;text-align:left}"
	"th{background:#f0f0f0;cursor:pointer;user-select:none;white-space:nowrap;position:sticky;top:0}"
	"th:focus{outline:2px solid #2a62c9}"
	"th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}"
	"td.num{text-align:right;white-space:nowrap}"
	"td.missing{color:#888;text-align:center}"
	"td.pass{background:#e7f5e9}td.warn{background:#fff4d6}td.fail,td.error{background:#fde2e1}"
	"tr.qualified td.status{background:#cdeccf}tr.qualified-with-limits td.status{background:#ffe9a8}"
	"tr.not-qualified td.status{background:#f9c9c6}"
	"tr.conflict td:first-child{box-shadow:inset 4px 0 #c0392b}"
	".why{font-size:12px;color:#444;max-width:28em}"
	".mark{display:inline-block;font-size:11px;padding:0 .4em;border-radius:3px;background:#e4e4e4;margin:0 .2em .2em 0}"
	".mark.conflict,.mark.same-run-differs{background:#f9c9c6}.mark.emulated{background:#d9e6ff}"
	".notes{font-size:12px;max-width:36em}"
	"dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:600}dd{margin:0}"
	"code{font-size:12px}";

/* Sorting: by data-value (numbers) or data-sort / text; missing last. */
static const char script[] =
	"(function(){\n"
	"var table=document.getElementById('matrix');\n"
	"var heads=table.tHead.rows[0].cells;\n"
	"var body=table.tBodies[0];\n"
	"function key(cell,type){\n"
	" if(cell.hasAttribute('data-missing'))return null;\n"
	" if(type==='number'){var v=cell.getAttribute('data-value');\n"
	"  if(v===null||v===''||isNaN(parseFloat(v)))return null;return parseFloat(v);}\n"
	" var s=cell.getAttribute('data-sort');\n"
	" return (s!==null?s:cell.textContent).trim().toLowerCase();\n"
	"}\n"
	"function sortBy(index){\n"
	" var th=heads[index];\n"
	" var asc=th.getAttribute('aria-sort')!=='ascending';\n"
	" for(var i=0;i<heads.length;i++)heads[i].removeAttribute('aria-sort');\n"
	" th.setAttribute('aria-sort',asc?'ascending':'descending');\n"
	" var type=th.getAttribute('data-type');\n"
	" var rows=Array.prototype.slice.call(body.rows);\n"
	" var keyed=rows.map(function(row,pos){return{row:row,pos:pos,k:key(row.cells[index],type)};});\n"
	" keyed.sort(function(a,b){\n"
	"  if(a.k===null||b.k===null){if(a.k===b.k)return a.pos-b.pos;return a.k===null?1:-1;}\n"
	"  var c=type==='number'?a.k-b.k:(a.k<b.k?-1:a.k>b.k?1:0);\n"
	"  if(!asc)c=-c;\n"
	"  return c||a.pos-b.pos;\n"
	" });\n"
	" keyed.forEach(function(e){body.appendChild(e.row);});\n"
	"}\n"
	"Array.prototype.forEach.call(heads,function(th,index){\n"
	" th.tabIndex=0;\n"
	" th.addEventListener('click',function(){sortBy(index);});\n"
	" th.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();sortBy(index);}});\n"
	"});\n"
	"})();\n";

static void td_open(FILE *out, const char *cls, const char *title)
{
	fputs("<td", out);
	if (cls && *cls) {
		fputs(" class=\"", out);
		html_text(out, cls);
		fputc('"', out);
	}
	if (title && *title) {
		fputs(" title=\"", out);
		html_text(out, title);
		fputc('"', out);
	}
}

static void write_cell(FILE *out, const struct matrix *m, const struct matrix_row *row, int c)
{
	const struct matrix_cell *cell = &row->cells[c];
	const struct matrix_column *def = &matrix_columns[c];
	int number = !strcmp(def->type, "number");
	char num[32];
	if (c == MC_NOTES) {
		td_open(out, "notes", NULL);
		if (!row->mark_count && !(cell->text && *cell->text))
			fputs(" data-missing", out);
		fputc('>', out);
		for (size_t i = 0; i < row->mark_count; i++) {
			fputs("<span class=\"mark ", out);
			html_text(out, row->marks[i].kind);
			fputs("\" title=\"", out);
			html_text(out, row->marks[i].detail);
			fputs("\">", out);
			html_text(out, row->marks[i].kind);
			fputs("</span>", out);
		}
		if (cell->text && *cell->text) {
			fputs("<div>", out);
			html_text(out, cell->text);
			fputs("</div>", out);
		}
		fputs("</td>", out);
		return;
	}
	if (!cell->text) {
		td_open(out, "missing", cell->missing);
		fputs(" data-missing>\u2014</td>", out);
		return;
	}
	if (c == MC_STATUS) {
		td_open(out, "status", cell->detail);
		fputs(" data-sort=\"", out);
		html_text(out, cell->text);
		fputs("\"><b>", out);
		html_text(out, cell->text);
		fputs("</b>", out);
		if (row->reason_count) {
			fputs("<div class=\"why\">", out);
			for (size_t i = 0; i < row->reason_count; i++) {
				char *why = matrix_short_text(row->reasons[i], 140);
				if (i)
					fputs("<br>", out);
				html_text(out, why);
				free(why);
			}
			fputs("</div>", out);
		}
		fputs("</td>", out);
		return;
	}
	char cls[32];
	snprintf(cls, sizeof(cls), "%s%s%s", number ? "num" : "", number && cell->status ? " " : "",
		 cell->status ? cell->status : "");
	const char *title = cell->detail;
	if (c == MC_RUN) {
		td_open(out, cls, title);
		fputs(" data-sort=\"", out);
		html_text(out, row->run->started_at);
		fputs("\">", out);
		html_text(out, cell->text);
		if (row->source_count > 1)
			fprintf(out, " (+%zu source%s)", row->source_count - 1, row->source_count > 2 ? "s" : "");
		fputs("</td>", out);
		(void)m;
		return;
	}
	td_open(out, cls, title);
	if (number && isfinite(cell->value)) {
		matrix_format_double(num, cell->value);
		fprintf(out, " data-value=\"%s\"", num);
	}
	fputc('>', out);
	html_text(out, cell->text);
	fputs("</td>", out);
}

int matrix_write_html(const struct matrix *m, FILE *out, struct kq_err *err)
{
	char now[32];
	time_t t = time(NULL);
	strftime(now, sizeof(now), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      /* an empty icon: else a browser asks the server for /favicon.ico */
	      "<link rel=\"icon\" href=\"data:,\">\n"
	      "<title>KVM compatibility matrix</title>\n<style>",
	      out);
	fputs(style, out);
	fputs("</style>\n</head>\n<body>\n<h1>KVM compatibility matrix</h1>\n", out);
	fprintf(out, "<p class=\"summary\"><b>%zu</b> device%s in <b>%zu</b> row%s: <b>%zu</b> qualified, <b>%zu</b>"
		     " qualified with limits, <b>%zu</b> not qualified",
		m->devices, m->devices == 1 ? "" : "s", m->row_count, m->row_count == 1 ? "" : "s", m->counts[MATRIX_QUALIFIED], m->counts[MATRIX_LIMITED],
		m->counts[MATRIX_NOT_QUALIFIED]);
	if (m->conflicts)
		fprintf(out, "; <b>%zu</b> rows in conflict (one identity, different results)", m->conflicts);
	fprintf(out, ". Run shown: <code>%s", matrix_select_name(m->select));
	if (m->select == MATRIX_RUN)
		fprintf(out, ":%lld", (long long)m->select_run);
	fprintf(out, "</code>. Generated %s by kvmqual matrix. Click a column's title to sort.</p>\n", now);
	fputs("<div class=\"wrap\">\n<table id=\"matrix\">\n<thead>\n<tr>", out);
	for (int c = 0; c < MC_COUNT; c++) {
		fprintf(out, "<th data-key=\"%s\" data-type=\"%s\" title=\"", matrix_columns[c].key,
			matrix_columns[c].type);
		html_text(out, matrix_columns[c].about);
		fputs("\">", out);
		html_text(out, matrix_columns[c].title);
		fputs("</th>", out);
	}
	fputs("</tr>\n</thead>\n<tbody>\n", out);
	for (size_t i = 0; i < m->row_count; i++) {
		const struct matrix_row *row = &m->rows[i];
		int conflict = 0;
		for (size_t k = 0; k < row->mark_count; k++)
			conflict |= !strcmp(row->marks[k].kind, "conflict") ||
				    !strcmp(row->marks[k].kind, "same-run-differs");
		fprintf(out, "<tr data-host-key=\"%s\" class=\"%s%s%s\">", row->run->host_key,
			matrix_status_key(row->status), conflict ? " conflict" : "",
			row->run->emulated ? " emulated" : "");
		for (int c = 0; c < MC_COUNT; c++)
			write_cell(out, m, row, c);
		fputs("</tr>\n", out);
	}
	fputs("</tbody>\n</table>\n</div>\n<h2>Columns</h2>\n<dl>\n", out);
	for (int c = 0; c < MC_COUNT; c++) {
		fputs("<dt>", out);
		html_text(out, matrix_columns[c].title);
		fputs("</dt><dd>", out);
		html_text(out, matrix_columns[c].about);
		if (matrix_columns[c].check_id) {
			fputs(" (probe check <code>", out);
			html_text(out, matrix_columns[c].check_id);
			fputs("</code>", out);
			if (matrix_columns[c].fallback) {
				fputs(", else <code>", out);
				html_text(out, matrix_columns[c].fallback);
				fputs("</code>", out);
			}
			fputs(")", out);
		}
		fputs("</dd>\n", out);
	}
	fputs("</dl>\n<p>A dash (\u2014) is a value the run does not have; hover it for the reason. Marks: "
	      "<b>conflict</b> (several sources claim one identity with different results), <b>same-run-differs</b>, "
	      "<b>guest-image</b> and <b>suite-version</b> (different from most rows), <b>emulated</b> (numbers are"
	      " not hardware performance), <b>newer-run</b> (a newer run where KVM did not work).</p>\n"
	      "<h2>Sources</h2>\n<ul>\n",
	      out);
	for (size_t i = 0; i < m->source_count; i++) {
		fputs("<li>", out);
		html_text(out, m->sources[i].name);
		fprintf(out, " (%s, %zu runs read)</li>\n", m->sources[i].kind, m->sources[i].runs_read);
	}
	for (size_t i = 0; i < m->note_count; i++) {
		fputs("<li>left out: ", out);
		html_text(out, m->notes[i]);
		fputs("</li>\n", out);
	}
	fputs("</ul>\n<script>\n", out);
	fputs(script, out);
	fputs("</script>\n</body>\n</html>\n", out);
	if (fflush(out) != 0 || ferror(out))
		return kq_error(err, "writing matrix.html: %s", strerror(errno ? errno : EIO));
	return 0;
}
