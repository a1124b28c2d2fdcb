# Where the kernel runs (issue 13 item 9d): its virtual base (_text) and physical
# "Kernel code" start, and whether the kernel thinks KASLR is on. Reported, not judged:
# the case compares boots.
. /lib/vtest.sh
text=$(grep -m1 ' _text$' /proc/kallsyms | cut -d' ' -f1)
code=$(grep -m1 'Kernel code' /proc/iomem | cut -d- -f1 | tr -d ' ')
echo "VTEST-KASLR text=$text phys=$code"
vt_done
poweroff -f
