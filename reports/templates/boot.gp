# Boot time (exec of QEMU to the guest agent's ready message) per
# accelerator: a box from the first to the third quartile with the median
# across it and whiskers to the extremes, every sample as a point beside
# it; the KVM boot target as a dashed line.
# Data (datafile): block 0, one row per sample, "slot total_ms"; block 1,
# one row per accelerator with samples, "slot min q1 median q3 max samples";
# slot 1 TCG, 2 KVM.
# Variables: boot_ymax, boot_target (NaN: none), boot_note_tcg,
# boot_note_kvm (shown where an accelerator has no samples, else "").
set xrange [0.4:2.6]
set xtics ("TCG" 1, "KVM" 2)
set yrange [0:boot_ymax]
set ylabel "boot time (ms)"
set boxwidth 0.3
if (strlen(boot_note_tcg) > 0) { set label 1 boot_note_tcg at 1, graph 0.08 center tc rgb color_tcg }
if (strlen(boot_note_kvm) > 0) { set label 2 boot_note_kvm at 2, graph 0.08 center tc rgb color_kvm }
if (boot_target == boot_target) {
	set arrow 1 from graph 0, first boot_target to graph 1, first boot_target nohead lt 9
	set label 3 sprintf("KVM target < %g ms", boot_target) at graph 0.98, first boot_target \
		offset 0, 0.7 right tc rgb color_target
}
plot datafile index 1 using 1:3:2:6:5:($1 + 1) with candlesticks lc variable fs solid 0.3 whiskerbars 0.5, \
     datafile index 1 using 1:4:4:4:4 with candlesticks lc rgb "#222222" lw 2, \
     datafile index 0 using ($1 + 0.25):2:($1 + 1) with points lc variable pt 7 ps 0.8
