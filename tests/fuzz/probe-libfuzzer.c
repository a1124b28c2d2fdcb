/* Configure-time probe: can clang link a libFuzzer harness (libclang-rt-*-dev)? */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}
