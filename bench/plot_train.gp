# plot_train.gp - loss curves of bench/train runs at one rank count, one line per mode.
# usage: gnuplot -c bench/plot_train.gp OUTDIR P "MODE1 MODE2 ..."
# reads OUTDIR/train_MODE_pP.csv (step,loss,...), writes OUTDIR/train_pP.png
dir = ARG1
p = ARG2
modes = ARG3
set terminal pngcairo size 900,560 noenhanced
set output sprintf("%s/train_p%s.png", dir, p)
set datafile separator ","
set key top right
set grid
set xlabel "step"
set ylabel "training loss (mean over ranks)"
set title sprintf("lc_train loss, %s ranks", p)
file(m) = sprintf("%s/train_%s_p%s.csv", dir, m, p)
plot for [m in modes] file(m) skip 1 using 1:2 with lines title m
