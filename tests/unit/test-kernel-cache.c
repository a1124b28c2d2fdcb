/* The decompressed-kernel cache (issue 13 item 9): (a) a private directory, entries
 * opened without following links; (b) a key over the payload's content; (c) entries
 * validated, written atomically, bounded with LRU eviction; (d) KASLR kept: a cached
 * kernel is placed at random and relocated as the kernel's decompressor does. */
#include "vireo/loader.h"
#include "vireo/machine.h"
#include "../../hw/i386/kernel-cache.h"
#include "../../hw/i386/kernel-unpack.h"
#include "../../hw/i386/vmlinux.h"
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>
#include <zlib.h>

#define BASE      0x1000000ULL
#define KMAP      0xffffffff80000000ULL
#define INIT_SIZE 0x400000u
#define P64 0x100   /* offsets in the first segment of values the tables relocate */
#define P32 0x200
#define PINV 0x300

static char *tmpdir;
static uint64_t boot_ram = 64 << 20;

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* A vmlinux: two PT_LOADs at BASE (0x2000 bytes) and BASE + 2 MiB (0x1000 + bss), and,
 * with @relocs, relocation tables for one value of each kind. @seed varies the bytes. */
static GByteArray *fake_vmlinux(bool relocs, uint32_t seed)
{
    GByteArray *b = g_byte_array_new();
    g_byte_array_set_size(b, 0x4000);
    GRand *r = g_rand_new_with_seed(seed);
    for (guint i = 0; i < b->len; i++)
        b->data[i] = g_rand_int(r);
    g_rand_free(r);
    memset(b->data, 0, 0x1000);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)b->data;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_X86_64;
    eh->e_entry = BASE;
    eh->e_phoff = sizeof(*eh);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 2;
    Elf64_Phdr *ph = (Elf64_Phdr *)(b->data + sizeof(*eh));
    ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000, .p_vaddr = KMAP + BASE,
                          .p_paddr = BASE, .p_filesz = 0x2000, .p_memsz = 0x2000 };
    ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x3000, .p_paddr = BASE + 0x200000,
                          .p_vaddr = KMAP + BASE + 0x200000, .p_filesz = 0x1000,
                          .p_memsz = 0x3000 };
    uint8_t *s0 = b->data + 0x1000;
    uint64_t v64 = KMAP + BASE + 0x1234;
    uint32_t v32 = (uint32_t)(KMAP + BASE + 0x800), vinv = 0x00400000;
    memcpy(s0 + P64, &v64, 8);
    memcpy(s0 + P32, &v32, 4);
    memcpy(s0 + PINV, &vinv, 4);
    if (relocs) {   /* forward order: 0, 64-bit, 0, inverse 32-bit, 0, 32-bit */
        int32_t t[] = { 0, (int32_t)(uint32_t)(KMAP + BASE + P64), 0,
                        (int32_t)(uint32_t)(KMAP + BASE + PINV), 0,
                        (int32_t)(uint32_t)(KMAP + BASE + P32) };
        g_byte_array_append(b, (const guint8 *)t, sizeof(t));
    }
    return b;
}

static GByteArray *gzip(const uint8_t *d, size_t n)
{
    z_stream z = { 0 };
    GByteArray *out = g_byte_array_new();
    g_byte_array_set_size(out, compressBound(n) + 64);
    g_assert_cmpint(deflateInit2(&z, 0, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), ==, Z_OK);
    z.next_in = (Bytef *)d;
    z.avail_in = n;
    z.next_out = out->data;
    z.avail_out = out->len;
    g_assert_cmpint(deflate(&z, Z_FINISH), ==, Z_STREAM_END);
    g_byte_array_set_size(out, z.total_out);
    deflateEnd(&z);
    return out;      /* gzip's trailer (ISIZE) is the size, as the kernel build appends */
}

