/* Loader: bzImage header handling (synthetic and the real Debian kernel), PVH ELF
 * loading with start_info, page tables, and clear errors for bad input. */
#include "vireo/loader.h"
#include "vireo/machine.h"
#include <elf.h>
#include <string.h>

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static uint8_t *fake_bzimage(size_t *len, uint16_t version, uint16_t xlf)
{
    size_t setup = 5 * 512, kernel = 64 * 1024;
    uint8_t *b = g_malloc0(setup + kernel);
    b[0x1f1] = 4;
    b[0x1fe] = 0x55; b[0x1ff] = 0xaa;
    b[0x201] = 0x6a;                        /* jump: header ends at 0x26c */
    memcpy(b + 0x202, "HdrS", 4);
    b[0x206] = version; b[0x207] = version >> 8;
    b[0x211] = 0x01;                        /* LOADED_HIGH */
    *(uint32_t *)(b + 0x22c) = 0x7fffffff;
    *(uint32_t *)(b + 0x230) = 0x200000;
    b[0x234] = 1;
    *(uint16_t *)(b + 0x236) = xlf;
    *(uint32_t *)(b + 0x238) = 2047;
    *(uint64_t *)(b + 0x258) = 0x1000000;
    *(uint32_t *)(b + 0x260) = 0x200000;
    memset(b + setup, 0xcc, kernel);
    *len = setup + kernel;
    return b;
}

static Machine *test_machine(uint64_t ram)
{
    Machine *m = machine_new_test(ram);
    machine_e820_add(m, 0x100000, ram - 0x100000, E820_RAM);
    machine_e820_add(m, 0, 0x9fc00, E820_RAM);
    return m;
}

static void test_bzimage(void)
{
    size_t len;
    g_autofree uint8_t *img = fake_bzimage(&len, 0x20f, 1);
    Machine *m = test_machine(64 << 20);
    m->acpi_rsdp = 0xe0000;
    uint8_t initrd[5000];
    memset(initrd, 0x5a, sizeof(initrd));
    BootInfo bi;
    GError *err = NULL;
    g_assert_true(loader_load(m, "k", img, len, initrd, sizeof(initrd), "console=ttyS0", &bi, &err));
    g_assert_no_error(err);
    g_assert_cmpint(bi.mode, ==, BOOT_LINUX64);
    g_assert_cmphex(bi.entry, ==, 0x1000200);
    g_assert_cmphex(bi.arg, ==, BOOT_ZERO_PAGE_ADDR);
    const uint8_t *zp = m->ram + BOOT_ZERO_PAGE_ADDR;
    g_assert_cmphex(zp[0x210], ==, 0xff);                  /* type_of_loader */
    g_assert_cmphex(zp[0x211] & 0x81, ==, 0x81);           /* LOADED_HIGH|CAN_USE_HEAP */
    g_assert_cmphex(rd32(zp + 0x228), ==, BOOT_CMDLINE_ADDR);
    g_assert_cmpstr((char *)m->ram + BOOT_CMDLINE_ADDR, ==, "console=ttyS0");
    g_assert_cmphex(rd32(zp + 0x218), ==, bi.initrd_start);
    g_assert_cmpuint(rd32(zp + 0x21c), ==, sizeof(initrd));
    g_assert_cmpuint(bi.initrd_start % 4096, ==, 0);
    g_assert_cmpuint(bi.initrd_start + sizeof(initrd), <=, 64 << 20);
    g_assert_cmpmem(m->ram + bi.initrd_start, sizeof(initrd), initrd, sizeof(initrd));
    g_assert_cmpuint(zp[0x1e8], ==, 2);                    /* e820 entries */
    g_assert_cmphex(*(uint64_t *)(zp + 0x70), ==, 0xe0000); /* acpi_rsdp_addr */
    g_assert_cmphex(m->ram[0x1000000], ==, 0xcc);
    /* identity map: PML4[0] -> PDPT, PD0[1] maps 2 MiB */
    g_assert_cmphex(*(uint64_t *)(m->ram + BOOT_PML4_ADDR), ==, (BOOT_PML4_ADDR + 0x1000) | 3);
    g_assert_cmphex(*(uint64_t *)(m->ram + BOOT_PML4_ADDR + 0x2008), ==, 0x200083);
    machine_free(m);
}

