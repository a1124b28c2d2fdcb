/*
 * QMP blockdev-add / blockdev-del without KVM: a test machine with a PCI bus (still in
 * prelaunch, so device_add and device_del act at once) and a QMP session on a
 * socketpair. The node graph's bookkeeping (which node uses which, which are roots and
 * open as drives), QEMU 7.2's error texts (checked against QEMU by
 * tests/qmp/test_blockdev.py), the hot-plug sequence libvirt uses, and the image locks:
 * a writable open of the image from here fails while a node holds it and works after
 * blockdev-del.
 */
#include "vireo/drive.h"
#include "vireo/machine.h"
#include "vireo/pc.h"
#include "vireo/qmp.h"
#include "qapi/monitor-int.h"
#include "qmp-test-client.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Requests built by add()/del() live until the test's end. */
static GPtrArray *requests;

static char *keep(char *req)
{
    if (!requests)
        requests = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(requests, req);
    return req;
}

static char *add(const char *args)
{
    return keep(g_strdup_printf("{\"execute\": \"blockdev-add\", \"arguments\": %s}", args));
}

static char *del(const char *node)
{
    return keep(g_strdup_printf("{\"execute\": \"blockdev-del\", \"arguments\": "
                                "{\"node-name\": \"%s\"}}", node));
}

/* Whether this process can open @path for writing (no node holds its lock). */
static bool writable(Machine *m, const char *path)
{
    BlockOpenOptions o;
    g_autoptr(GError) err = NULL;
    block_open_options_init(&o);
    o.format = "qcow2";
    BlockBackend *blk = blk_open(drive_engine(m), path, &o, &err);
    if (!blk) {
        g_assert_nonnull(strstr(err->message, "lock"));
        return false;
    }
    blk_close(blk);
    return true;
}

typedef struct Fx {
    Machine *m;
    Client *c;
    char *dir, *img, *img2;
} Fx;

