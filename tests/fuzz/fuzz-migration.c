/*
 * libFuzzer harness for the migration stream parser (migration/stream.c, sections.c,
 * ram.c and every device's state loader and validator), built with clang
 * -fsanitize=fuzzer,address,undefined (tests/fuzz/meson.build).
 *
 * The input is loaded into a test machine (PCI bus, the ISA devices, virtio-rng and
 * virtio-blk) as an incoming stream. A stream's END checksum would refuse almost every
 * mutation before any device state is applied, so the harness reseals it (recomputes
 * the checksum) when the input ends like a stream: the mutated records then reach the
 * configuration check, the RAM writer and the devices' validators. The input is also
 * offered to the vCPU and in-kernel VM state descriptions, which a machine without KVM
 * does not have. A crash or sanitizer report is a bug; a refusal is the expected answer.
 * The seed corpus (valid streams) is written by LLVMFuzzerInitialize.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migration/migration.h"
#include "vireo/acpi.h"
#include "vireo/drive.h"
#include "vireo/kvm.h"
#include "vireo/pc.h"

#define RAM (1u << 20)

static Machine *target;

static Machine *build(const char *image)
{
    Machine *m = machine_new_test(RAM);
    char spec[512];
    if (!pci_bus_new_pc(m, NULL) || !acpi_pm_create(m, NULL))
        abort();
    snprintf(spec, sizeof(spec), "file=%s,format=raw,if=none,id=d0,readonly=on", image);
    if (!drive_add(m, spec, NULL))
        abort();
    const char *devs[][2] = {
        { "isa-serial", "index=0" }, { "mc146818rtc", NULL }, { "i8042", NULL },
        { "port92", NULL }, { "isa-debug-exit", NULL }, { "virtio-rng-pci", "addr=05.0" },
        { "virtio-blk-pci", "drive=d0,addr=06.0" },
    };
    for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
        if (!machine_create_device(m, devs[i][0], devs[i][1], NULL))
            abort();
    pci_bus_assign_bars(m->pci_bus);
    return m;
}

/* A seed: the machine with a configured virtio queue and some RAM contents. */
static void write_seed(Machine *m, const char *dir)
{
    for (uint32_t a = 0; a < RAM / 4; a += 4)
        memcpy(m->ram + a, &a, 4);
    PciDevice *p = pci_bus_get_device(m->pci_bus, 5 << 3);
    pci_config_write(p, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    uint64_t c = pci_bar_address(p, 4);
    as_write(m->sysmem, c + 0x14, 3, 1);
    as_write(m->sysmem, c + 0x08, 1, 4);
    as_write(m->sysmem, c + 0x0c, 1, 4);
    as_write(m->sysmem, c + 0x14, 0x0b, 1);
    as_write(m->sysmem, c + 0x20, 0x10000, 8);
    as_write(m->sysmem, c + 0x28, 0x11000, 8);
    as_write(m->sysmem, c + 0x30, 0x12000, 8);
    as_write(m->sysmem, c + 0x1c, 1, 2);
    as_write(m->sysmem, c + 0x14, 0x0f, 1);
    as_write(m->io, 0x3fb, 0x03, 1);
    char path[1024];
    snprintf(path, sizeof(path), "%s/seed-stream", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0 || !migration_save_fd(m, fd, NULL))
        abort();
    close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_log_set_always_fatal(G_LOG_FATAL_MASK);
    const char *dir = getenv("VIREO_BUILD_DIR");
    char image[1024];
    snprintf(image, sizeof(image), "%s/fuzz-migration-%d.raw", dir ? dir : "/tmp", getpid());
    int fd = open(image, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
        abort();
    close(fd);
    mainloop_init();
    bql_lock();
    target = build(image);
    /* The last argument that is a directory is the corpus: give it valid streams. */
    for (int i = *argc - 1; i > 0; i--) {
        struct stat st;
        if ((*argv)[i][0] != '-' && stat((*argv)[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            Machine *src = build(image);
            write_seed(src, (*argv)[i]);
            break;
        }
    }
    unlink(image);
    return 0;
}

/* Recomputes the checksum of an input that ends with an END record. */
static void reseal(uint8_t *d, size_t n)
{
    if (n < 9 + 28 || d[n - 9] != MIG_R_END)
        return;
    MigCsum c;
    mig_csum_init(&c);
    mig_csum_update(&c, d, n - 8);
    uint64_t v = mig_csum_value(&c);
    for (int i = 0; i < 8; i++)
        d[n - 8 + i] = v >> (8 * i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    reseal(copy, size);
    int fd = memfd_create("fuzz", 0);
    if (fd < 0 || write(fd, copy, size) != (ssize_t)size)
        abort();
    lseek(fd, 0, SEEK_SET);
    GError *err = NULL;
    if (!migration_load_fd(target, fd, &err)) {
        if (!err)
            abort();                        /* a refusal always says why */
        g_error_free(err);
    }
    close(fd);
    X86CPUState *cpu = malloc(sizeof(*cpu));
    KvmVmState vm;
    vmstate_load(&vmstate_x86_cpu, cpu, copy, size, NULL);
    vmstate_load(&vmstate_kvm_vm, &vm, copy, size, NULL);
    free(cpu);
    free(copy);
    return 0;
}
