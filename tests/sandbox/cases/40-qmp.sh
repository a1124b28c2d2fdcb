#!/usr/bin/env bash
# vsb-timeout: 600
# QMP (issue 4): tests/qmp/test_qmp.py drives build/vireo over every monitor transport
# with a real /dev/kvm; it prints one TAP line per check. Owned by qapi/ (docs/qmp.md).
# vsb-host-test: qmp-client
if [ ! -x "$VSB_BUILD/vireo" ]; then
  echo "not ok - client test"; echo "# $VSB_BUILD/vireo is missing"; exit 0
fi
# The outer guest's loopback starts down; the tcp listener checks need 127.0.0.1.
ip link set lo up 2>/dev/null || busybox ip link set lo up 2>/dev/null || true
python3 -I "$VSB_ROOT/tests/qmp/test_qmp.py" --vireo "$VSB_BUILD/vireo" \
  2> "$VSB_LOGDIR/qmp-test.err" | tee "$VSB_LOGDIR/qmp-test.tap"
rc=${PIPESTATUS[0]}
case $rc:$(cat "$VSB_LOGDIR/qmp-test.tap") in
  *"1..0 # SKIP"*) echo "not ok - client test"; echo "# skipped inside the sandbox: no /dev/kvm" ;;
  0:*|1:*) ;;
  *) echo "not ok - client test"; echo "# exited $rc (see qmp-test.err)" ;;
esac
exit 0
