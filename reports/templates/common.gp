# The style every report plot shares.  A plot script written by
# `kvmqual report` is: the variables it sets (data file, titles, sizes),
# this file, then the plot's own template (bars.gp, boot.gp, pct.gp,
# history.gp).  Remake a plot with
#     gnuplot -e 'fmt="svg"' bars.gp      (or fmt="png")
# in the plots/ directory.
if (!exists("fmt")) fmt = "svg"
if (fmt eq "png") {
	if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
		set terminal pngcairo size plot_width, plot_height font "sans,9" noenhanced background "#ffffff"
	} else {
		set terminal png size plot_width, plot_height noenhanced background "#ffffff"
	}
} else {
	set terminal svg size plot_width, plot_height dynamic noenhanced font "sans,11" background "#ffffff"
}
set output plot_name . "." . fmt
set encoding utf8
set datafile missing "NaN"

# One colour per accelerator, the same in every plot and in the page's CSS
# (report.css): native grey, TCG orange, KVM blue; targets red, dashed.
color_native = "#555555"
color_tcg = "#d9822b"
color_kvm = "#2b7bb9"
color_target = "#c0392b"
set linetype 1 lc rgb color_native lw 1.5 pt 7 ps 0.7
set linetype 2 lc rgb color_tcg lw 1.5 pt 7 ps 0.7
set linetype 3 lc rgb color_kvm lw 1.5 pt 7 ps 0.7
set linetype 9 lc rgb color_target lw 1.5 dt 2
set border 3 lc rgb "#777777"
set tics nomirror out
set grid ytics lc rgb "#dddddd" lw 1 dt 1
set key noautotitle
set style fill solid 0.85 noborder
