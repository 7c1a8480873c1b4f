-- ping: the smallest script; returns ARGV[1] unchanged. Used by tests and benches of Eval.
return ARGV[1]
