# Helpers for inner-guest test scripts (installed as /lib/vtest.sh; busybox sh).
# Protocol on the serial console, one line each (the harness strips the \r):
#   VTEST-RESULT ok NAME          a check passed
#   VTEST-RESULT fail NAME: WHY   a check failed
#   VTEST-DONE                    the script reached its end
vt_ok() { echo "VTEST-RESULT ok $*"; }
vt_fail() { echo "VTEST-RESULT fail $*"; VT_FAILED=1; }
# vt_check NAME COND...: runs the test command COND, reports ok/fail.
vt_check() { n=$1; shift; if "$@"; then vt_ok "$n"; else vt_fail "$n: [$*] is false"; fi; }
vt_done() { echo "VTEST-DONE"; }

# CMOS NVRAM byte access (index 14..127), through rtc-cmos's nvmem device when
# present (driver locking), else raw ports 0x70/0x71 via /dev/port.
VT_NVMEM=/sys/bus/nvmem/devices/cmos_nvram0/nvmem
vt_cmos_read() {
  if [ -r $VT_NVMEM ]; then
    dd if=$VT_NVMEM bs=1 skip=$(($1 - 14)) count=1 2>/dev/null | od -An -tu1 | tr -d ' '
  else
    printf "\\$(printf %03o $1)" | dd of=/dev/port bs=1 seek=112 count=1 2>/dev/null
    dd if=/dev/port bs=1 skip=113 count=1 2>/dev/null | od -An -tu1 | tr -d ' '
  fi
}
vt_cmos_write() {
  if [ -w $VT_NVMEM ]; then
    printf "\\$(printf %03o $2)" | dd of=$VT_NVMEM bs=1 seek=$(($1 - 14)) count=1 conv=notrunc 2>/dev/null
  else
    printf "\\$(printf %03o $1)" | dd of=/dev/port bs=1 seek=112 count=1 2>/dev/null
    printf "\\$(printf %03o $2)" | dd of=/dev/port bs=1 seek=113 count=1 2>/dev/null
  fi
}
