# Conveniences over meson/ninja. `make run` and `make check` do all set-up themselves.
BUILD ?= build
NINJA ?= ninja

.PHONY: all deps test-deps run check unit sandbox clean bench

all: deps $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

deps:
	@sh scripts/install-deps.sh

test-deps:
	@sh scripts/install-deps.sh --test

$(BUILD)/build.ninja:
	./configure --builddir=$(BUILD)

# Boot the embedded default guest (needs /dev/kvm).
run: all
	$(BUILD)/vireo -nographic

# Every test: unit tests, guest tests on /dev/kvm, qemu-img interop, and the nested-KVM
# sandbox (Debian's kernel booted under Vireo). Last line: "N passed, N failed, N skipped".
check: test-deps all
	@python3 tests/runner.py --build $(BUILD)

unit: all
	meson test -C $(BUILD) --suite unit --print-errorlogs

sandbox: test-deps all
	@python3 tests/runner.py --build $(BUILD) --only sandbox

clean:
	rm -rf $(BUILD)
