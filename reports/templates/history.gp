# Each headline metric (the ones the targets judge) over time, from this
# host's runs in the database: the per-run median under each accelerator.
# Data (datafile): one block per metric, in panel order; rows
#     unix_time native tcg kvm run_id        NaN where not measured
# Variables: panels, panel_rows, panel_cols, panel_title[i], panel_unit[i],
# history_xmin, history_xmax (unix seconds), history_xtic (seconds between
# ticks), history_xformat (strftime format of the tick labels).
set multiplot layout panel_rows, panel_cols
set xdata time
set timefmt "%s"
set xrange [history_xmin:history_xmax]
set xtics history_xtic rotate by -30
set format x history_xformat
set xlabel "run started (UTC)"
set yrange [0:*]
set key below horizontal samplen 2
do for [i = 1:panels] {
	set title panel_title[i]
	set ylabel panel_unit[i]
	plot datafile index (i - 1) using 1:2 with linespoints lt 1 title "native", \
	     '' index (i - 1) using 1:3 with linespoints lt 2 title "TCG", \
	     '' index (i - 1) using 1:4 with linespoints lt 3 title "KVM"
}
unset multiplot
