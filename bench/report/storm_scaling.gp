# bench/report/storm_scaling.gp — storm-size scaling chart: time per alert vs resources per storm,
# one line per layout and backend (log-log). tools/bench.sh runs it:
#   gnuplot -e "data='DIR/storm_scaling.dat'; out='bench/storm_scaling.svg'" storm_scaling.gp
# Data (written by bench_report): six blocks separated by two blank lines, in this order: compact,
# json-meta, full-crd on the memory backend, then the same on Redis. A block's first line is its
# quoted title, then "resources microseconds_per_alert" rows (one NaN row when there is no data).
set terminal svg size 900,540 dynamic noenhanced font 'Helvetica,13' background rgb 'white'
set output out
set title "Storm-size scaling: time per alert (one aggregation script call)"
set xlabel "resources per storm (log)"
set ylabel "time per alert, µs (log)"
set logscale xy 10
set grid xtics ytics mxtics mytics lc rgb '#dddddd'
set key outside right center box
set format y "%g"
# Memory backend: light shades, open points; Redis: dark shades, filled points (solid lines only:
# some SVG renderers mis-draw gnuplot's dashed paths).
array colour[6] = ['#9ecae1', '#a1d99b', '#fdae6b', '#3182bd', '#31a354', '#e6550d']
plot for [i=0:5] data index i using 1:2 with linespoints lw 2 lc rgb colour[i + 1] \
     pt (i < 3 ? 6 : 7) ps 1.1 title columnheader(1)
