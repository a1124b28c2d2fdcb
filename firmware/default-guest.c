/*
 * The embedded default guest: what `vireo` boots when no -kernel is given.
 *
 * It introduces Vireo, shows what the virtual machine looks like from inside (CPU, memory,
 * PCI bus 0, the clock, ACPI) and powers the machine off through ACPI.  Everything is polled
 * and bounded, and the whole run is a few hundred thousand instructions, so it finishes in
 * well under a second even where KVM emulates every guest instruction.
 */
#include "lib/io.h"
#include "lib/pvh.h"
#include "lib/print.h"
#include "lib/uart.h"
#include "lib/cmos.h"
#include "lib/pci.h"
#include "lib/acpi.h"
#include "lib/string.h"

#ifndef VIREO_VERSION
#define VIREO_VERSION "?"
#endif

static void banner(void)
{
    putstr("\n"
           " __     ___\n"
           " \\ \\   / (_)_ __ ___  ___\n"
           "  \\ \\ / /| | '__/ _ \\/ _ \\\n"
           "   \\ V / | | | |  __/ (_) |\n"
           "    \\_/  |_|_|  \\___|\\___/    version " VIREO_VERSION "\n"
           "\n"
           "Hello from inside a Vireo virtual machine.  Vireo is a QEMU-compatible x86-64\n"
           "machine emulator on Linux KVM; you started it without -kernel, so it booted this\n"
           "small built-in guest.  Here is the machine as the guest sees it:\n");
}

static void print_size(uint64_t bytes)
{
    uint64_t mib10 = (bytes * 10 + (1 << 19)) >> 20;
    if (bytes >= (1ull << 30) && !(bytes & ((1ull << 30) - 1)))
        kprintf("%lu GiB", bytes >> 30);
    else if (mib10 % 10)
        kprintf("%lu.%lu MiB", mib10 / 10, mib10 % 10);
    else
        kprintf("%lu MiB", mib10 / 10);
}

struct flag {
    uint8_t reg, bit;       /* reg: 0 = 1.EDX, 1 = 1.ECX, 2 = 7.EBX, 3 = 0x80000001.EDX */
    const char *name;
};

static const struct flag cpu_flags[] = {
    { 0, 0, "fpu" }, { 0, 4, "tsc" }, { 0, 5, "msr" }, { 0, 6, "pae" }, { 0, 9, "apic" },
    { 0, 26, "sse2" }, { 1, 0, "sse3" }, { 1, 9, "ssse3" }, { 1, 20, "sse4_2" },
    { 1, 21, "x2apic" }, { 1, 24, "tsc-deadline" }, { 1, 25, "aes" }, { 1, 26, "xsave" },
    { 1, 28, "avx" }, { 1, 30, "rdrand" }, { 2, 5, "avx2" }, { 2, 16, "avx512f" },
    { 3, 20, "nx" }, { 3, 26, "1g-pages" }, { 3, 27, "rdtscp" }, { 3, 29, "long-mode" },
    { 1, 5, "vmx" }, { 1, 31, "hypervisor" },
};

static void cpu_vendor(char out[13], uint32_t leaf)
{
    struct cpuid_regs r = cpuid(leaf, 0);
    /* Leaf 0 spells the vendor in EBX, EDX, ECX; the hypervisor leaf in EBX, ECX, EDX. */
    memcpy(out, &r.ebx, 4);
    memcpy(out + 4, leaf ? &r.ecx : &r.edx, 4);
    memcpy(out + 8, leaf ? &r.edx : &r.ecx, 4);
    out[12] = '\0';
}

static void show_boot(void)
{
    extern char pvh_entry32[];
    const char *cmd = pvh_cmdline();
    kprintf("\nBoot\n  entry     PVH, 32-bit at 0x%lx; hvm_start_info at 0x%lx\n",
            (uint64_t)(uintptr_t)pvh_entry32, (uint64_t)(uintptr_t)pvh_info);
    kprintf("  cmdline   %s%s%s\n", *cmd ? "\"" : "", *cmd ? cmd : "(none; pass one with -append)",
            *cmd ? "\"" : "");
}

