# bench/report/ops_per_second.gp — commands per second per command: the memory backend (1 thread),
# RedisBackend and redis-benchmark, unpipelined and pipelined by 64. tools/bench.sh runs it:
#   gnuplot -e \"data='DIR/ops_per_second.dat'; out='bench/ops_per_second.svg'; ncols=N\" ops_per_second.gp
# `ncols` is the number of series in the data (bench_report prints it).
# Data (written by bench_report): a header row of quoted series names, then one row per command.
set terminal svg size 900,540 dynamic noenhanced font 'Helvetica,13' background rgb 'white'
set output out
set title "Commands per second (one client, same Redis server)"
set ylabel "ops/s (log)"
set logscale y 10
set yrange [1000:*]
set grid ytics lc rgb '#dddddd'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside below horizontal box
set format y "%.0s%c"
array colour[5] = ['#756bb1', '#3182bd', '#9ecae1', '#e6550d', '#fdae6b']
plot for [c=2:ncols+1] data using c:xtic(1) title columnheader(c) lc rgb colour[(c - 2) % 5 + 1]
