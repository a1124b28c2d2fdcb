# The migration tests' workload (cases/80-migration.sh): /bin/migload on /dev/vda,
# dirtying vtest.dirty MiB at vtest.rate MiB/s, until a 'q' on the console.
. /lib/vtest.sh
if [ ! -b /dev/vda ]; then
  vt_fail "migrate: no /dev/vda"
else
  /bin/migload /dev/vda "${VT_dirty:-16}" "${VT_rate:-4}"
fi
vt_done