static void show_cpu(void)
{
    char vendor[13], hv[13] = "", brand[49] = "";
    uint32_t max = cpuid(0, 0).eax, maxext = cpuid(0x80000000, 0).eax;
    struct cpuid_regs l1 = cpuid(1, 0);
    uint32_t regs[4] = { l1.edx, l1.ecx, max >= 7 ? cpuid(7, 0).ebx : 0,
                         maxext >= 0x80000001 ? cpuid(0x80000001, 0).edx : 0 };
    cpu_vendor(vendor, 0);
    if (l1.ecx & (1u << 31))
        cpu_vendor(hv, 0x40000000);
    for (uint32_t i = 0; maxext >= 0x80000004 && i < 3; i++) {
        struct cpuid_regs r = cpuid(0x80000002 + i, 0);
        memcpy(brand + 16 * i, &r, 16);
    }
    const char *b = brand;
    while (*b == ' ')
        b++;
    unsigned fam = (l1.eax >> 8) & 0xf, model = (l1.eax >> 4) & 0xf;
    if (fam == 0xf)
        fam += (l1.eax >> 20) & 0xff;
    if (fam == 6 || fam >= 0xf)
        model |= ((l1.eax >> 16) & 0xf) << 4;
    kprintf("\nCPU\n  vendor    %s%s%s%s\n", vendor, hv[0] ? " (hypervisor: " : "", hv,
            hv[0] ? ")" : "");
    kprintf("  model     %s\n", *b ? b : "(no brand string)");
    kprintf("  family    %u, model %u, stepping %u (CPUID 1: eax=0x%x)\n", fam, model,
            l1.eax & 0xf, l1.eax);
    putstr("  features ");
    for (unsigned i = 0; i < sizeof(cpu_flags) / sizeof(cpu_flags[0]); i++)
        if (regs[cpu_flags[i].reg] & (1u << cpu_flags[i].bit))
            kprintf(" %s", cpu_flags[i].name);
    unsigned apic_id = l1.ebx >> 24;
    if (acpi.madt)
        kprintf("\n  CPUs      %u (ACPI MADT); this is the boot CPU, APIC ID %u\n", acpi.cpus,
                apic_id);
    else
        kprintf("\n  CPUs      %u logical per package (CPUID); this is APIC ID %u\n",
                (l1.edx & (1u << 28)) ? (l1.ebx >> 16) & 0xff : 1, apic_id);
}

/* The top of RAM below 4 GiB: the end of the highest RAM entry, extended over reserved
 * entries that directly follow it (firmware such as SeaBIOS reserves the top of RAM for
 * itself; the CMOS size fields still count it). */
static uint64_t ram_top_below_4g(const struct hvm_memmap_table_entry *m, uint32_t n)
{
    uint64_t top;
    pvh_ram_total(&top);
    for (bool grew = true; grew;) {
        grew = false;
        for (uint32_t i = 0; i < n; i++)
            if (m[i].type != E820_RAM && m[i].addr == top && m[i].size &&
                top + m[i].size <= (1ull << 32)) {
                top += m[i].size;
                grew = true;
            }
    }
    return top;
}

static void show_memory(void)
{
    uint32_t n;
    const struct hvm_memmap_table_entry *m = pvh_memmap(&n);
    uint64_t usable = pvh_ram_total(NULL), top4g = ram_top_below_4g(m, n), above = 0;
    for (uint32_t i = 0; i < n; i++)
        if (m[i].type == E820_RAM && m[i].addr >= (1ull << 32))
            above += m[i].size;
    putstr("\nMemory\n  RAM       ");
    print_size(top4g + above);
    putstr(" (");
    print_size(usable);
    kprintf(" usable, in %u memory-map entries)\n", n);
    for (uint32_t i = 0; i < n; i++)
        kprintf("    %016lx-%016lx %s\n", m[i].addr, m[i].addr + m[i].size - 1,
                e820_type_name(m[i].type));
    uint64_t c_lo = cmos_ram_below_4g(), c_hi = cmos_ram_above_4g();
    putstr("  CMOS      ");
    print_size(c_lo);
    putstr(" below 4 GiB");
    if (c_hi) {
        putstr(" + ");
        print_size(c_hi);
        putstr(" above");
    }
    kprintf(": %s\n", !n ? "(no memory map to compare with)" :
            c_lo == top4g && c_hi == above ? "agrees with the memory map" :
            "DIFFERS from the memory map");
}

