# Conveniences over meson/ninja. `make run` and `make check` do all set-up themselves.
BUILD ?= build
NINJA ?= ninja

.PHONY: all deps test-deps run check unit sandbox sandbox-full clean bench

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

# The sandbox with the cases over make check's time budget too ("# vsb-tier: full":
# the ISO/disk installs through SeaBIOS of 60-storage); about an hour on 2 cores.
sandbox-full: test-deps all
	@VSB_TIER=full VSB_TIMEOUT=$${VSB_TIMEOUT:-4800} python3 tests/runner.py --build $(BUILD) --only sandbox

clean:
	rm -rf $(BUILD)
