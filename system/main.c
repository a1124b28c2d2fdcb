/* vireo: a QEMU-compatible x86-64 machine emulator on KVM. */
int vireo_main(int argc, char **argv);

int main(int argc, char **argv)
{
    return vireo_main(argc, argv);
}
