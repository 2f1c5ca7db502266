# Each workload metric under TCG and under KVM as a percentage of the same
# metric measured natively on the host (lower-is-better metrics inverted,
# so higher is better everywhere), against the %-of-native targets (e.g.
# CPU >= 85 %) drawn as dashed red segments; 100 % is native speed.
# Data (datafile): rows "slot tcg_pct kvm_pct target_pct", slot 1..metrics,
# NaN where there is no value or no target.
# Variables: metrics, metric_label[i], pct_ymax, pct_note (e.g. "KVM: missing").
set xrange [0.4:metrics + 0.6]
set yrange [0:pct_ymax]
set ylabel "% of native"
set xtics () rotate by -35 left
do for [i = 1:metrics] { set xtics add (metric_label[i] i) }
set boxwidth 0.36
set arrow 1 from graph 0, first 100 to graph 1, first 100 nohead lc rgb "#888888" dt 3
set label 1 "native = 100 %" at graph 0, first 100 offset 0.5, 0.6 left tc rgb "#777777"
if (strlen(pct_note) > 0) { set label 2 pct_note at graph 0.5, graph 0.92 center tc rgb color_kvm }
set key top right
plot datafile using ($1 - 0.19):2 with boxes lt 2 title "TCG", \
     datafile using ($1 + 0.19):3 with boxes lt 3 title "KVM", \
     datafile using ($1 - 0.45):4:(0.9):(0) with vectors nohead lt 9 title "target"
