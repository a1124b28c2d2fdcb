#!/usr/bin/env bash
# libvirt-ns.sh WORKDIR CMD ARGS...: runs CMD with a private libvirtd (Debian 12's
# libvirt 9.0, qemu:///system) started here in the foreground, as root, inside a mount
# namespace of its own: /var, /run/libvirt, /etc/libvirt, /etc/passwd and /etc/group
# are private copies under WORKDIR, so nothing outside WORKDIR changes and nothing of a
# host libvirt is used. libvirt's log (QMP traffic of the probe and of domains) is
# written to the private /var (tmpfs: in the sandbox every line written to the 9p share
# cost 5-25 ms of libvirtd's time, which the probe's timing counted), named to CMD as
# $LIBVIRTD_LOG, and copied to WORKDIR/libvirtd.log at the end. libvirtd is stopped (by
# its pid) when CMD ends; CMD's status is the script's. Re-executes itself under
# `unshare -m`.
set -u
W=$1; shift
if [ "${LIBVIRT_NS_INSIDE:-}" != 1 ]; then
  mkdir -p "$W"
  LIBVIRT_NS_INSIDE=1 exec unshare -m --propagation private "$0" "$W" "$@"
fi
set -e
mkdir -p "$W/etc"
# tmpfs, not WORKDIR: libvirt's sockets must not live on a 9p share (the sandbox's).
mount -t tmpfs tmpfs /var
mkdir -p /var/lib/libvirt /var/cache/libvirt /var/log/libvirt /var/tmp /var/lib/libvirt/qemu
ln -sfn /run /var/run
mkdir -p /run/libvirt
mount -t tmpfs tmpfs /run/libvirt
cp -r /etc/libvirt/. "$W/etc/"
cat > "$W/etc/libvirtd.conf" <<EOC
log_filters="1:qemu.qemu_monitor 1:qemu.qemu_process 1:qemu.qemu_capabilities 1:qemu.qemu_command 1:util.process 3:*"
log_outputs="1:file:/var/log/libvirt/libvirtd.log"
EOC
# No libvirt-qemu user here (that is libvirt-daemon-system's): the emulator runs as
# root, without a security driver, as this test's own process tree.
# The emulator's stdout/stderr go to /var/log/libvirt/qemu/DOMAIN.log directly (no
# virtlogd daemon). No per-domain mount namespace (namespaces = []): libvirt's private
# /dev for the emulator could not create a pty here, and the domain's files (under the
# sandbox's 9p share) were not found inside it.
printf 'user = "root"\ngroup = "root"\nsecurity_driver = "none"\ndynamic_ownership = 0\nstdio_handler = "file"\nnamespaces = []\n' \
  > "$W/etc/qemu.conf"
mount --bind "$W/etc" /etc/libvirt
cp /etc/passwd "$W/passwd"; cp /etc/group "$W/group"
grep -q '^libvirt-qemu:' "$W/passwd" ||
  echo 'libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin' >> "$W/passwd"
grep -q '^libvirt-qemu:' "$W/group" || echo 'libvirt-qemu:x:64055:' >> "$W/group"
mount --bind "$W/passwd" /etc/passwd
mount --bind "$W/group" /etc/group
set +e
/usr/sbin/libvirtd -f /etc/libvirt/libvirtd.conf > "$W/libvirtd.out" 2>&1 &
LV=$!
for _ in $(seq 200); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.1; done
export LIBVIRT_DEFAULT_URI=qemu:///system LIBVIRTD_LOG=/var/log/libvirt/libvirtd.log
"$@"
rc=$?
kill "$LV" 2>/dev/null
wait "$LV" 2>/dev/null
cp "$LIBVIRTD_LOG" "$W/libvirtd.log"
exit $rc