/* A bzImage (protocol 2.15) whose payload is @vmlinux, gzip-compressed. */
static GByteArray *fake_bzimage(const GByteArray *vmlinux)
{
    g_autoptr(GByteArray) z = gzip(vmlinux->data, vmlinux->len);
    size_t setup = 5 * 512, kernel = 0x400 + z->len;
    GByteArray *b = g_byte_array_new();
    g_byte_array_set_size(b, setup + kernel);
    uint8_t *p = b->data;
    memset(p, 0, b->len);
    p[0x1f1] = 4;
    p[0x1fe] = 0x55; p[0x1ff] = 0xaa;
    p[0x201] = 0x6a;
    memcpy(p + 0x202, "HdrS", 4);
    p[0x206] = 0x0f; p[0x207] = 0x02;
    p[0x211] = 0x01;
    *(uint32_t *)(p + 0x22c) = 0x7fffffff;
    *(uint32_t *)(p + 0x230) = 0x200000;
    p[0x234] = 1;
    *(uint16_t *)(p + 0x236) = 1;
    *(uint32_t *)(p + 0x238) = 2047;
    *(uint32_t *)(p + 0x248) = 0x400;               /* payload_offset */
    *(uint32_t *)(p + 0x24c) = z->len;               /* payload_length */
    *(uint64_t *)(p + 0x258) = BASE;
    *(uint32_t *)(p + 0x260) = INIT_SIZE;
    memset(p + setup, 0xcc, 0x400);
    memcpy(p + setup + 0x400, z->data, z->len);
    return b;
}

static Machine *test_machine(uint64_t ram, bool cache)
{
    Machine *m = machine_new_test(ram);
    machine_e820_add(m, 0x100000, ram - 0x100000, E820_RAM);
    machine_e820_add(m, 0, 0x9fc00, E820_RAM);
    m->opts.kernel_cache = cache;
    return m;
}

/* Boots @img from file @path once; returns the entry point (and the Machine in *mp). */
static uint64_t boot(const char *path, const GByteArray *img, const char *cmdline, Machine **mp)
{
    Machine *m = test_machine(boot_ram, true);
    BootInfo bi;
    GError *err = NULL;
    g_assert_true(loader_load(m, path, img->data, img->len, NULL, 0, cmdline, &bi, &err));
    g_assert_no_error(err);
    loader_finish(m, true);                     /* lets a background fill complete */
    if (mp)
        *mp = m;
    else
        machine_free(m);
    return bi.entry;
}

static char *kdir(void)
{
    return g_build_filename(tmpdir, "vireo", "kernels", NULL);
}

static void wipe_cache(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s/vireo'", tmpdir);
    g_assert_cmpint(system(cmd), ==, 0);
}

static char *write_kernel(const char *name, const GByteArray *img)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    g_assert_true(g_file_set_contents(path, (const char *)img->data, img->len, NULL));
    return path;
}

static int count_entries(void)
{
    g_autofree char *d = kdir();
    GDir *dir = g_dir_open(d, 0, NULL);
    int n = 0;
    for (const char *f; dir && (f = g_dir_read_name(dir));)
        n++;
    if (dir)
        g_dir_close(dir);
    return n;
}

/* A miss boots the bzImage (entry + 0x200) and fills; the next boot uses the entry. */
static void test_miss_then_hit(void)
{
    wipe_cache();
    g_autoptr(GByteArray) vm = fake_vmlinux(true, 1);
    g_autoptr(GByteArray) img = fake_bzimage(vm);
    g_autofree char *path = write_kernel("k1", img);
    g_assert_cmphex(boot(path, img, "nokaslr", NULL), ==, BASE + 0x200);
    g_assert_cmpint(count_entries(), ==, 1);
    Machine *m;
    g_assert_cmphex(boot(path, img, "nokaslr", &m), ==, BASE);
    g_assert_cmpmem(m->ram + BASE, 0x2000, vm->data + 0x1000, 0x2000);
    g_assert_cmphex(m->ram[0x7000 + 0x211] & KASLR_FLAG, ==, 0);
    machine_free(m);
    /* kernel-cache=off: neither used nor filled. */
    wipe_cache();
    m = test_machine(64 << 20, false);
    BootInfo bi;
    g_assert_true(loader_load(m, path, img->data, img->len, NULL, 0, NULL, &bi, NULL));
    loader_finish(m, true);
    g_assert_cmphex(bi.entry, ==, BASE + 0x200);
    g_assert_cmpint(count_entries(), ==, 0);
    machine_free(m);
}