static void show_pci(void)
{
    putstr("\nPCI bus 0\n");
    unsigned found = 0;
    for (unsigned dev = 0; dev < 32; dev++) {
        unsigned nfn = 1;
        for (unsigned fn = 0; fn < nfn; fn++) {
            uint32_t id = pci_read32(0, dev, fn, PCI_VENDOR_ID);
            if ((id & 0xffff) == 0xffff)
                continue;
            uint32_t cls = pci_read32(0, dev, fn, PCI_REVISION);
            if (fn == 0 && (pci_read8(0, dev, 0, PCI_HEADER_TYPE) & 0x80))
                nfn = 8;
            const char *name = pci_device_name(id & 0xffff, id >> 16);
            kprintf("  00:%02x.%u  %04x:%04x  class %04x  %s\n", dev, fn, id & 0xffff,
                    id >> 16, cls >> 16, name ? name : pci_class_name(cls >> 24, cls >> 16));
            found++;
        }
    }
    if (!found)
        putstr("  (no devices answered: is PCI config mechanism #1 at 0xcf8 missing?)\n");
}

static void show_clock(void)
{
    struct rtc_time t;
    putstr("\nClock\n");
    if (!rtc_read_time(&t)) {
        putstr("  RTC       not answering (update-in-progress never cleared)\n");
        return;
    }
    kprintf("  RTC       %04u-%02u-%02u %02u:%02u:%02u (Unix time %lu, if the RTC runs on UTC)\n",
            t.year, t.month, t.day, t.hour, t.min, t.sec, rtc_to_epoch(&t));
}

static void show_acpi(bool ok)
{
    putstr("\nACPI\n");
    if (!ok) {
        putstr("  no RSDP found (neither in start_info nor in 0xe0000-0xfffff)\n");
        return;
    }
    kprintf("  RSDP      at 0x%lx, revision %u, OEM \"%.6s\"\n", (uint64_t)(uintptr_t)acpi.rsdp,
            acpi.rsdp->revision, acpi.rsdp->oem_id);
    kprintf("  %s     ", acpi.root_is_xsdt ? "XSDT" : "RSDT");
    for (unsigned i = 0, n = acpi_table_count(); i < n; i++) {
        const struct acpi_header *h = acpi_table(i);
        if (h)
            kprintf(" %c%c%c%c", h->signature[0], h->signature[1], h->signature[2],
                    h->signature[3]);
    }
    kprintf("\n  power     PM1a_CNT at port 0x%x, ", acpi.pm1a_cnt);
    if (acpi.have_s5)
        kprintf("\\_S5 sleep type %u\n", acpi.slp_typa);
    else
        putstr("no \\_S5 object in the DSDT\n");
}

int guest_main(void)
{
    bool acpi_ok = acpi_init();
    banner();
    if (!pvh_valid())
        putstr("\n(warning: no valid PVH start_info: memory map and command line unknown)\n");
    show_boot();
    show_cpu();
    show_memory();
    show_pci();
    show_clock();
    show_acpi(acpi_ok);
    putstr("\nTo boot your own system:  vireo -kernel bzImage -append console=ttyS0 "
           "-nographic -m 1G\n"
           "All done: powering off through ACPI.\n");
    uart_flush();
    if (!acpi_poweroff())
        putstr("Cannot power off: no ACPI PM1a_CNT register or \\_S5 object. Halting.\n");
    else
        putstr("The ACPI power-off request had no effect. Halting.\n");
    uart_flush();
    cpu_halt_forever();
}