static Fx *fx_new(void)
{
    Fx *f = g_new0(Fx, 1);
    GError *err = NULL;
    f->m = machine_new_test(16 << 20);
    g_assert_nonnull(pci_bus_new_pc(f->m, &err));
    g_assert_no_error(err);
    qmp_block_init(f->m);
    f->dir = g_dir_make_tmp("test-blockdev-XXXXXX", &err);
    g_assert_no_error(err);
    f->img = g_build_filename(f->dir, "a.qcow2", NULL);
    f->img2 = g_build_filename(f->dir, "b.raw", NULL);
    g_assert_cmpint(block_create(drive_engine(f->m), f->img, "qcow2", NULL, 16 << 20, &err),
                    ==, 0);
    g_assert_cmpint(block_create(drive_engine(f->m), f->img2, "raw", NULL, 1 << 20, &err),
                    ==, 0);
    g_assert_no_error(err);
    f->c = client_new_session(f->m, true, false);
    g_free(client_line(f->c));
    expect(f->c, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    return f;
}

static void fx_free(Fx *f)
{
    client_free(f->c);
    monitor_cleanup(f->m);
    pci_bus_free(f->m->pci_bus);
    machine_free(f->m);
    unlink(f->img);
    unlink(f->img2);
    rmdir(f->dir);
    g_free(f->img);
    g_free(f->img2);
    g_free(f->dir);
    g_free(f);
    g_clear_pointer(&requests, g_ptr_array_unref);
}

static guint node_count(Machine *m)
{
    return m->blockdevs ? m->blockdevs->len : 0;
}

/* The libvirt sequence: file node, format node on it, a device, then all away again. */
static void test_hotplug_sequence(void)
{
    Fx *f = fx_new();
    Client *c = f->c;
    g_autofree char *file = g_strdup_printf("{\"driver\": \"file\", \"node-name\": \"f1\", "
                                            "\"filename\": \"%s\"}", f->img);
    char *add_f1 = add(file);
    char *add_q1 = add("{\"driver\": \"qcow2\", \"node-name\": \"q1\", "
                                  "\"file\": \"f1\"}");
    char *del_f1 = del("f1"), *del_q1 = del("q1");

    expect(c, add_f1, "{\"return\": {}}");
    /* (QEMU's lone file node takes no lock; Vireo's is open as a raw drive and does.) */
    g_autofree char *nodes = cmd(c, "{\"execute\": \"query-named-block-nodes\"}");
    g_assert_nonnull(strstr(nodes, "\"node-name\": \"f1\""));
    g_assert_nonnull(strstr(nodes, "\"drv\": \"file\""));
    g_assert_null(strstr(nodes, "\"drv\": \"raw\""));
    expect(c, "{\"execute\": \"query-block\"}", "{\"return\": []}");
    expect_error(c, add_f1, "Duplicate nodes with node-name='f1'");

    expect(c, add_q1, "{\"return\": {}}");
    g_assert_false(writable(f->m, f->img));
    g_free(nodes);
    nodes = cmd(c, "{\"execute\": \"query-named-block-nodes\"}");
    char *q = strstr(nodes, "\"node-name\": \"q1\""), *p = strstr(nodes, "\"node-name\": \"f1\"");
    g_assert_true(q && p && q < p);            /* the format node, then its file node */
    expect_error(c, add("{\"driver\": \"raw\", \"node-name\": \"r2\", \"file\": \"f1\"}"),
                 "Permission conflict on node 'f1': permissions 'write, resize' are both "
                 "required by node 'q1' (uses node 'f1' as 'file' child) and unshared by "
                 "node 'r2' (uses node 'f1' as 'file' child).");
    g_assert_cmpuint(node_count(f->m), ==, 2);
    expect_error(c, del_f1, "Block device f1 is in use");

    expect(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-blk-pci\", "
              "\"id\": \"vd1\", \"drive\": \"q1\"}}", "{\"return\": {}}");
    g_autofree char *blocks = cmd(c, "{\"execute\": \"query-block\"}");
    g_assert_nonnull(strstr(blocks, "\"device\": \"\""));
    g_assert_nonnull(strstr(blocks, "\"qdev\": \"/machine/peripheral/vd1/virtio-backend\""));
    g_assert_nonnull(strstr(blocks, "\"node-name\": \"q1\""));
    g_assert_nonnull(strstr(blocks, "\"drv\": \"qcow2\""));
    expect_error(c, del_q1, "Node q1 is in use");
    expect_error(c, del_f1, "Block device f1 is in use");

    expect(c, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"vd1\"}}",
           "{\"return\": {}}");
    g_free(cmd(c, "{\"execute\": \"query-status\"}"));       /* the event is out */
    g_assert_nonnull(strstr(c->events->str, "\"event\": \"DEVICE_DELETED\""));
    g_assert_nonnull(strstr(c->events->str, "\"device\": \"vd1\""));
    g_assert_false(writable(f->m, f->img));

    expect(c, del_q1, "{\"return\": {}}");
    g_assert_cmpuint(node_count(f->m), ==, 1);                 /* f1 is a root again */
    g_free(nodes);
    nodes = cmd(c, "{\"execute\": \"query-named-block-nodes\"}");
    g_assert_nonnull(strstr(nodes, "\"node-name\": \"f1\""));
    g_assert_null(strstr(nodes, "\"node-name\": \"q1\""));
    expect_error(c, del_q1, "Failed to find node with node-name='q1'");
    expect(c, del_f1, "{\"return\": {}}");
    expect(c, "{\"execute\": \"query-named-block-nodes\"}", "{\"return\": []}");
    g_assert_cmpuint(node_count(f->m), ==, 0);
    g_assert_cmpuint(f->m->drives ? f->m->drives->len : 0, ==, 0);
    g_assert_true(writable(f->m, f->img));     /* nothing keeps the image locked */

    /* Again with the same names: nothing of the first round is left over. Once the
     * guest runs, IDE takes no hot-plugged disk (QEMU's text). */
    expect(c, add_f1, "{\"return\": {}}");
    expect(c, add_q1, "{\"return\": {}}");
    expect(c, "{\"execute\": \"cont\"}", "{\"return\": {}}");
    expect_error(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"ide-hd\", "
                    "\"id\": \"hd1\", \"drive\": \"q1\"}}",
                 "Bus 'ide.1' does not support hotplugging");
    expect_error(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"ide-hd\", "
                    "\"bus\": \"ide.0\", \"drive\": \"q1\"}}",
                 "Bus 'ide.0' does not support hotplugging");
    expect(c, del_q1, "{\"return\": {}}");
    expect(c, del_f1, "{\"return\": {}}");
    fx_free(f);
}

static void test_add_errors(void)
{
    Fx *f = fx_new();
    Client *c = f->c;
    g_autofree char *nofile = g_strdup_printf("%s/none.qcow2", f->dir);
    g_autofree char *a1 = g_strdup_printf("{\"driver\": \"file\", \"filename\": \"%s\"}",
                                          f->img);
    g_autofree char *a2 = g_strdup_printf("{\"driver\": \"file\", \"node-name\": \"f1\", "
                                          "\"filename\": \"%s\"}", nofile);
    g_autofree char *a3 = g_strdup_printf("{\"driver\": \"bogus\", \"node-name\": \"f1\", "
                                          "\"filename\": \"%s\"}", f->img);
    g_autofree char *a4 = g_strdup_printf("{\"driver\": \"file\", \"node-name\": \"f1\", "
                                          "\"filename\": \"%s\", \"bogus\": 1}", f->img);
    g_autofree char *want2 = g_strdup_printf("Could not open '%s': No such file or directory",
                                             nofile);
    expect_error(c, add(a1), "'node-name' must be specified for the root node");
    expect_error(c, add(a2), want2);
    expect_error(c, add(a3), "Parameter 'driver' does not accept value 'bogus'");
    expect_error(c, add(a4), "Parameter 'bogus' is unexpected");
    expect_error(c, add("{\"node-name\": \"x\"}"), "Parameter 'driver' is missing");
    expect_error(c, add("{\"driver\": \"qcow2\", \"node-name\": \"q1\", \"file\": \"nonode\"}"),
                 "Cannot find device='nonode' nor node-name='nonode'");
    expect_error(c, add("{\"driver\": \"qcow2\", \"file\": \"f1\"}"),
                 "'node-name' must be specified for the root node");
    expect_error(c, "{\"execute\": \"blockdev-del\", \"arguments\": {}}",
                 "Parameter 'node-name' is missing");
    /* a qcow2 node over a raw image: the open fails and the file node is a root again */
    g_autofree char *fr = g_strdup_printf("{\"driver\": \"file\", \"node-name\": \"fr\", "
                                          "\"filename\": \"%s\"}", f->img2);
    expect(c, add(fr), "{\"return\": {}}");
    g_autofree char *bad = cmd(c, add("{\"driver\": \"qcow2\", \"node-name\": \"q\", "
                                      "\"file\": \"fr\"}"));
    g_assert_nonnull(strstr(bad, "\"class\": \"GenericError\""));
    g_assert_cmpuint(node_count(f->m), ==, 1);
    g_assert_cmpuint(f->m->drives->len, ==, 1);
    expect(c, del("fr"), "{\"return\": {}}");
    /* an inline protocol node fails with its parent: nothing is left declared */
    g_autofree char *inl = g_strdup_printf("{\"driver\": \"qcow2\", \"node-name\": \"q\", "
                                           "\"file\": {\"driver\": \"file\", \"filename\": "
                                           "\"%s\"}}", nofile);
    expect_error(c, add(inl), want2);
    g_assert_cmpuint(node_count(f->m), ==, 0);
    g_assert_cmpuint(f->m->drives ? f->m->drives->len : 0, ==, 0);
    fx_free(f);
}

/* Nodes the monitor did not create: an inline child, and the nodes of a -drive. */
static void test_del_not_owned(void)
{
    Fx *f = fx_new();
    Client *c = f->c;
    GError *err = NULL;
    g_autofree char *spec = g_strdup_printf("file=%s,if=none,id=dr0,format=raw", f->img2);
    g_assert_true(drive_add(f->m, spec, &err));
    g_assert_no_error(err);
    expect_error(c, del("#block000"), "Node #block000 is in use");
    expect_error(c, del("#block001"), "Node #block001 is not owned by the monitor");
    expect_error(c, add("{\"driver\": \"raw\", \"node-name\": \"dr0\", \"file\": \"x\"}"),
                 "node-name=dr0 is conflicting with a device id");

    g_autofree char *inl = g_strdup_printf("{\"driver\": \"qcow2\", \"node-name\": \"q\", "
                                           "\"file\": {\"driver\": \"file\", \"filename\": "
                                           "\"%s\"}}", f->img);
    expect(c, add(inl), "{\"return\": {}}");
    g_assert_cmpuint(node_count(f->m), ==, 2);
    const char *child = NULL;
    for (guint i = 0; i < f->m->blockdevs->len; i++) {
        const char *name = *(char **)f->m->blockdevs->pdata[i];     /* BdNode.name */
        if (name[0] == '#')
            child = name;
    }
    g_assert_nonnull(child);
    g_autofree char *nodes = cmd(c, "{\"execute\": \"query-named-block-nodes\"}");
    g_autofree char *shown = g_strdup_printf("\"node-name\": \"%s\"", child);
    g_assert_nonnull(strstr(nodes, shown));
    g_autofree char *want = g_strdup_printf("Node %s is not owned by the monitor", child);
    expect_error(c, del(child), want);
    g_assert_false(writable(f->m, f->img));
    expect(c, del("q"), "{\"return\": {}}");
    g_assert_cmpuint(node_count(f->m), ==, 0);     /* the inline child went with it */
    g_assert_true(writable(f->m, f->img));
    fx_free(f);
}

static char *tray(const char *verb, const char *extra)
{
    return keep(g_strdup_printf("{\"execute\": \"%s\", \"arguments\": {\"id\": \"cd0\"%s}}",
                                verb, extra));
}

/* libvirt 9's `virsh change-media` on an ide-cd whose medium is a -blockdev node (as
 * QEMU 7.2 answers it, tests/sandbox/cases/50-libvirt.sh): blockdev-open-tray,
 * blockdev-remove-medium, blockdev-del of the old nodes, blockdev-add of the new ones,
 * blockdev-insert-medium, blockdev-close-tray; then eject (--eject) and insert again. */
static void test_media_change(void)
{
    Fx *f = fx_new();
    Client *c = f->c;
    GError *err = NULL;
    g_assert_nonnull(machine_create_device(f->m, "piix3-ide", NULL, &err));
    g_assert_no_error(err);
    g_autofree char *file1 = g_strdup_printf("{\"driver\": \"file\", \"node-name\": \"s1\", "
                                             "\"filename\": \"%s\", \"read-only\": true}",
                                             f->img2);
    g_autofree char *file2 = g_strdup_printf("{\"driver\": \"file\", \"node-name\": \"s2\", "
                                             "\"filename\": \"%s\", \"read-only\": true}",
                                             f->img);
    expect(c, add(file1), "{\"return\": {}}");
    expect(c, add("{\"driver\": \"raw\", \"node-name\": \"r1\", \"file\": \"s1\", "
                  "\"read-only\": true}"), "{\"return\": {}}");
    expect(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"ide-cd\", "
              "\"id\": \"cd0\", \"drive\": \"r1\", \"bus\": \"ide.1\", \"unit\": 0}}",
           "{\"return\": {}}");
    expect_error(c, tray("blockdev-remove-medium", ""), "Tray of device 'cd0' is not open");
    expect(c, tray("blockdev-open-tray", ", \"force\": false"), "{\"return\": {}}");
    g_free(cmd(c, "{\"execute\": \"query-status\"}"));
    g_assert_nonnull(strstr(c->events->str, "\"event\": \"DEVICE_TRAY_MOVED\", \"data\": "
                            "{\"device\": \"\", \"id\": \"cd0\", \"tray-open\": true}"));
    expect_error(c, del("r1"), "Node r1 is in use");
    expect(c, tray("blockdev-remove-medium", ""), "{\"return\": {}}");
    expect(c, tray("blockdev-remove-medium", ""), "{\"return\": {}}");   /* empty: no error */
    g_autofree char *blocks = cmd(c, "{\"execute\": \"query-block\"}");
    g_assert_nonnull(strstr(blocks, "\"qdev\": \"cd0\""));
    g_assert_nonnull(strstr(blocks, "\"tray_open\": true"));
    g_assert_null(strstr(blocks, "\"inserted\""));
    expect(c, del("r1"), "{\"return\": {}}");
    expect(c, del("s1"), "{\"return\": {}}");
    g_assert_cmpuint(node_count(f->m), ==, 0);

    expect(c, add(file2), "{\"return\": {}}");
    expect(c, add("{\"driver\": \"qcow2\", \"node-name\": \"q2\", \"file\": \"s2\", "
                  "\"read-only\": true}"), "{\"return\": {}}");
    expect_error(c, tray("blockdev-insert-medium", ", \"node-name\": \"nope\""),
                 "Node 'nope' not found");
    expect_error(c, tray("blockdev-insert-medium", ", \"node-name\": \"s2\""),
                 "Node 's2' not found");     /* a node another node uses: no drive */
    expect(c, tray("blockdev-insert-medium", ", \"node-name\": \"q2\""), "{\"return\": {}}");
    expect_error(c, tray("blockdev-insert-medium", ", \"node-name\": \"q2\""),
                 "Node 'q2' is already in use");
    expect(c, tray("blockdev-close-tray", ""), "{\"return\": {}}");
    g_free(blocks);
    blocks = cmd(c, "{\"execute\": \"query-block\"}");
    g_assert_nonnull(strstr(blocks, "\"node-name\": \"q2\""));
    g_assert_nonnull(strstr(blocks, "\"tray_open\": false"));
    g_assert_nonnull(strstr(c->events->str, "\"tray-open\": false"));
    expect_error(c, del("q2"), "Node q2 is in use");

    /* change-media --eject --force, then --insert. */
    expect(c, tray("blockdev-open-tray", ", \"force\": true"), "{\"return\": {}}");
    expect(c, tray("blockdev-remove-medium", ""), "{\"return\": {}}");
    expect(c, del("q2"), "{\"return\": {}}");
    expect(c, del("s2"), "{\"return\": {}}");
    expect(c, tray("blockdev-close-tray", ""), "{\"return\": {}}");
    expect_error(c, tray("blockdev-insert-medium", ", \"node-name\": \"r1\""),
                 "Node 'r1' not found");
    expect(c, add(file1), "{\"return\": {}}");
    expect(c, add("{\"driver\": \"raw\", \"node-name\": \"r1\", \"file\": \"s1\", "
                  "\"read-only\": true}"), "{\"return\": {}}");
    expect_error(c, tray("blockdev-insert-medium", ", \"node-name\": \"r1\""),
                 "Tray of device 'cd0' is not open");
    expect_error(c, keep(g_strdup_printf("{\"execute\": \"blockdev-change-medium\", "
                                         "\"arguments\": {\"id\": \"cd0\", \"filename\": "
                                         "\"%s\"}}", f->img2)),
                 "Device 'cd0' takes its medium from -blockdev nodes: use blockdev-add and "
                 "blockdev-insert-medium");
    expect(c, tray("blockdev-open-tray", ""), "{\"return\": {}}");
    expect(c, tray("blockdev-insert-medium", ", \"node-name\": \"r1\""), "{\"return\": {}}");
    expect_error(c, tray("blockdev-insert-medium", ", \"node-name\": \"r1\""),
                 "Node 'r1' is already in use");
    expect(c, tray("blockdev-close-tray", ""), "{\"return\": {}}");
    expect(c, "{\"execute\": \"blockdev-remove-medium\", \"arguments\": {\"id\": \"nodev\"}}",
           "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'nodev' not found\"}}");
    fx_free(f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/blockdev/hotplug-sequence", test_hotplug_sequence);
    g_test_add_func("/blockdev/add-errors", test_add_errors);
    g_test_add_func("/blockdev/del-not-owned", test_del_not_owned);
    g_test_add_func("/blockdev/media-change", test_media_change);
    return g_test_run();
}
