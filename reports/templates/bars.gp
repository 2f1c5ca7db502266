# KVM vs TCG vs native, one panel per workload metric: the median of the
# samples as a bar, their spread (first to third quartile) as an error
# bar, an absolute target (e.g. disk >= 200 MB/s) as a dashed line.
# Data (datafile): one block per metric, in panel order; rows
#     slot median q1 q3 samples      slot 0 native, 1 TCG, 2 KVM
# with NaN where an accelerator has no samples.
# Variables: panels, panel_rows, panel_cols, panel_title[i], panel_unit[i],
# panel_ymax[i], panel_target[i] (NaN: none), panel_note_tcg[i] and
# panel_note_kvm[i] (e.g. "missing" where an accelerator has no samples).
set multiplot layout panel_rows, panel_cols
set xrange [-0.6:2.6]
set xtics ("native" 0, "TCG" 1, "KVM" 2)
set boxwidth 0.7
do for [i = 1:panels] {
	set title panel_title[i]
	set ylabel panel_unit[i]
	set yrange [0:panel_ymax[i]]
	unset label 1
	unset label 2
	if (strlen(panel_note_tcg[i]) > 0) {
		set label 1 panel_note_tcg[i] at 1, graph 0.08 center tc rgb color_tcg
	}
	if (strlen(panel_note_kvm[i]) > 0) {
		set label 2 panel_note_kvm[i] at 2, graph 0.08 center tc rgb color_kvm
	}
	unset arrow 1
	if (panel_target[i] == panel_target[i]) {
		set arrow 1 from graph 0, first panel_target[i] to graph 1, first panel_target[i] nohead lt 9
	}
	plot datafile index (i - 1) using 1:2:($1 + 1) with boxes lc variable, \
	     '' index (i - 1) using 1:2:3:4 with yerrorbars lc rgb "#222222" ps 0 lw 1
}
unset multiplot
