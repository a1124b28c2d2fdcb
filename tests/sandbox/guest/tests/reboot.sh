# Issue #2: `reboot`. Counts boots in CMOS NVRAM (bytes 0x7e magic, 0x7f count), which a
# PC keeps across a reset. Boot 1 reboots, boot 2 reports and powers off. With
# -no-reboot the VMM must exit (status 0) after boot 1's reboot instead.
. /lib/vtest.sh
magic=$(vt_cmos_read 126); count=$(vt_cmos_read 127)
if [ "$magic" != 90 ]; then count=0; fi
count=$((count + 1))
vt_cmos_write 126 90
vt_cmos_write 127 $count
echo "VTEST-BOOT $count (cmos magic was ${magic:-?})"
if [ $count -ge 2 ]; then
  vt_cmos_write 126 0; vt_cmos_write 127 0
  vt_ok "second boot seen through CMOS NVRAM"
  vt_done
  poweroff -f
fi
reboot -f
