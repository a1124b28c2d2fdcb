# Helpers for sandbox case scripts (bash; sourced): boot an inner guest under a VMM.
# Needs the driver's environment (VSB_VMLINUZ, VSB_INITRD, VSB_BUILD, VSB_WORK, VSB_LOGDIR).
VSB_LIB=${VSB_LIB:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

# vsb_vmm_cmd NAME: sets the array VMM_CMD to the VMM binary and its standard
# machine options (-machine pc -accel kvm -cpu host -nographic -nic none: no default
# NIC; a case adds its own). NAME: vireo | qemu.
# Returns 1 (with VMM_ERR set) when the VMM is not usable.
vsb_vmm_cmd() {
  VMM_ERR=
  case $1 in
    vireo)
      local v=${VIREO:-$VSB_BUILD/vireo}
      if [ ! -x "$v" ]; then VMM_ERR="$v does not exist (not built)"; return 1; fi
      VMM_CMD=("$v" -machine pc -accel kvm -cpu host -nographic -nic none) ;;
    qemu)
      # -nic none: no default e1000 (and its iPXE ROM); the same for both VMMs.
      VMM_CMD=(qemu-system-x86_64 -machine pc -accel kvm -cpu host -nographic -nic none) ;;
    *) VMM_ERR="unknown VMM $1"; return 1 ;;
  esac
}

# vsb_boot LOG [vmrun options] -- VMM ARGS...: runs lib/vmrun.py; its results become
# shell variables (VM_RC, VM_REASON, VM_MARKER_COUNT, ...). Console in LOG.
vsb_boot() {
  local log=$1; shift
  local out
  out=$(python3 -I "$VSB_LIB/vmrun.py" --log "$log" "$@") || { VM_REASON=vmrun-failed; VM_RC=-1; return; }
  eval "$out"
}

# vsb_why LOG: one line describing how a boot went (for not-ok diagnostics).
vsb_why() {
  local log=$1
  echo "VMM ended: $VM_REASON, status $VM_RC after ${VM_ELAPSED}s;" \
       "console: $(wc -l < "$log") lines, last: $(grep -v '^$' "$log" | tail -n1 | cut -c1-100)"
  if [ -s "$log.err" ]; then echo "VMM stderr: $(tail -n 3 "$log.err" | tr '\n' ' ' | cut -c1-300)"; fi
}

# One TAP line for a case: tap 0|1 NAME [diagnostic lines, each printed as '# ...'].
tap() {  # tap 0|1 NAME [diagnostic lines...]
  local st=$1 name=$2; shift 2
  if [ "$st" = 0 ]; then echo "ok - $name"; else echo "not ok - $name"; fi
  local d; for d in "$@"; do [ -n "$d" ] && echo "# $d"; done
}