static void test_bzimage_errors(void)
{
    size_t len;
    GError *err = NULL;
    BootInfo bi;
    Machine *m = test_machine(64 << 20);
    g_autofree uint8_t *old = fake_bzimage(&len, 0x205, 1);
    g_assert_false(loader_load(m, "old", old, len, NULL, 0, NULL, &bi, &err));
    g_assert_cmpstr(err->message, ==, "-kernel old: boot protocol 2.05 is too old (need 2.06 or later, bzImage)");
    g_clear_error(&err);
    g_autofree uint8_t *k32 = fake_bzimage(&len, 0x20f, 0);
    g_assert_false(loader_load(m, "k32", k32, len, NULL, 0, NULL, &bi, &err));
    g_assert_nonnull(strstr(err->message, "no 64-bit entry point"));
    g_clear_error(&err);
    static const uint8_t junk[1000] = { 1, 2, 3 };
    g_assert_false(loader_load(m, "junk", junk, sizeof(junk), NULL, 0, NULL, &bi, &err));
    g_assert_cmpstr(err->message, ==, "-kernel junk: not a Linux bzImage (no boot-protocol 'HdrS' header)");
    g_clear_error(&err);
    g_autofree uint8_t *ok = fake_bzimage(&len, 0x20f, 1);
    g_autofree uint8_t *big = g_malloc0(60 << 20);
    g_assert_false(loader_load(m, "k", ok, len, big, 60 << 20, NULL, &bi, &err));
    g_assert_nonnull(strstr(err->message, "-initrd: initrd of"));
    g_clear_error(&err);
    char longcmd[4000];
    memset(longcmd, 'a', sizeof(longcmd) - 1);
    longcmd[sizeof(longcmd) - 1] = 0;
    g_assert_false(loader_load(m, "k", ok, len, NULL, 0, longcmd, &bi, &err));
    g_assert_nonnull(strstr(err->message, "exceeds the kernel's limit of 2047"));
    g_clear_error(&err);
    machine_free(m);
    /* Too little RAM for the kernel at 16 MiB. */
    m = test_machine(8 << 20);
    g_assert_false(loader_load(m, "k", ok, len, NULL, 0, NULL, &bi, &err));
    g_assert_nonnull(strstr(err->message, "does not fit in guest RAM"));
    g_clear_error(&err);
    machine_free(m);
}

/* A minimal ELF64 with one PT_LOAD at 1 MiB and a PT_NOTE carrying the PVH entry. */
static uint8_t *fake_pvh_elf(size_t *len, bool with_note, uint64_t paddr)
{
    size_t sz = 0x2000;
    uint8_t *b = g_malloc0(sz);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_X86_64;
    eh->e_phoff = sizeof(*eh);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 2;
    Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(*eh));
    ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000, .p_paddr = paddr,
                          .p_filesz = 0x100, .p_memsz = 0x3000 };
    ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x800, .p_filesz = 20 };
    uint32_t *note = (uint32_t *)(b + 0x800);
    note[0] = 4; note[1] = 4; note[2] = with_note ? 18 : 5;
    memcpy(&note[3], "Xen", 4);
    note[4] = 0x100010;
    memset(b + 0x1000, 0x90, 0x100);
    *len = sz;
    return b;
}

static void test_pvh(void)
{
    size_t len;
    g_autofree uint8_t *elf = fake_pvh_elf(&len, true, 0x100000);
    Machine *m = test_machine(32 << 20);
    m->acpi_rsdp = 0xe0000;
    BootInfo bi;
    uint8_t initrd[100] = { 7 };
    GError *err = NULL;
    memset(m->ram + 0x100100, 0xee, 0x100);
    g_assert_true(loader_load(m, "g", elf, len, initrd, sizeof(initrd), "hello", &bi, &err));
    g_assert_no_error(err);
    g_assert_cmpint(bi.mode, ==, BOOT_PVH32);
    g_assert_cmphex(bi.entry, ==, 0x100010);
    g_assert_cmphex(m->ram[0x100000], ==, 0x90);
    g_assert_cmphex(m->ram[0x100100], ==, 0);             /* bss zeroed */
    const uint8_t *si = m->ram + BOOT_START_INFO_ADDR;
    g_assert_cmphex(rd32(si), ==, 0x336ec578);
    g_assert_cmpuint(rd32(si + 4), ==, 1);
    g_assert_cmpuint(rd32(si + 12), ==, 1);                /* nr_modules */
    g_assert_cmpstr((char *)m->ram + rd32(si + 24), ==, "hello");
    g_assert_cmphex(rd32(si + 32), ==, 0xe0000);
    g_assert_cmpuint(rd32(si + 48), ==, 2);                /* memmap entries */
    const uint8_t *mm = m->ram + rd32(si + 40);
    g_assert_cmphex(rd32(mm), ==, 0);                       /* sorted: low RAM first */
    g_assert_cmphex(rd32(mm + 24), ==, 0x100000);
    const uint8_t *mod = m->ram + rd32(si + 16);
    g_assert_cmphex(rd32(mod), ==, bi.initrd_start);
    g_assert_cmpuint(rd32(mod + 8), ==, 100);
    machine_free(m);
}