/* (a) The directory must be ours, private, and not a link; entries are not followed. */
static void test_private_dir(void)
{
    wipe_cache();
    g_autofree char *d = kdir();
    GError *err = NULL;
    int fd = kernel_cache_open_dir(d, &err);
    g_assert_no_error(err);
    struct stat st;
    g_assert_cmpint(fstat(fd, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 07777, ==, 0700);
    close(fd);

    g_assert_cmpint(chmod(d, 0777), ==, 0);          /* shared: others could plant */
    g_assert_cmpint(kernel_cache_open_dir(d, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "mode 0777"));
    g_clear_error(&err);
    g_assert_cmpint(chmod(d, 0700), ==, 0);
    if (geteuid() == 0) {                            /* someone else's directory */
        g_assert_cmpint(chown(d, 65534, 65534), ==, 0);
        g_assert_cmpint(kernel_cache_open_dir(d, &err), ==, -1);
        g_assert_nonnull(strstr(err->message, "owned by uid 65534"));
        g_clear_error(&err);
        g_assert_cmpint(chown(d, 0, 0), ==, 0);
    }
    /* A symbolic link to a directory (even a private one) is not used. */
    g_autofree char *real = g_build_filename(tmpdir, "elsewhere", NULL);
    g_assert_cmpint(g_mkdir_with_parents(real, 0700), ==, 0);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s' && ln -s '%s' '%s'", d, real, d);
    g_assert_cmpint(system(cmd), ==, 0);
    g_assert_cmpint(kernel_cache_open_dir(d, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "symbolic link"));
    g_clear_error(&err);
    g_assert_cmpint(unlink(d), ==, 0);

    /* Entries: a symlink to a planted file, or a file with two links, is no hit. */
    g_autoptr(GByteArray) vm = fake_vmlinux(true, 2);
    g_autoptr(GByteArray) img = fake_bzimage(vm);
    g_autofree char *path = write_kernel("k2", img);
    const uint8_t *pay = img->data + 5 * 512 + 0x400;
    size_t plen = img->len - 5 * 512 - 0x400;
    char key[KCACHE_KEY_LEN + 1];
    kernel_cache_key(pay, plen, key);
    fd = kernel_cache_open_dir(d, &err);
    g_assert_cmpint(fd, >=, 0);
    g_autofree char *planted = g_build_filename(tmpdir, "planted", NULL);
    g_assert_true(g_file_set_contents(planted, (const char *)vm->data, vm->len, NULL));
    g_autofree char *entry = g_strdup_printf("%s/%s.vmlinux", d, key);
    g_assert_cmpint(symlink(planted, entry), ==, 0);
    g_assert_null(kernel_cache_lookup(fd, key, vm->len));
    g_assert_cmphex(boot(path, img, "nokaslr", NULL), ==, BASE + 0x200);  /* refilled */
    g_assert_cmpint(unlink(entry), ==, 0);
    g_assert_cmpint(link(planted, entry), ==, 0);
    g_assert_null(kernel_cache_lookup(fd, key, vm->len));
    g_assert_cmpint(unlink(entry), ==, 0);
    g_assert_true(g_file_set_contents(entry, (const char *)vm->data, vm->len, NULL));
    g_assert_cmpint(chmod(entry, 0600), ==, 0);
    uint8_t *p = kernel_cache_lookup(fd, key, vm->len);
    g_assert_nonnull(p);                             /* our own private file is a hit */
    kernel_cache_release(p, vm->len);
    close(fd);
}

/* (b) The key is the content: a kernel rewritten in place with the same size and the
 * old mtime does not boot the old entry. */
static void test_content_key(void)
{
    wipe_cache();
    g_autoptr(GByteArray) va = fake_vmlinux(true, 3), vb = fake_vmlinux(true, 4);
    g_autoptr(GByteArray) a = fake_bzimage(va), b = fake_bzimage(vb);
    g_assert_cmpuint(a->len, ==, b->len);    /* stored deflate blocks: same size */
    g_autofree char *path = write_kernel("k3", a);
    boot(path, a, "nokaslr", NULL);
    Machine *m;
    g_assert_cmphex(boot(path, a, "nokaslr", &m), ==, BASE);
    machine_free(m);
    struct stat st;
    g_assert_cmpint(stat(path, &st), ==, 0);
    int fd = open(path, O_WRONLY);                   /* rewrite in place */
    g_assert_cmpint(pwrite(fd, b->data, b->len, 0), ==, (ssize_t)b->len);
    close(fd);
    struct timespec ts[2] = { st.st_atim, st.st_mtim };
    g_assert_cmpint(utimensat(AT_FDCWD, path, ts, 0), ==, 0);
    g_assert_cmphex(boot(path, b, "nokaslr", NULL), ==, BASE + 0x200);   /* a miss */
    g_assert_cmphex(boot(path, b, "nokaslr", &m), ==, BASE);             /* b's entry */
    g_assert_cmpmem(m->ram + BASE, 0x2000, vb->data + 0x1000, 0x2000);
    machine_free(m);
    char ka[KCACHE_KEY_LEN + 1], kb[KCACHE_KEY_LEN + 1];
    kernel_cache_key(va->data, va->len, ka);
    va->data[va->len - 1] ^= 1;
    kernel_cache_key(va->data, va->len, kb);
    g_assert_cmpstr(ka, !=, kb);
}

/* (c) Sizes are bounded, entries validated before use, stores atomic, LRU eviction. */
static void test_validate_evict(void)
{
    wipe_cache();
    BzImageInfo h = { .init_size = INIT_SIZE, .pref_address = BASE,
                      .kernel_alignment = 0x200000, .relocatable = 1 };
    uint8_t small[37 * 1024] = { 0 };
    uint32_t huge = 200u << 20;
    memcpy(small + sizeof(small) - 4, &huge, 4);    /* announces 200 MB */
    h.init_size = 0xffffffff;
    g_assert_cmpuint(kernel_cache_expected_size(small, sizeof(small), &h), ==, 0);
    uint32_t ok = 64 * 1024;
    memcpy(small + sizeof(small) - 4, &ok, 4);
    g_assert_cmpuint(kernel_cache_expected_size(small, sizeof(small), &h), ==, ok);
    h.init_size = 60 * 1024;                          /* more than init_size */
    g_assert_cmpuint(kernel_cache_expected_size(small, sizeof(small), &h), ==, 0);
    h.init_size = INIT_SIZE;

    /* A corrupt entry of the right size is dropped, and the kernel's decompressor runs. */
    g_autoptr(GByteArray) vm = fake_vmlinux(true, 5);
    g_autoptr(GByteArray) img = fake_bzimage(vm);
    g_autofree char *path = write_kernel("k5", img);
    boot(path, img, NULL, NULL);
    g_autofree char *d = kdir();
    g_autoptr(GDir) dir = g_dir_open(d, 0, NULL);
    g_autofree char *entry = g_build_filename(d, g_dir_read_name(dir), NULL);
    g_autofree uint8_t *junk = g_malloc(vm->len);
    memset(junk, 0x41, vm->len);
    g_assert_true(g_file_set_contents(entry, (const char *)junk, vm->len, NULL));
    g_assert_cmpint(chmod(entry, 0600), ==, 0);
    g_assert_cmphex(boot(path, img, NULL, NULL), ==, BASE + 0x200);
    GError *err = NULL;
    VmlinuxImage v;
    g_assert_false(vmlinux_parse(junk, vm->len, &h, &v, &err));
    g_clear_error(&err);
    /* Relocations pointing outside the kernel, or a segment beyond init_size. */
    g_autoptr(GByteArray) bad = fake_vmlinux(true, 6);
    int32_t far = (int32_t)(uint32_t)(KMAP + BASE + 0x3000000);
    memcpy(bad->data + bad->len - 4, &far, 4);
    g_assert_false(vmlinux_parse(bad->data, bad->len, &h, &v, &err));
    g_assert_nonnull(strstr(err->message, "relocation outside"));
    g_clear_error(&err);
    g_autoptr(GByteArray) big = fake_vmlinux(false, 7);
    ((Elf64_Phdr *)(big->data + 64))[1].p_memsz = INIT_SIZE;
    g_assert_false(vmlinux_parse(big->data, big->len, &h, &v, &err));
    g_clear_error(&err);

    /* LRU: with room for two, storing a third evicts the least recently used. */
    wipe_cache();
    int fd = kernel_cache_open_dir(d, &err);
    g_assert_cmpint(fd, >=, 0);
    static const char *keys[] = {
        "1111111111111111111111111111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222222222222222222222222222",
        "3333333333333333333333333333333333333333333333333333333333333333",
    };
    uint8_t data[1000] = { 1 };
    g_assert_true(kernel_cache_store(fd, keys[0], data, sizeof(data), 2000, &err));
    g_usleep(20000);
    g_assert_true(kernel_cache_store(fd, keys[1], data, sizeof(data), 2000, &err));
    g_usleep(20000);
    uint8_t *p = kernel_cache_lookup(fd, keys[0], sizeof(data));   /* 0 is used again */
    g_assert_nonnull(p);
    kernel_cache_release(p, sizeof(data));
    g_usleep(20000);
    g_assert_true(kernel_cache_store(fd, keys[2], data, sizeof(data), 2000, &err));
    g_assert_no_error(err);
    g_assert_null(kernel_cache_lookup(fd, keys[1], sizeof(data)));
    g_assert_nonnull((p = kernel_cache_lookup(fd, keys[0], sizeof(data))));
    kernel_cache_release(p, sizeof(data));
    g_assert_cmpint(count_entries(), ==, 2);       /* and no temporary file is left */
    close(fd);
}

/* (d) KASLR: a cached kernel with relocation tables lands at a random physical and
 * virtual base, relocated, with KASLR_FLAG set; 'nokaslr' keeps the base. */
static void test_kaslr(void)
{
    wipe_cache();
    g_autoptr(GByteArray) vm = fake_vmlinux(true, 8);
    g_autoptr(GByteArray) img = fake_bzimage(vm);
    g_autofree char *path = write_kernel("k8", img);
    boot(path, img, "console=ttyS0", NULL);
    GHashTable *phys = g_hash_table_new(g_int64_hash, g_int64_equal);
    GHashTable *virt = g_hash_table_new(g_int64_hash, g_int64_equal);
    gint64 keep[16];
    for (int i = 0; i < 8; i++) {
        Machine *m;
        uint64_t e = boot(path, img, "console=ttyS0", &m);
        const uint8_t *k = m->ram + e;
        g_assert_cmphex(e % 0x200000, ==, 0);
        g_assert_cmphex(m->ram[0x7000 + 0x211] & KASLR_FLAG, ==, KASLR_FLAG);
        int64_t delta = rd64(k + P64) - (KMAP + BASE + 0x1234);
        g_assert_cmphex(delta % 0x200000, ==, 0);
        g_assert_cmphex(rd32(k + P32), ==, (uint32_t)(KMAP + BASE + 0x800 + delta));
        g_assert_cmphex(rd32(k + PINV), ==, (uint32_t)(0x00400000 - delta));
        g_assert_cmpuint(BASE + delta + 0x205000, <=, 1ULL << 30);
        keep[i] = e;
        keep[8 + i] = delta;
        g_hash_table_add(phys, &keep[i]);
        g_hash_table_add(virt, &keep[8 + i]);
        machine_free(m);
    }
    g_assert_cmpuint(g_hash_table_size(phys), >, 1);   /* 8 equal draws: ~1e-10 */
    g_assert_cmpuint(g_hash_table_size(virt), >, 1);
    g_hash_table_unref(phys);
    g_hash_table_unref(virt);
    Machine *m;
    g_assert_cmphex(boot(path, img, "quiet nokaslr", &m), ==, BASE);
    g_assert_cmphex(rd64(m->ram + BASE + P64), ==, KMAP + BASE + 0x1234);
    g_assert_cmphex(m->ram[0x7000 + 0x211] & KASLR_FLAG, ==, 0);
    machine_free(m);
    /* memmap= changes the decompressor's choices: that boot runs the decompressor. */
    g_assert_cmphex(boot(path, img, "memmap=16M$64M", NULL), ==, BASE + 0x200);
}

static uint64_t fixed_random(void *opaque) { return *(uint64_t *)opaque; }

/* The physical slots avoid the given ranges and stay in RAM below 4 GiB. */
static void test_place(void)
{
    Machine *m = test_machine(64 << 20, true);
    g_autoptr(GByteArray) vm = fake_vmlinux(true, 9);
    BzImageInfo h = { .init_size = INIT_SIZE, .pref_address = BASE,
                      .kernel_alignment = 0x200000, .relocatable = 1 };
    VmlinuxImage v;
    g_assert_true(vmlinux_parse(vm->data, vm->len, &h, &v, NULL));
    g_assert_true(v.has_relocs);
    g_assert_cmphex(v.span, ==, 0x203000);
    /* RAM 1..64 MiB; avoid [16, 20) and [40, 64): slots of 4 MiB at 2 MiB steps in
     * [20, 40) = 20, 22, ..., 36: 9 slots. */
    const VmlinuxRange avoid[] = { { BASE, INIT_SIZE }, { 40 << 20, 24 << 20 } };
    for (uint64_t r = 0; r < 20; r++) {
        VmlinuxPlace p;
        vmlinux_place(m, &v, true, avoid, 2, fixed_random, &r, &p);
        g_assert_cmphex(p.phys, ==, (20ULL << 20) + (r % 9) * 0x200000);
        g_assert_cmphex(p.virt, >=, BASE);
        g_assert_cmphex(p.virt + 0x400000, <=, 1ULL << 30);
    }
    machine_free(m);
}

/* The real Debian kernel (tests/sandbox/setup.sh downloads it): its payload decompresses
 * to a vmlinux with relocation tables that validate and relocate. */
static void test_debian(void)
{
    const char *path = g_getenv("VIREO_TEST_KERNEL");
    g_autofree char *env = NULL, *found = NULL;
    if (!path && g_file_get_contents("/var/cache/vireo-sandbox/kernel.env", &env, NULL, NULL)) {
        char *p = strstr(env, "VMLINUZ=");
        if (p)
            found = g_strndup(p + 8, strcspn(p + 8, "\n"));
        path = found;
    }
    g_autofree gchar *img = NULL;
    gsize len;
    if (!path || !g_file_get_contents(path, &img, &len, NULL)) {
        g_test_skip("Debian kernel not downloaded (run tests/sandbox/setup.sh)");
        return;
    }
    wipe_cache();
    boot_ram = 256 << 20;
    GByteArray ga = { (guint8 *)img, len };
    Machine *m;
    g_assert_cmphex(boot(path, &ga, "console=ttyS0", NULL), ==, BASE + 0x200);
    uint64_t e = boot(path, &ga, "console=ttyS0", &m);
    g_assert_cmphex(e, !=, BASE + 0x200);            /* a hit: startup_64, placed by us */
    g_assert_cmphex(m->ram[0x7000 + 0x211] & KASLR_FLAG, ==, KASLR_FLAG);
    machine_free(m);
    g_assert_cmphex(boot(path, &ga, "console=ttyS0 nokaslr", &m), ==, BASE);
    machine_free(m);
    boot_ram = 64 << 20;
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("vireo-kcache-XXXXXX", NULL);
    g_setenv("XDG_CACHE_HOME", tmpdir, TRUE);
    g_test_add_func("/kernel-cache/miss-then-hit", test_miss_then_hit);
    g_test_add_func("/kernel-cache/a-private-dir", test_private_dir);
    g_test_add_func("/kernel-cache/b-content-key", test_content_key);
    g_test_add_func("/kernel-cache/c-validate-evict", test_validate_evict);
    g_test_add_func("/kernel-cache/d-kaslr", test_kaslr);
    g_test_add_func("/kernel-cache/place", test_place);
    g_test_add_func("/kernel-cache/debian", test_debian);
    int r = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        r = 1;
    return r;
}
