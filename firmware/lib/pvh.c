#include "pvh.h"
#include "string.h"
#include "uart.h"
#include "trap.h"

const struct hvm_start_info *pvh_info;

/* Called by entry.S in long mode with RDI = the start_info physical address (EBX at entry). */
void guest_entry(uint64_t start_info);

void guest_entry(uint64_t start_info)
{
    pvh_info = (const struct hvm_start_info *)(uintptr_t)start_info;
    uart_init();
    trap_init();
    guest_main();
    cpu_halt_forever();
}

bool pvh_valid(void)
{
    return pvh_info && pvh_info->magic == HVM_START_MAGIC;
}

const char *pvh_cmdline(void)
{
    if (!pvh_valid() || !pvh_info->cmdline_paddr)
        return "";
    return (const char *)(uintptr_t)pvh_info->cmdline_paddr;
}

bool pvh_cmdline_get(const char *key, char *buf, size_t size)
{
    const char *p = pvh_cmdline();
    size_t klen = strlen(key);
    while (*p) {
        while (*p == ' ')
            p++;
        if (!strncmp(p, key, klen) && p[klen] == '=') {
            size_t n = 0;
            for (p += klen + 1; *p && *p != ' ' && n + 1 < size; p++)
                buf[n++] = *p;
            if (size)
                buf[n] = '\0';
            return true;
        }
        while (*p && *p != ' ')
            p++;
    }
    return false;
}

uint64_t pvh_cmdline_u64(const char *key, uint64_t def)
{
    char buf[32];
    if (!pvh_cmdline_get(key, buf, sizeof(buf)) || !buf[0])
        return def;
    return str_to_u64(buf, NULL);
}

const struct hvm_memmap_table_entry *pvh_memmap(uint32_t *entries)
{
    *entries = 0;
    if (!pvh_valid() || pvh_info->version < 1 || !pvh_info->memmap_paddr)
        return NULL;
    *entries = pvh_info->memmap_entries;
    return (const struct hvm_memmap_table_entry *)(uintptr_t)pvh_info->memmap_paddr;
}

const char *e820_type_name(uint32_t type)
{
    static const char *const names[] = {
        "?", "RAM", "reserved", "ACPI data", "ACPI NVS", "unusable", "?", "persistent",
    };
    return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

uint64_t pvh_ram_total(uint64_t *top_below_4g)
{
    uint32_t n;
    const struct hvm_memmap_table_entry *m = pvh_memmap(&n);
    uint64_t total = 0, top = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (m[i].type != E820_RAM)
            continue;
        total += m[i].size;
        uint64_t end = m[i].addr + m[i].size;
        if (m[i].addr < (1ull << 32) && end > top)
            top = end > (1ull << 32) ? (1ull << 32) : end;
    }
    if (top_below_4g)
        *top_below_4g = top;
    return total;
}

bool pvh_is_ram(uint64_t addr, uint64_t len)
{
    uint32_t n;
    const struct hvm_memmap_table_entry *m = pvh_memmap(&n);
    for (uint32_t i = 0; i < n; i++)
        if (m[i].type == E820_RAM && addr >= m[i].addr && addr + len <= m[i].addr + m[i].size)
            return true;
    return false;
}
