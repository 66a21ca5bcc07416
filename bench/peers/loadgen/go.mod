module peregrine.bench/loadgen

go 1.22
