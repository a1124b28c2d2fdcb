#!/usr/bin/env bash
# vsb-timeout: 900
# Display (issue 11): Linux on the standard VGA (-vga std, console=tty0): the text
# console (vgacon) and, after Linux's bochs DRM driver loads, fbcon on the dispi
# framebuffer. QMP screendump (PNG) must show the marker lines the guest prints (OCR with
# tesseract), and lines typed with QMP send-key must reach the guest's tty0 (read back on
# the serial console). A VNC client (build/tests/vnc-capture, VNC authentication with the
# password set by QMP set_password) captures the same screens (OCR again), types the
# second line, and a wrong password is refused. The same scenario runs under Debian's
# QEMU to prove the test. A virtio-tablet-pci gets absolute moves from QMP
# input-send-event; the guest reads them from its evdev node. Booting through SeaBIOS
# (-bios, nothing to boot), the VGA BIOS from the VGA's option ROM BAR must put SeaBIOS's
# banner on the screen (screendump and VNC, OCR).
{
. "$VSB_LIB/vm.sh"
work=$VSB_WORK/display; mkdir -p "$work"
# The initramfs (guest/display/build.sh) is built on the host by run-tests.sh.
initrd=${VSB_DISPLAY_INITRD:-}
if [ ! -s "$initrd" ]; then
  echo "not ok - display: initramfs"; echo "# VSB_DISPLAY_INITRD not built by run-tests.sh"; exit 0
fi

ocr() {  # ocr PNG WORDS: 0 when tesseract reads every word of WORDS in PNG
  local txt; txt=$(timeout 120 tesseract "$1" - 2>/dev/null | tr -s ' \n' ' ')
  echo "$txt" > "$1.txt"
  local w; for w in $2; do [[ $txt == *"$w"* ]] || return 1; done
}

for vmm in ${VSB_BOOT_VMMS:-vireo qemu}; do
  if ! vsb_vmm_cmd "$vmm"; then tap 1 "$vmm: display: boot" "$VMM_ERR"; continue; fi
  log=$VSB_LOGDIR/$vmm-display.log sock=$work/$vmm.qmp vnc=$work/$vmm.vnc
  start=$SECONDS
  eval "$(python3 -I "$VSB_LIB/display_run.py" --log "$log" --qmp "$sock" \
    --out "$VSB_LOGDIR/$vmm" --timeout 200 --vnc "unix:$vnc" \
    --capture "$VSB_BUILD/tests/vnc-capture" --password "pw-4711" \
    -- "${VMM_CMD[@]}" -m 256 -vga std -vnc "unix:$vnc,password=on" \
    -device virtio-tablet-pci \
    -qmp "unix:$sock,server=on,wait=off" -kernel "$VSB_VMLINUZ" -initrd "$initrd" \
    -append "console=tty0 console=ttyS0 quiet panic=-1 vtest=display")"
  why="VMM: $DR_REASON, status $DR_RC after $((SECONDS - start))s; last console line: $(grep -v '^$' "$log" | tail -n1 | cut -c1-100)"
  shot=$VSB_LOGDIR/$vmm-text.png
  if [[ " $DR_SHOTS " == *" text "* ]] && [ -s "$shot" ]; then
    tap 0 "$vmm: display: screendump PNG of the VGA text console"
    if ocr "$shot" "DISPLAY MARKER ALPHA BRAVO 4711"; then
      tap 0 "$vmm: display: text console shows the guest's marker (OCR)"
    else tap 1 "$vmm: display: text console shows the guest's marker (OCR)" "OCR: $(cat "$shot.txt" | cut -c1-200)"; fi
  else
    tap 1 "$vmm: display: screendump PNG of the VGA text console" "$why"
    tap 1 "$vmm: display: text console shows the guest's marker (OCR)" "no screendump"
  fi
  if grep -q '^DISPLAY-GOT:typed text 42' "$log"; then
    tap 0 "$vmm: display: send-key line typed into tty0 (vgacon)"
  else tap 1 "$vmm: display: send-key line typed into tty0 (vgacon)" "$(grep -m1 '^DISPLAY-GOT' "$log")" "$why"; fi
  fb=$(grep -m1 '^DISPLAY-FB:' "$log")
  if [[ $fb == *bochs* ]]; then tap 0 "$vmm: display: bochs-drm framebuffer (${fb#DISPLAY-FB:})"
  else tap 1 "$vmm: display: bochs-drm framebuffer" "${fb:-no DISPLAY-FB line}" "$why"; fi
  shot=$VSB_LOGDIR/$vmm-fb.png
  if [[ " $DR_SHOTS " == *" fb "* ]] && ocr "$shot" "DISPLAY MARKER CHARLIE DELTA 4712"; then
    tap 0 "$vmm: display: fbcon on bochs-drm shows the marker (OCR)"
  else tap 1 "$vmm: display: fbcon on bochs-drm shows the marker (OCR)" "OCR: $(cat "$shot.txt" 2>/dev/null | cut -c1-200)" "$why"; fi
  if grep -q '^DISPLAY-GOT2:typed fb 42' "$log"; then
    tap 0 "$vmm: display: VNC key events typed into tty0 (fbcon)"
  else tap 1 "$vmm: display: VNC key events typed into tty0 (fbcon)" "$(grep -m1 '^DISPLAY-GOT2' "$log")" "$why"; fi
  for what in text fb; do
    cap=$VSB_LOGDIR/$vmm-$what-vnc.ppm
    words="DISPLAY MARKER ALPHA BRAVO 4711"; [ $what = fb ] && words="DISPLAY MARKER CHARLIE DELTA 4712"
    if [[ " $DR_VNC " == *" $what "* ]] && ocr "$cap" "$words"; then
      tap 0 "$vmm: display: VNC client with password sees the $what console (OCR)"
    else tap 1 "$vmm: display: VNC client with password sees the $what console (OCR)" "captures: '$DR_VNC'; OCR: $(cut -c1-200 "$cap.txt" 2>/dev/null)" "$why"; fi
  done
  if [ "$DR_BADPW" = 1 ]; then tap 0 "$vmm: display: VNC wrong password refused"
  else tap 1 "$vmm: display: VNC wrong password refused" "$why"; fi
  # struct input_event (24 bytes): EV_ABS (3) ABS_X (0) 0x1234, then ABS_Y (1) 0x2345.
  tab=$(grep -m1 '^DISPLAY-TABLET[:-][^R]' "$log")
  if [[ $tab == *"03 00 00 00 34 12 00 00"* && $tab == *"03 00 01 00 45 23 00 00"* ]]; then
    tap 0 "$vmm: display: virtio-tablet absolute moves seen by the guest's evdev"
  else tap 1 "$vmm: display: virtio-tablet absolute moves seen by the guest's evdev" "${tab:-no DISPLAY-TABLET line}" "$why"; fi
  if grep -q '^VTEST-DONE' "$log" && [ "$DR_RC" = 0 ]; then tap 0 "$vmm: display: guest powered off, exit 0"
  else tap 1 "$vmm: display: guest powered off, exit 0" "$why"; fi
  echo "# $vmm display scenario: $((SECONDS - start)) s" >&2
  # Firmware boot with nothing to boot: SeaBIOS runs the VGA option ROM from the VGA's
  # ROM BAR (vgabios-stdvga.bin) and its banner and "No bootable device" stay on the
  # VGA text screen; screendump and a VNC client (no password) must both show them.
  start=$SECONDS fsock=$work/$vmm-fw.qmp fvnc=$work/$vmm-fw.vnc
  eval "$(python3 -I "$VSB_LIB/firmware_screen.py" --qmp "$fsock" \
    --out "$VSB_LOGDIR/$vmm-firmware" --words "SeaBIOS bootable" --timeout 240 \
    --vnc "unix:$fvnc" --capture "$VSB_BUILD/tests/vnc-capture" \
    -- "${VMM_CMD[@]}" -nodefaults -m 128 -vga std -bios bios-256k.bin \
    -vnc "unix:$fvnc" -qmp "unix:$fsock,server=on,wait=off")"
  fwhy="OCR: ${FS_TEXT:0:200}; VMM status $FS_RC after $((SECONDS - start))s; stderr: $(tail -n 2 "$VSB_LOGDIR/$vmm-firmware.log" | tr '\n' ' ' | cut -c1-200)"
  if [ "$FS_SHOT" = 1 ]; then
    tap 0 "$vmm: display: SeaBIOS banner on the VGA through its option ROM (screendump OCR)"
  else tap 1 "$vmm: display: SeaBIOS banner on the VGA through its option ROM (screendump OCR)" "$fwhy"; fi
  if [ "$FS_VNC" = 1 ]; then tap 0 "$vmm: display: SeaBIOS screen over VNC (OCR)"
  else tap 1 "$vmm: display: SeaBIOS screen over VNC (OCR)" "captured: $(cut -c1-200 "$VSB_LOGDIR/$vmm-firmware-vnc.ppm.txt" 2>/dev/null)" "$fwhy"; fi
  echo "# $vmm firmware screen: $((SECONDS - start)) s" >&2
done
exit
}
