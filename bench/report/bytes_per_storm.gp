# bench/report/bytes_per_storm.gp — bytes per storm record per layout, for storms of 15 and 100
# resources, measured on Redis and predicted by the memory backend. tools/bench.sh runs it:
#   gnuplot -e \"data='DIR/bytes_per_storm.dat'; out='bench/bytes_per_storm.svg'; ncols=N\" bytes_per_storm.gp
# `ncols` is the number of series in the data (bench_report prints it).
# Data (written by bench_report): a header row of quoted series names, then one row per layout.
set terminal svg size 900,540 dynamic noenhanced font 'Helvetica,13' background rgb 'white'
set output out
set title "Bytes per storm record (used_memory growth per storm)"
set ylabel "bytes per storm (log)"
set logscale y 10
set yrange [100:*]
set grid ytics lc rgb '#dddddd'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right center box
set format y "%g"
array colour[4] = ['#9ecae1', '#3182bd', '#fdae6b', '#e6550d']
plot for [c=2:ncols+1] data using c:xtic(1) title columnheader(c) lc rgb colour[(c - 2) % 4 + 1]
