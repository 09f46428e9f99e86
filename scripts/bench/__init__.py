"""Load benchmark of rendered services against a hand-written reference; see scripts/bench.sh."""
