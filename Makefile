# The suite's commands. Each one sets up what it needs first, so any of them works on a bare
# machine of this kind.
.PHONY: setup build run stop test bench format clean

setup:
	@bash Tools/devstack/setup.sh

build: setup
	swift build

## Postgres, broker, six services and a short demo; the suite keeps running (make stop ends it).
run:
	@bash Tools/devstack/run.sh

stop:
	@bash Tools/devstack/stop.sh

## A fresh test stack (own ports), then every test.
test: setup
	@bash Tools/devstack/test.sh

## Benchmarks (release build, own stack); prints the figures.
bench: setup
	@bash Tools/devstack/bench.sh

## Rewrites the Swift sources to the project's layout (.swift-format); `make test` checks it.
format:
	@bash Tools/devstack/style.sh --fix

clean: stop
	rm -rf .build .devstack