static void test_pvh_errors(void)
{
    size_t len;
    BootInfo bi;
    GError *err = NULL;
    Machine *m = test_machine(32 << 20);
    g_autofree uint8_t *nonote = fake_pvh_elf(&len, false, 0x100000);
    g_assert_false(loader_load(m, "e", nonote, len, NULL, 0, NULL, &bi, &err));
    g_assert_nonnull(strstr(err->message, "no PVH entry note"));
    g_clear_error(&err);
    g_autofree uint8_t *outside = fake_pvh_elf(&len, true, 0x7ffff000);
    g_assert_false(loader_load(m, "e", outside, len, NULL, 0, NULL, &bi, &err));
    g_assert_nonnull(strstr(err->message, "ELF segment"));
    g_clear_error(&err);
    g_autofree uint8_t *trunc = fake_pvh_elf(&len, true, 0x100000);
    ((Elf64_Ehdr *)trunc)->e_phnum = 60000;
    g_assert_false(loader_load(m, "e", trunc, len, NULL, 0, NULL, &bi, &err));
    g_assert_nonnull(strstr(err->message, "malformed ELF"));
    g_clear_error(&err);
    machine_free(m);
}

/* The real Debian kernel that the sandbox tests boot (downloaded by
 * tests/sandbox/setup.sh); skipped when it is not there. */
static void test_debian_bzimage(void)
{
    const char *path = g_getenv("VIREO_TEST_KERNEL");
    g_autofree char *env = NULL, *found = NULL;
    if (!path && g_file_get_contents("/var/cache/vireo-sandbox/kernel.env", &env, NULL, NULL)) {
        char *p = strstr(env, "VMLINUZ=");
        if (p)
            found = g_strndup(p + 8, strcspn(p + 8, "\n"));
        path = found;
    }
    gchar *img;
    gsize len;
    if (!path || !g_file_get_contents(path, &img, &len, NULL)) {
        g_test_skip("Debian kernel not downloaded (run tests/sandbox/setup.sh)");
        return;
    }
    BzImageInfo h;
    GError *err = NULL;
    g_assert_true(bzimage_parse((uint8_t *)img, len, &h, &err));
    g_assert_cmphex(h.version, >=, 0x20f);
    g_assert_true(h.xloadflags & 1);
    g_assert_true(h.relocatable);
    g_assert_cmphex(h.pref_address, ==, 0x1000000);
    g_assert_cmpuint(h.init_size, >, h.kernel_size);
    g_assert_cmpuint(h.payload_length, >, 0);
    /* With the cache off (test machines default to kernel-cache=off): the compressed
     * kernel at pref_address, entry + 0x200. The cache: tests/unit/test-kernel-cache.c. */
    Machine *m = test_machine(256 << 20);
    BootInfo bi;
    g_assert_true(loader_load(m, path, (uint8_t *)img, len, NULL, 0, "console=ttyS0", &bi, &err));
    g_assert_no_error(err);
    g_assert_cmphex(bi.entry, ==, 0x1000200);
    g_assert_cmpmem(m->ram + 0x1000000, 4096, img + h.setup_size, 4096);
    machine_free(m);
    g_free(img);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/loader/bzimage", test_bzimage);
    g_test_add_func("/loader/bzimage-errors", test_bzimage_errors);
    g_test_add_func("/loader/pvh", test_pvh);
    g_test_add_func("/loader/pvh-errors", test_pvh_errors);
    g_test_add_func("/loader/debian-bzimage", test_debian_bzimage);
    return g_test_run();
}
